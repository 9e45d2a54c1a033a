"""Approvals are idempotent: one decision, one handler call, whatever the number of
actions, resumes and process restarts. Real child processes drive a real
TwinsightService (SQLite checkpointer on disk, Neo4j twin); the responder counts its
calls in a file, so calls made by processes that were killed still count."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graph.tools.fixtures import corp_twin

REPO = Path(__file__).resolve().parents[1]
ALERT = REPO / "tests" / "data" / "alerts" / "dcsync_helpdesk1.ocsf.json"

# The child: one service per process, as the CLI and the bot build it, with a responder
# that appends one line per call and, when asked, hangs inside its first call (the
# parent then kills the process there: the worst place for a restart).
CHILD = r"""
import json, sys, time
from pathlib import Path
from agents.runtime import TwinsightService
from graph.db import open_driver
from graph.settings import Neo4jSettings

state, counter, cmd, *args = sys.argv[1:]
hang = Path(counter + ".hang")

def responder(record):
    with open(counter, "a") as f:
        f.write(record["action_id"] + "\n")
        f.flush()
    if hang.exists():
        hang.unlink()
        print("in-handler", flush=True)
        time.sleep(600)
    return {"executed": True, "n": sum(1 for _ in open(counter))}

settings = Neo4jSettings.from_env()
driver = open_driver(settings)
svc = TwinsightService(driver, settings.database, state_dir=Path(state), llm="offline", responder=responder)
if cmd == "start":
    out = svc.investigate(json.load(open(args[0])), respond=True)
elif cmd == "decide":
    out = svc.decide(args[0], args[1] == "yes", "alice")
else:  # resume a run that died
    out = svc.investigate({}, investigation_id=args[0])
print(json.dumps({"status": out.status, "error": out.error, "pending": [p.action_id for p in out.pending],
                  "approvals": (out.result or {}).get("approvals", {})}), flush=True)
"""


def child(tmp: Path, *argv: str, timeout: float = 300) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp / "state"), str(tmp / "calls"), *argv],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def killed_in_handler(tmp: Path, *argv: str) -> None:
    (tmp / "calls.hang").touch()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp / "state"), str(tmp / "calls"), *argv],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=dict(os.environ))
    deadline = time.monotonic() + 300
    line = proc.stdout.readline()
    assert "in-handler" in line and time.monotonic() < deadline, line
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)


def calls(tmp: Path) -> list[str]:
    path = tmp / "calls"
    return path.read_text().split() if path.exists() else []


@pytest.fixture
def corp(twin):
    corp_twin(twin.driver, twin.database)
    return twin


def test_each_approval_calls_the_handler_once_across_restarts_and_a_kill_inside_it(corp, tmp_path):
    first = child(tmp_path, "start", str(ALERT))
    assert first["status"] == "awaiting_approval", first
    pending = first["pending"]
    assert len(pending) == 1  # one interrupt at a time
    inv_id = pending[0].rsplit(":", 1)[0]

    # The first approval in its own process; approving it again from another one is
    # refused, not handled again.
    out = child(tmp_path, "decide", pending[0], "yes")
    assert calls(tmp_path) == [pending[0]]
    again = child(tmp_path, "decide", pending[0], "yes")
    assert again["status"] == "failed" and "not waiting" in again["error"]
    assert calls(tmp_path) == [pending[0]]
    assert out["pending"], "the fixture alert recommends at least two actions"

    # The second approval's process dies inside the handler; a new process resumes the
    # investigation: the handler is not called again, and its unknown outcome is said.
    second = out["pending"][0]
    killed_in_handler(tmp_path, "decide", second, "yes")
    seen = [pending[0], second]
    assert calls(tmp_path) == seen
    out = child(tmp_path, "resume", inv_id)
    assert calls(tmp_path) == seen, "the handler ran again after the restart"
    if second in out["pending"]:  # the decision died with the process: the approver gives it again
        out = child(tmp_path, "decide", second, "yes")
        assert calls(tmp_path) == seen, "the handler ran again after the restart"
    # Deny whatever is left: no handler call.
    while out["pending"]:
        out = child(tmp_path, "decide", out["pending"][0], "no")
    assert out["status"] in ("complete", "needs_human_review"), out
    assert calls(tmp_path) == seen
    assert sorted(a for a, r in out["approvals"].items() if r["approved"]) == sorted(seen)
    assert out["approvals"][pending[0]]["response"]["executed"] is True
    assert out["approvals"][second]["response"]["executed"] is None  # outcome unknown, said so
