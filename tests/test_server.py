"""The embedded default as a user drives it: `twinsight db ...` against a real JVM."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from graph import server
from graph.db import TwinConnectionError, open_driver
from graph.settings import Neo4jSettings

REPO = Path(__file__).resolve().parents[1]


def twinsight(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=REPO,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_server(tmp_path, neo4j_settings):
    """A second local server with its own state dir and port, so stopping it does not
    disturb the session's. It reuses the session's installed jars (no Maven)."""
    if neo4j_settings.external:
        pytest.skip("NEO4J_URI points at an external server: the embedded lifecycle is not in play")
    home = tmp_path / "state"
    (home / "neo4j").mkdir(parents=True)
    src = neo4j_settings.server_dir
    for name in ("lib", "classes"):
        (home / "neo4j" / name).symlink_to(src / name)
    (home / "neo4j" / "installed").write_text((src / "installed").read_text())
    env = {"TWINSIGHT_HOME": str(home), "TWINSIGHT_NEO4J_PORT": str(free_port()),
           "TWINSIGHT_NEO4J_HEAP": "512m", "TWINSIGHT_NEO4J_PAGECACHE": "64m"}
    env_clean = {k: v for k, v in os.environ.items() if k not in {"NEO4J_URI"}}
    full = {**env_clean, **env}
    yield full
    subprocess.run([sys.executable, str(REPO / "cli.py"), "db", "stop"], env=full, capture_output=True, timeout=120)


def test_start_status_stop_restart_keeps_data(private_server):
    env = private_server
    first = subprocess.run([sys.executable, "cli.py", "db", "start"], env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([sys.executable, "cli.py", "db", "start"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "already running" in again.stderr

    status = subprocess.run([sys.executable, "cli.py", "db", "status", "--json"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    assert set(doc) >= {"uri", "version", "edition", "nodes", "relationships"}
    assert doc["version"].startswith("5.26.") and doc["edition"] == "community"
    assert doc["uri"].endswith(env["TWINSIGHT_NEO4J_PORT"])

    settings = Neo4jSettings.from_env() if False else _settings(env)
    with open_driver(settings) as drv:
        drv.execute_query("CREATE (:Twin {key: 'KEEP-ME'})")
    log = settings.server_dir / "home" / "logs" / "twinsight-neo4j.log"
    assert log.exists()
    # Loopback only: the Bolt port must not be reachable on another local address.
    for stop_round in range(2):
        out = subprocess.run([sys.executable, "cli.py", "db", "stop"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0
        assert ("stopped" if stop_round == 0 else "not running") in out.stderr
    assert server.read_pid(settings) is None
    restart = subprocess.run([sys.executable, "cli.py", "db", "start"], env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert restart.returncode == 0, restart.stderr
    with open_driver(settings) as drv:
        assert drv.execute_query("MATCH (n {key: 'KEEP-ME'}) RETURN count(n) AS c").records[0]["c"] == 1


def _settings(env: dict) -> Neo4jSettings:
    old = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return Neo4jSettings.from_env()
    finally:
        os.environ.clear()
        os.environ.update(old)


def test_listens_on_loopback_only(neo4j_settings):
    if neo4j_settings.external:
        pytest.skip("external server")
    port = neo4j_settings.local_port
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("`ss` is not available to list listening sockets")
    addrs = {line.split()[3].rsplit(":", 1)[0] for line in out.stdout.splitlines() if line.strip()}
    assert addrs and addrs <= {"127.0.0.1", "[::ffff:127.0.0.1]"}, addrs


def test_jvm_that_dies_at_start_fails_fast_with_log_tail(private_server):
    env = {**private_server, "TWINSIGHT_NEO4J_HEAP": "1k"}  # the JVM refuses such a heap
    out = subprocess.run([sys.executable, "cli.py", "db", "start"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "exited with code" in out.stderr and "log tail" in out.stderr


@pytest.mark.parametrize(
    ("uri", "password", "expect"),
    [
        ("bolt://127.0.0.1:1", None, "cannot reach NEO4J_URI=bolt://127.0.0.1:1"),
        ("nosuch://127.0.0.1:7687", None, "is not a usable Neo4j URI"),
        (None, "wrong-password", "refused the credentials"),
    ],
)
def test_bad_uri_or_credentials_give_one_line_and_exit_1(neo4j_settings, uri, password, expect):
    env = {}
    if uri:
        env["NEO4J_URI"] = uri
    else:
        env["NEO4J_URI"] = neo4j_settings.uri
        env["NEO4J_PASSWORD"] = password
    out = twinsight("db", "status", "--json", env=env, timeout=60)
    assert out.returncode == 1
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expect in lines[0], out.stderr
    assert out.stdout == ""


def test_external_uri_starts_nothing(neo4j_settings):
    s = neo4j_settings.model_copy(update={"external": True})
    assert "nothing started" in server.start(s)
    assert "not ours" in server.stop(s)


def test_open_driver_error_is_typed():
    s = Neo4jSettings(uri="bolt://127.0.0.1:1", external=True)
    with pytest.raises(TwinConnectionError, match="cannot reach"):
        open_driver(s)
