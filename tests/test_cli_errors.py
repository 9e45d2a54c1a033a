"""Failures as a user meets them through the real CLI: Neo4j killed in the middle of an
ingest, a TWINSIGHT_HOME that cannot be written, a port held by something that is not
Neo4j, logins locked after wrong passwords, a bad setting. Each is one line on stderr
naming the cause, exit code 1 (2 for refused input), and no traceback unless
TWINSIGHT_DEBUG asks for one."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from graph import server
from graph.db import open_driver
from graph.settings import Neo4jSettings

REPO = Path(__file__).resolve().parents[1]
ALERT = REPO / "tests" / "data" / "alerts" / "dcsync_helpdesk1.ocsf.json"


def cli(*args: str, env: dict | None = None, timeout: float = 180, drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("TWINSIGHT_TEST_")}
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env={**base, **(env or {})})


def error_lines(stderr: str) -> list[str]:
    """What the user reads as errors: every line but indented progress."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("  ")]


def assert_one_line(out: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    assert out.returncode == code, out.stderr[-3000:]
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    lines = [line for line in error_lines(out.stderr) if line.startswith("twinsight:")]
    assert len(lines) == 1, out.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings_for(env: dict) -> Neo4jSettings:
    old = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return Neo4jSettings.from_env()
    finally:
        os.environ.clear()
        os.environ.update(old)


@pytest.fixture
def own_server(tmp_path, neo4j_settings):
    """A JVM of the test's own (its own home and port, the session's jars), started: this
    test kills it."""
    if neo4j_settings.external:
        pytest.skip("NEO4J_URI points at an external server: nothing of ours to kill")
    home = tmp_path / "state"
    (home / "neo4j").mkdir(parents=True)
    for name in ("lib", "classes"):
        (home / "neo4j" / name).symlink_to(neo4j_settings.server_dir / name)
    (home / "neo4j" / "installed").write_text((neo4j_settings.server_dir / "installed").read_text())
    env = {"TWINSIGHT_HOME": str(home), "TWINSIGHT_NEO4J_PORT": str(free_port()),
           "TWINSIGHT_NEO4J_HEAP": "512m", "TWINSIGHT_NEO4J_PAGECACHE": "64m",
           "TWINSIGHT_NEO4J_START_TIMEOUT": "600"}  # a loaded machine starts a JVM slowly
    started = cli("db", "start", env=env, drop=("NEO4J_URI",), timeout=700)
    assert started.returncode == 0, started.stderr
    yield env
    cli("db", "stop", env=env, drop=("NEO4J_URI",))


def test_neo4j_killed_mid_ingest_is_one_line_naming_the_file(own_server, tmp_path):
    enterprise = tmp_path / "ent"
    assert cli("generate", "--out", str(enterprise), "--seed", "4", "--hosts", "8", "--no-ops").returncode == 0
    release = tmp_path / "release"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "cli.py"), "ingest", str(enterprise / "ad")], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**{k: v for k, v in os.environ.items() if k != "NEO4J_URI"}, **own_server,
             "TWINSIGHT_TEST_STALL": "batch-done:3", "TWINSIGHT_TEST_STALL_RELEASE": str(release)})
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + 240
    while not any("twinsight-test: stalled" in line for line in lines):
        assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
        time.sleep(0.1)
    jvm = server.read_pid(settings_for({**os.environ, **own_server}))
    os.kill(jvm, signal.SIGKILL)  # Neo4j dies while the ingest holds its next batch
    release.touch()
    proc.wait(timeout=180)
    reader.join(timeout=10)
    out = subprocess.CompletedProcess(proc.args, proc.returncode, "", "".join(lines))
    line = assert_one_line(out, 1, "ingest stopped while loading", str(enterprise / "ad"),
                           "run the same ingest again")
    assert "files loaded before it" in line


def test_unwritable_twinsight_home_is_one_line_naming_it(tmp_path, neo4j_settings):
    afile = tmp_path / "not-a-folder"
    afile.write_text("")
    for home in (afile / "home", Path("/sys/twinsight-test")):  # NotADirectory, PermissionError
        env = {"TWINSIGHT_HOME": str(home), "TWINSIGHT_NEO4J_PORT": str(free_port())}
        for args in (("db", "start"), ("ingest", str(ALERT))):
            assert_one_line(cli(*args, env=env, drop=("NEO4J_URI",), timeout=60), 1, f"TWINSIGHT_HOME={home}")
    # With a server of the user's own, the investigation store is what needs the home.
    env = {"TWINSIGHT_HOME": str(afile / "home"), "NEO4J_URI": neo4j_settings.uri,
           "NEO4J_PASSWORD": neo4j_settings.password}
    out = cli("investigate", str(ALERT), "--llm", "offline", env=env, drop=("TWINSIGHT_STATE_DIR",), timeout=120)
    assert_one_line(out, 1, "investigation store", str(afile / "home"))


@pytest.fixture
def silent_listener():
    """A plain TCP server that accepts and never says a word: not Neo4j."""
    sock = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept():
        while True:
            try:
                held.append(sock.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield sock.getsockname()[1]
    sock.close()
    for c in held:
        c.close()


@pytest.mark.parametrize("mode", ["local", "NEO4J_URI"])
def test_status_against_a_foreign_listener_answers_in_seconds(silent_listener, tmp_path, mode):
    env = ({"TWINSIGHT_HOME": str(tmp_path), "TWINSIGHT_NEO4J_PORT": str(silent_listener)} if mode == "local"
           else {"NEO4J_URI": f"bolt://127.0.0.1:{silent_listener}"})
    t0 = time.perf_counter()
    out = cli("db", "status", "--json", env=env, drop=("NEO4J_URI",), timeout=120)
    seconds = time.perf_counter() - t0
    assert_one_line(out, 1, "is not a Neo4j server", f"127.0.0.1:{silent_listener}")
    assert out.stdout == ""
    assert seconds < 20, seconds  # the handshake probe waits 3 s; the driver alone waited 60


def test_logins_locked_after_wrong_passwords_read_as_one_clear_line(neo4j_settings):
    env = {"NEO4J_URI": neo4j_settings.uri, "NEO4J_PASSWORD": "wrong-password"}
    outs = [cli("db", "status", env=env, timeout=60) for _ in range(4)]
    try:
        for out in outs:
            assert_one_line(out, 1, "refused the credentials of NEO4J_USER=")
            assert "Neo.ClientError" not in out.stderr and "gql_status" not in out.stderr
        assert "too many times in a row" in outs[-1].stderr
    finally:  # the server locks the user for a few seconds: let the next test find it open
        deadline = time.monotonic() + 60
        while True:
            try:
                open_driver(neo4j_settings).close()
                break
            except Exception:
                assert time.monotonic() < deadline, "logins stayed locked"
                time.sleep(1)


def test_a_bad_setting_is_exit_2_and_debug_shows_the_traceback(twin, tmp_path):
    env = {"TWINSIGHT_WRITE_WORKERS": "many"}
    assert_one_line(cli("ingest", str(ALERT), env=env), 2, "TWINSIGHT_WRITE_WORKERS must be a whole number")
    debug = cli("ingest", str(ALERT), env={**env, "TWINSIGHT_DEBUG": "1"})
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_an_ingest_that_loads_nothing_exits_2(twin, tmp_path):
    (tmp_path / "README.md").write_text("nothing to load here")
    assert_one_line(cli("ingest", str(tmp_path)), 2, "nothing to load", str(tmp_path))


def test_missing_java_is_one_line(tmp_path, neo4j_settings):
    """A first start on a machine without Java/Maven: one line naming the tool."""
    if neo4j_settings.external:
        pytest.skip("external server")
    bare = tmp_path / "bin"
    bare.mkdir()
    os.symlink(sys.executable, bare / "python3")
    env = {"TWINSIGHT_HOME": str(tmp_path / "home"), "TWINSIGHT_NEO4J_PORT": str(free_port()), "PATH": str(bare)}
    assert shutil.which("mvn", path=str(bare)) is None
    assert_one_line(cli("db", "start", env=env, drop=("NEO4J_URI",), timeout=60), 1, "is not on PATH")
