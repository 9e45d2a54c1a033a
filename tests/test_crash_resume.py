"""`twinsight investigate` killed with SIGKILL (a real child process, no exception
politely raised between stages), then `--resume ID`: the same verdict, entities, paths
and impact as a run that was never interrupted, wherever the kill landed."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agents.investigate_cmd import load_alert
from agents.offline import OfflineAnalyst

REPO = Path(__file__).resolve().parents[1]
ALERT = REPO / "tests" / "data" / "alerts" / "dcsync_helpdesk1.ocsf.json"
ID_LINE = re.compile(r"investigation (inv-[0-9a-f]+)")


def child_env(state: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINSIGHT_TEST_")}
    return {**env, "TWINSIGHT_STATE_DIR": str(state), **extra}


def investigate(state: Path, *extra: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "cli.py"), "investigate", str(ALERT), "--llm", "offline",
                           "--json", *extra], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env=child_env(state, **env))


def killed(state: Path, wait_for: str | tuple[str, ...], delay: float = 0.0, **env: str) -> str:
    """Start an investigation, SIGKILL it once stderr shows `wait_for` (every one of
    them, when several; then `delay` seconds more), and return the id it printed. A run
    that finishes inside `delay` (a fast machine) is started again with half of it."""
    while True:
        inv_id = _kill_once(state, wait_for, delay, env)
        if inv_id:
            return inv_id
        delay /= 2


def _kill_once(state: Path, wait_for: str | tuple[str, ...], delay: float, env: dict) -> str | None:
    needles = (wait_for,) if isinstance(wait_for, str) else wait_for
    proc = subprocess.Popen([sys.executable, str(REPO / "cli.py"), "investigate", str(ALERT), "--llm", "offline",
                             "--json"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=child_env(state, **env))
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
    deadline = time.monotonic() + 300
    while not all(any(n in line for line in lines) for n in needles):
        assert proc.poll() is None, f"finished before the kill point {wait_for!r}: {''.join(lines)}"
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.02)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    if delay and proc.returncode == 0:
        shutil.rmtree(state, ignore_errors=True)
        return None
    assert proc.returncode == -signal.SIGKILL
    found = ID_LINE.search("".join(lines))
    assert found, "the id must be printed before any work"
    return found.group(1)


def essence(result: dict) -> dict:
    return {"verdict": result["verdict"], "severity": result["severity"], "confidence": result["confidence"],
            "status": result["status"], "entities": sorted(e["key"] for e in result["entities"]),
            "paths": sorted(tuple(p["nodes"]) for p in result["attack_paths"]),
            "impacted": sorted(result["impacted_assets"]), "techniques": sorted(result["techniques"])}


# Where the kill lands: as soon as the id is printed (before any checkpoint), inside each
# stage (its predecessors checkpointed; path_hunter while impact_assessor runs beside it),
# and at a time, wherever that falls.
KILL_POINTS = [("the id line", "investigation inv-", {}, 0.0)] + [
    (f"in {stage}", "twinsight-test: stalled", {"TWINSIGHT_TEST_STALL": f"stage-{stage}:1"}, 0.0)
    for stage in ("intake", "path_hunter", "impact_assessor", "lead_analyst", "report")
] + [("in path_hunter, impact_assessor finished beside it", ("twinsight-test: stalled", "blast radius"),
       {"TWINSIGHT_TEST_STALL": "stage-path_hunter:1"}, 1.0),
      ("at a time: 1.5 s after the id line (halved while the run ends first)", "investigation inv-", {}, 1.5)]


@pytest.mark.slow  # child investigations, killed and resumed
def test_resume_after_sigkill_anywhere_gives_the_uninterrupted_result(corp, tmp_path):
    whole = investigate(tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    expected = essence(json.loads(whole.stdout))
    assert expected["verdict"] == "true_positive"
    outcomes = []
    for n, (label, wait_for, env, delay) in enumerate(KILL_POINTS):
        state = tmp_path / f"kill{n}"
        inv_id = killed(state, wait_for, delay, **env)
        resumed = investigate(state, "--resume", inv_id)
        ok = resumed.returncode == 0 and essence(json.loads(resumed.stdout)) == expected
        outcomes.append((label, ok, resumed.stderr[-800:] if not ok else ""))
    rate = sum(ok for _, ok, _ in outcomes) / len(outcomes)
    print(f"\nresume after SIGKILL: {sum(ok for _, ok, _ in outcomes)}/{len(outcomes)} kill points "
          f"({rate:.0%}): " + ", ".join(f"{label}={'ok' if ok else 'FAILED'}" for label, ok, _ in outcomes))
    assert rate == 1.0, [o for o in outcomes if not o[1]]


@pytest.mark.slow  # child investigations, run and resumed
def test_a_finished_investigation_resumed_is_returned_not_rerun(corp, tmp_path):
    first = investigate(tmp_path)
    inv_id = ID_LINE.search(first.stderr).group(1)
    again = investigate(tmp_path, "--resume", inv_id)
    assert again.returncode == 0 and json.loads(again.stdout) == json.loads(first.stdout)
    assert "started" not in again.stderr  # no stage ran


def test_state_models_round_trip_through_the_checkpoint_serializer():
    """Every model the state holds comes back as itself, not as a blocked dict."""
    from agents.runtime import checkpoint_serializer, state_models
    from agents.state import InvestigationState

    names = {m.__name__ for m in state_models()}
    assert {"InvestigationState", "Decision", "Claim", "Evidence", "AttackPath", "RecommendedAction"} <= names
    serde = checkpoint_serializer()
    from agents.models import Claim, Decision, Evidence

    st = InvestigationState(investigation_id="inv-x", alert_doc={"a": 1}, decision=Decision(
        verdict="true_positive", severity="high", confidence=0.9,
        claims=[Claim(text="t", evidence=[Evidence(node="K")])]))
    back = serde.loads_typed(serde.dumps_typed(st))
    assert isinstance(back, InvestigationState) and back == st


def test_the_time_budget_does_not_count_the_time_a_crashed_run_lay_dead(corp, tmp_path):
    """Killed at context_gatherer, resumed after more than the whole time budget: the
    resumed stages must still run (in-process crash here; the clock is what is tested)."""
    from agents.models import Budget
    from agents.runtime import TwinsightService

    crash = {"armed": True}

    def fault(stage: str) -> None:
        if stage == "context_gatherer" and crash["armed"]:
            crash["armed"] = False
            raise RuntimeError("crash")

    alert = load_alert(ALERT)
    budget = Budget(max_seconds=4.0)
    svc = TwinsightService(corp.driver, corp.database, state_dir=tmp_path, analyst=OfflineAnalyst(),
                           budget=budget, fault=fault)
    assert svc.investigate(alert, investigation_id="inv-slow").status == "failed"
    time.sleep(5.0)  # longer than the budget, dead
    svc2 = TwinsightService(corp.driver, corp.database, state_dir=tmp_path, analyst=OfflineAnalyst(), budget=budget)
    out = svc2.investigate(alert, investigation_id="inv-slow")
    assert out.status == "complete", (out.error, out.result and out.result.get("review_reasons"))
    assert not [n for n in out.result.get("notes", []) if "budget" in n]
    assert out.result["verdict"] == "true_positive"
