"""Test-only fault points: where a test may SIGKILL a real child process exactly.

A crash test needs the kill to land at a known place (inside a write transaction, just
after a batch committed, inside an investigation stage), which a timer cannot promise.
`TWINSIGHT_TEST_STALL=<point>:<n>` makes the n-th pass through that point print
`twinsight-test: stalled at <point>:<n>` on stderr and sleep until the process is
killed, or until the file `TWINSIGHT_TEST_STALL_RELEASE` names exists (a test that
kills Neo4j meanwhile lets the process go on to meet the dead server). Unset (always,
outside tests), a point costs one attribute read.

Points: `batch-open` (a write transaction ran its statement, not yet committed),
`batch-done` (a batch committed), `stage-<name>` (an investigation stage started).
"""

from __future__ import annotations

import os
import sys
import threading
import time

_SPEC = os.environ.get("TWINSIGHT_TEST_STALL", "").strip()
_point, _, _n = _SPEC.rpartition(":")
_TARGET: tuple[str, int] | None = (_point, int(_n)) if _point and _n.isdigit() else None
_passes: dict[str, int] = {}
_lock = threading.Lock()


def point(name: str) -> None:
    """Count a pass through `name`; stall on the pass the test asked for."""
    if _TARGET is None or _TARGET[0] != name:
        return
    with _lock:
        _passes[name] = _passes.get(name, 0) + 1
        hit = _passes[name] == _TARGET[1]
    if hit:
        print(f"twinsight-test: stalled at {name}:{_TARGET[1]}", file=sys.stderr, flush=True)
        release = os.environ.get("TWINSIGHT_TEST_STALL_RELEASE")
        while not (release and os.path.exists(release)):
            time.sleep(0.1)
