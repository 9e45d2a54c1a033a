"""`twinsight db start` run four times at once on a fresh TWINSIGHT_HOME: one Maven
fetch, one compile, one JVM; every process exits 0 and names the same pid."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jvms_of(home: Path) -> list[int]:
    """Pids of the Neo4j JVMs whose data lives under `home` (from /proc, not the PID file)."""
    marker = f"-Dtwinsight.home={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_four_concurrent_first_starts_give_one_install_and_one_server(tmp_path, neo4j_settings):
    if neo4j_settings.external:
        pytest.skip("NEO4J_URI points at an external server: the embedded lifecycle is not in play")
    home = tmp_path / "home"  # fresh: no jars, no classes, the Maven fetch runs (offline, ~/.m2)
    env = {**{k: v for k, v in os.environ.items() if k != "NEO4J_URI" and not k.startswith("TWINSIGHT_TEST_")},
           "TWINSIGHT_HOME": str(home), "TWINSIGHT_NEO4J_PORT": str(free_port()),
           "TWINSIGHT_NEO4J_HEAP": "512m", "TWINSIGHT_NEO4J_PAGECACHE": "64m",
           "TWINSIGHT_NEO4J_START_TIMEOUT": "600"}
    procs = [subprocess.Popen([sys.executable, str(REPO / "cli.py"), "db", "start"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    try:
        outs = [p.communicate(timeout=1500) for p in procs]
        errs = [err for _, err in outs]
        assert [p.returncode for p in procs] == [0, 0, 0, 0], errs
        started = [m for e in errs for m in re.findall(r"local Neo4j started \(pid (\d+)\)", e)]
        running = [m for e in errs for m in re.findall(r"already running \(pid (\d+)\)", e)]
        assert len(started) == 1 and len(running) == 3, errs
        assert set(running) == set(started), errs
        assert sum(e.count("fetching Neo4j Community with Maven") for e in errs) == 1, errs
        assert sum(e.count("Neo4j installed in") for e in errs) == 1, errs
        assert jvms_of(home / "neo4j" / "home") == [int(started[0])]
        status = subprocess.run([sys.executable, str(REPO / "cli.py"), "db", "status", "--json"], cwd=REPO,
                                env=env, capture_output=True, text=True, timeout=120)
        assert status.returncode == 0, status.stderr
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        subprocess.run([sys.executable, str(REPO / "cli.py"), "db", "stop"], cwd=REPO, env=env,
                       capture_output=True, timeout=180)
    assert jvms_of(home / "neo4j" / "home") == []


def test_concurrent_starts_never_see_each_others_writability_probe(tmp_path):
    """Four first starts at once once failed one of them as "cannot write ... (No such file
    or directory)": they shared one probe name and unlinked each other's. Each probe is now
    its own file, so many concurrent checks on one home all pass and leave nothing behind."""
    from concurrent.futures import ThreadPoolExecutor

    from graph.server import _state_dir
    from graph.settings import Neo4jSettings

    settings = Neo4jSettings(home=tmp_path / "home")

    def check(_: int) -> Path:
        for _ in range(300):
            _state_dir(settings)
        return settings.server_dir

    with ThreadPoolExecutor(8) as pool:
        dirs = set(pool.map(check, range(8)))
    assert dirs == {settings.server_dir}
    assert [p.name for p in settings.server_dir.iterdir()] == []
