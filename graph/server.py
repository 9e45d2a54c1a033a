"""The embedded default: a Neo4j Community 5.26 the tool fetches, starts and stops itself.

Maven fetches the jars once (pom.xml beside the launcher); javac compiles the small
launcher; after that every start works offline. The JVM runs detached with a PID
file, logs to a file, and listens on loopback only.

Starts and stops of one TWINSIGHT_HOME take a file lock, so four `db start` at once give
one JVM (the others wait and report its pid) and the first-start fetch runs once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from graph.db import TwinConnectionError
from graph.settings import Neo4jSettings

LAUNCHER_DIR = Path(__file__).parent / "neo4j_embedded"
LAUNCHER_CLASS = "TwinsightNeo4j"


class ServerError(RuntimeError):
    """The local server could not be installed, started or stopped (one line for the user)."""


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _build_id() -> str:
    h = hashlib.sha256()
    for name in ("pom.xml", f"{LAUNCHER_CLASS}.java"):
        h.update((LAUNCHER_DIR / name).read_bytes())
    return h.hexdigest()[:16]


def _paths(s: Neo4jSettings) -> dict[str, Path]:
    d = s.server_dir
    return {
        "lib": d / "lib",
        "classes": d / "classes",
        "marker": d / "installed",
        "data": d / "home",
        "log": d / "home" / "logs" / "twinsight-neo4j.log",
        "pid": d / "neo4j.pid",
        "ready": d / "home" / "ready",
    }


def is_installed(s: Neo4jSettings) -> bool:
    marker = _paths(s)["marker"]
    return marker.exists() and marker.read_text().strip() == _build_id()


# A start may wait behind another one that is fetching Neo4j for the first time.
LOCK_WAIT_S = 900.0


def _state_dir(s: Neo4jSettings) -> Path:
    """The server's folder under TWINSIGHT_HOME, created; a home that cannot hold it is
    named in one line rather than a PermissionError traceback."""
    try:
        s.server_dir.mkdir(parents=True, exist_ok=True)
        # A probe of its own: concurrent starts sharing one name unlinked each other's
        # probe and failed as "not writable" (CI saw it with four first starts at once).
        fd, probe = tempfile.mkstemp(prefix=".writable-", dir=s.server_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ServerError(f"TWINSIGHT_HOME={s.home}: cannot write {s.server_dir} "
                          f"({exc.strerror or exc}); point TWINSIGHT_HOME at a writable folder") from None
    return s.server_dir


@contextlib.contextmanager
def _locked(path: Path, what: str, timeout: float, quiet: bool = False) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created) for the block. The kernel drops it when
    its process dies, even by SIGKILL, so a crashed holder never leaves a stale lock."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ServerError(f"cannot open the lock {path} ({exc.strerror or exc})") from None
    try:
        deadline = time.monotonic() + timeout
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ServerError(f"gave up after {timeout:.0f}s waiting for {what} to finish "
                                      f"(it holds {path})") from None
                if not waiting and not quiet:
                    _say(f"twinsight: waiting for {what} to finish...")
                waiting = True
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


def install(s: Neo4jSettings, quiet: bool = False) -> None:
    """Fetch Neo4j's jars with Maven (first time only) and compile the launcher, under a
    lock per TWINSIGHT_HOME; the Maven fetch also under one per user (it shares ~/.m2)."""
    if is_installed(s):
        return
    with _locked(_state_dir(s) / "install.lock", "another Neo4j install in this TWINSIGHT_HOME", LOCK_WAIT_S, quiet):
        if not is_installed(s):  # the holder may have just done it
            _install(s, quiet)


def _maven_lock() -> Path:
    return Path(tempfile.gettempdir()) / f"twinsight-maven-{os.getuid()}.lock"


def _install(s: Neo4jSettings, quiet: bool) -> None:
    p = _paths(s)
    for tool in ("mvn", "javac", "java"):
        if not shutil.which(tool):
            raise ServerError(f"`{tool}` is not on PATH: the local Neo4j needs Java 17 and Maven")
    p["lib"].parent.mkdir(parents=True, exist_ok=True)
    tmp_lib = p["lib"].with_name("lib.partial")
    shutil.rmtree(tmp_lib, ignore_errors=True)
    _say("twinsight: fetching Neo4j Community with Maven (first start only)...")
    cmd = [
        "mvn", "-B", "-f", str(LAUNCHER_DIR / "pom.xml"),
        "dependency:copy-dependencies", f"-DoutputDirectory={tmp_lib}", "-DincludeScope=runtime",
    ]
    with _locked(_maven_lock(), "another Maven fetch of Neo4j", LOCK_WAIT_S, quiet):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        tail: list[str] = []
        fetched = 0
        assert proc.stdout is not None
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-20:]
            if "Downloaded from" in line:
                fetched += 1
                if not quiet and fetched % 10 == 0:
                    _say(f"  ... {fetched} artifacts downloaded")
        code = proc.wait()
    if code != 0:
        raise ServerError("Maven could not fetch Neo4j: " + " | ".join(t for t in tail if "ERROR" in t)[:400])
    shutil.rmtree(p["lib"], ignore_errors=True)
    tmp_lib.rename(p["lib"])
    shutil.rmtree(p["classes"], ignore_errors=True)
    p["classes"].mkdir(parents=True)
    res = subprocess.run(
        ["javac", "-cp", f"{p['lib']}/*", "-d", str(p["classes"]), str(LAUNCHER_DIR / f"{LAUNCHER_CLASS}.java")],
        capture_output=True, text=True,
    )
    if res.returncode != 0:
        raise ServerError("cannot compile the Neo4j launcher: " + res.stderr.strip().splitlines()[0])
    p["marker"].write_text(_build_id())
    _say(f"twinsight: Neo4j installed in {s.server_dir} ({len(list(p['lib'].glob('*.jar')))} jars)")


def read_pid(s: Neo4jSettings) -> int | None:
    pid_file = _paths(s)["pid"]
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    # The PID may have been reused by an unrelated process after a crash.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if LAUNCHER_CLASS.encode() not in cmdline:
            return None
    except OSError:
        pass
    return pid


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _mb(size: str) -> int:
    size = size.strip().lower()
    mult = {"k": 1 / 1024, "m": 1, "g": 1024}.get(size[-1:])
    return int(float(size[:-1]) * mult) if mult else int(size) // (1024 * 1024)


def log_tail(s: Neo4jSettings, lines: int = 15) -> str:
    try:
        text = _paths(s)["log"].read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def start(s: Neo4jSettings, quiet: bool = False) -> str:
    """Start the local server, or say it already runs. Returns a one-line status.

    One start at a time per TWINSIGHT_HOME (a file lock): a start that had to wait finds
    the server the first one started and reports its pid."""
    if s.external:
        return f"NEO4J_URI={s.uri} is set: using that server, nothing started"
    lock = _state_dir(s) / "start.lock"
    with _locked(lock, "another `twinsight db start`", s.start_timeout_s + LOCK_WAIT_S, quiet):
        return _start_locked(s, quiet)


def _start_locked(s: Neo4jSettings, quiet: bool) -> str:
    p = _paths(s)
    port = s.local_port
    pid = read_pid(s)
    if pid:
        if not p["ready"].exists():  # its starter died while it was coming up: wait for it
            _wait_ready(s, pid, None)
        return f"local Neo4j already running (pid {pid}) on {s.uri}"
    if _port_open(port):
        raise ServerError(
            f"port {port} on 127.0.0.1 is taken by another process; set TWINSIGHT_NEO4J_PORT "
            "or point NEO4J_URI at that server"
        )
    install(s, quiet=quiet)
    p["data"].mkdir(parents=True, exist_ok=True)
    p["ready"].unlink(missing_ok=True)
    p["log"].parent.mkdir(parents=True, exist_ok=True)
    memory = transaction_memory_mb(s)
    # No -XX:+ExitOnOutOfMemoryError: a read that asks for one impossible allocation (a
    # list of 300M values) fails alone, as Neo4j's OutOfMemoryError to its client, instead
    # of ending the server; a heap filled bit by bit is the launcher's GuardWatchdog's.
    # The heap starts at 512 MB and grows to the cap only when a load or a read needs it;
    # after 60 s without a collection G1 runs one and hands unused heap back. With the
    # heap fixed at its cap (-Xms = -Xmx) the server sat at 3.1-3.4 GB resident serving
    # the 24k-host twin at 2g / 1g; growing it on demand, 2.4-2.5 GB on the same runs.
    cmd = [
        "java", f"-Xmx{s.heap}", f"-Xms{min(_mb(s.heap), 512)}m", "-XX:+UseG1GC",
        "-XX:G1PeriodicGCInterval=60000",
        "-Dfile.encoding=UTF-8",
        f"-Dtwinsight.home={p['data']}",
        "-Dtwinsight.host=127.0.0.1",
        f"-Dtwinsight.port={port}",
        f"-Dtwinsight.pagecache_mb={_mb(s.pagecache)}",
        f"-Dtwinsight.tx_timeout_s={s.tx_timeout_s}",
        f"-Dtwinsight.tx_memory_mb={memory.per_tx}",
        f"-Dtwinsight.tx_memory_total_mb={memory.total}",
        f"-Dtwinsight.guard_tx_memory_mb={memory.guard}",
        f"-Dtwinsight.user={s.user}",
        f"-Dtwinsight.ready_file={p['ready']}",
        "-cp", f"{p['lib']}/*{os.pathsep}{p['classes']}",
        LAUNCHER_CLASS,
    ]
    env = dict(os.environ, TWINSIGHT_NEO4J_INITIAL_PASSWORD=s.password)
    # The password travels by environment, not argv, so `ps` does not show it.
    cmd.insert(-1, "-Dtwinsight.password_env=TWINSIGHT_NEO4J_INITIAL_PASSWORD")
    with open(p["log"], "ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env, cwd=str(s.server_dir),
        )
    p["pid"].write_text(str(proc.pid))
    if not quiet:
        _say(f"twinsight: starting local Neo4j on {s.uri} (log: {p['log']})")
    _wait_ready(s, proc.pid, proc)
    return f"local Neo4j started (pid {proc.pid}) on {s.uri}"


def _wait_ready(s: Neo4jSettings, pid: int, proc: subprocess.Popen | None) -> None:
    """Until the launcher says ready and the port answers; a JVM that exits or overruns
    the deadline is cleaned up and explained with its log tail."""
    p = _paths(s)
    deadline = time.monotonic() + s.start_timeout_s
    while time.monotonic() < deadline:
        code = proc.poll() if proc is not None else (None if read_pid(s) == pid else "?")
        if code is not None:
            p["pid"].unlink(missing_ok=True)
            raise ServerError(f"local Neo4j exited with code {code} while starting; log tail:\n{log_tail(s)}")
        if p["ready"].exists() and _port_open(s.local_port):
            return
        time.sleep(0.25)
    _terminate(pid)
    p["pid"].unlink(missing_ok=True)
    raise ServerError(f"local Neo4j not ready after {s.start_timeout_s:.0f}s; log tail:\n{log_tail(s)}")


def _terminate(pid: int, timeout: float = 60.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        # Reap it if it is our child (tests start and stop in one process).
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def stop(s: Neo4jSettings) -> str:
    if s.external:
        return f"NEO4J_URI={s.uri} is set: that server is not ours to stop"
    if not s.server_dir.is_dir():
        return "local Neo4j is not running"
    with _locked(_state_dir(s) / "start.lock", "a `twinsight db start` in progress", s.start_timeout_s + LOCK_WAIT_S):
        return _stop_locked(s)


def _stop_locked(s: Neo4jSettings) -> str:
    p = _paths(s)
    pid = read_pid(s)
    if not pid:
        p["pid"].unlink(missing_ok=True)
        return "local Neo4j is not running"
    _terminate(pid)
    p["pid"].unlink(missing_ok=True)
    p["ready"].unlink(missing_ok=True)
    return f"local Neo4j stopped (pid {pid})"


def ensure_running(s: Neo4jSettings) -> None:
    """Commands that need the twin start the embedded default on demand."""
    if s.external or (read_pid(s) and _paths(s)["ready"].exists()):
        return
    try:
        start(s)
    except ServerError as exc:
        raise TwinConnectionError(str(exc)) from None



class TxMemory(NamedTuple):
    """Memory limits (MB) of the local server's transactions."""

    per_tx: int  # db.memory.transaction.max: any one transaction
    total: int  # dbms.memory.transaction.total.max: all of them together
    guard: int  # one guard (agents' read) transaction, enforced by the launcher's watchdog


def transaction_memory_mb(s: Neo4jSettings) -> TxMemory:
    """How much memory transactions may hold on the local server, past which Neo4j (or
    the watchdog, for the guard's reads) refuses them instead of letting them take the
    heap. Any transaction: TWINSIGHT_NEO4J_TX_MEMORY, else half the heap, because
    ingest's 10k-row write batches need a third of a 1 GB heap (331 MB measured on a
    1000-host generated enterprise) and must not fail; all together: 70% of the heap.
    Neo4j has no per-transaction setting a client can ask for, so the guard's tighter
    bound (an eighth of the heap) is kept by the watchdog from the server's own estimate
    of each transaction's memory."""
    heap = _mb(s.heap)
    per_tx = _mb(s.tx_memory) if s.tx_memory else heap // 2
    return TxMemory(per_tx=per_tx, total=max(per_tx, heap * 7 // 10), guard=min(per_tx, max(16, heap // 8)))
