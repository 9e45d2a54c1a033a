"""An ingest killed with SIGKILL (a real child process) between two batches or inside
one, then run again: the twin is the one a clean load gives, provenance included. And
the order sources arrive in does not change the graph."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from graph.ingest.registry import ingest

REPO = Path(__file__).resolve().parents[1]
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def enterprise(tmp_path_factory) -> Path:
    """A small generated enterprise: AD, zones, inventory, Nmap, Trivy, SBOMs, Windows
    events (logons: HasSession beside SharpHound's sessions), two hours of Zeek."""
    out = tmp_path_factory.mktemp("enterprise")
    gen = subprocess.run([sys.executable, str(REPO / "cli.py"), "generate", "--out", str(out), "--seed", "5",
                          "--hosts", "10"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stderr
    logs = sorted((out / "ops" / "zeek").rglob("conn.*.log"))
    for extra in logs[2:]:
        extra.unlink()
    shutil.rmtree(out / "ops" / "alerts")
    return out


def normalized(snapshot: tuple, since: int) -> tuple:
    """Twin.snapshot with the run clock taken out: a row with no time of its own is first
    seen "now", which differs between any two runs; times from the data stay."""
    def norm(props: tuple) -> tuple:
        return tuple((k, "<clock>" if k == "firstseen" and int(v) >= since else v) for k, v in props)

    nodes, rels, events = snapshot
    return (tuple((k, labels, norm(p)) for k, labels, p in nodes),
            tuple((a, t, b, norm(p)) for a, t, b, p in rels), events)


def run_ingest(path: Path, stall: str | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINSIGHT_TEST_")}
    if stall:
        env["TWINSIGHT_TEST_STALL"] = stall
    return subprocess.Popen([sys.executable, str(REPO / "cli.py"), "ingest", str(path), "--json"], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_at(path: Path, point: str) -> None:
    proc = run_ingest(path, point)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
    deadline = time.monotonic() + 600
    while not any("twinsight-test: stalled" in line for line in lines):
        assert proc.poll() is None, f"the ingest ended before {point}: {''.join(lines)[-2000:]}"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)


def test_rerun_after_a_kill_at_any_batch_gives_a_clean_load(twin, enterprise):
    since = int(time.time()) - 1
    report = ingest(twin.driver, [enterprise], database=twin.database)  # to count the batches
    assert not report.rejected
    batches = report.stats.batches
    assert batches > 40, batches
    twin.run("MATCH (n) DETACH DELETE n")
    clean = run_ingest(enterprise)
    assert clean.wait(timeout=900) == 0, clean.stderr.read()
    expected = normalized(twin.snapshot(), since)
    points = [f"batch-done:{max(1, batches // 8)}", f"batch-open:{batches // 3}",
              f"batch-done:{batches // 2}", f"batch-open:{(3 * batches) // 4}"]
    for point in points:
        twin.run("MATCH (n) DETACH DELETE n")
        kill_at(enterprise, point)
        partial = twin.counts()
        assert partial[0] < len(expected[0]) or partial[1] < len(expected[1]), f"{point}: the kill came too late"
        rerun = run_ingest(enterprise)
        assert rerun.wait(timeout=900) == 0, rerun.stderr.read()
        got = normalized(twin.snapshot(), since)
        assert got == expected, f"after a kill at {point}: " + _first_difference(expected, got)


def _first_difference(expected: tuple, got: tuple) -> str:
    for kind, a, b in (("node", expected[0], got[0]), ("relationship", expected[1], got[1])):
        if a != b:
            only = sorted(set(a) ^ set(b))[:3]
            return f"{kind}s differ, e.g. {only}"
    return "no difference"


def test_the_order_of_sources_does_not_change_the_graph(twin, enterprise, tmp_path):
    """Windows events and Zeek hours split in two, loaded A then B or B then A on the same
    AD + Nmap base: HasSession / LoggedOn / ConnectedTo counts, sources and digests agree."""
    events = (enterprise / "ops" / "events" / "windows-00.jsonl").read_text().splitlines(keepends=True)
    logs = sorted((enterprise / "ops" / "zeek").rglob("conn.*.log"))
    halves = {}
    for name, lines, log in (("a", events[: len(events) // 2], logs[0]), ("b", events[len(events) // 2:], logs[1])):
        part = tmp_path / name
        part.mkdir()
        (part / f"events-{name}.jsonl").write_text("".join(lines))
        shutil.copy(log, part / f"conn-{name}.log")
        halves[name] = part
    snaps = []
    for order in ("ab", "ba"):
        twin.run("MATCH (n) DETACH DELETE n")
        ingest(twin.driver, [enterprise / "ad", enterprise / "ops" / "nmap"], database=twin.database, now=NOW)
        for name in order:
            report = ingest(twin.driver, [halves[name]], database=twin.database, now=NOW)
            assert report.files == 2 and not report.rejected
        snaps.append(twin.snapshot())
    assert snaps[0] == snaps[1], _first_difference(snaps[0], snaps[1])
    shared = twin.value("MATCH ()-[r:HasSession]->() WHERE size(r.sources) > 1 RETURN count(r)")
    digests = twin.value("MATCH ()-[r:ConnectedTo]->() WHERE size(r.ingests) > 1 RETURN count(r)")
    assert shared > 0 and digests > 0  # the split really shares edges between the halves
