"""A byte and time budget on what one guarded query may send back, kept while reading.

The row cap cannot bound one row: `RETURN range(1, 30000000)` is a single record the
driver would read and decode whole (1.9 GB in the client). The Python driver has no
public limit on a message's size, so its one reading function (`receive_into_buffer`,
through which every Bolt chunk of every message passes) is wrapped once: inside
`budget(...)` each read is counted before its bytes are taken, and the socket's read
deadline follows the budget's. Over the budget the read fails like a broken socket: the
driver closes that connection (the server sees it gone and ends the query) and the guard
reports a `limit` error. Outside a budget (ingest, what-if) nothing changes.

tests/test_guard_attacks.py checks it against the real server, so a driver upgrade that
moves the function fails there rather than silently lifting the bound.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from neo4j._deadline import Deadline
from neo4j._exceptions import SocketDeadlineExceededError
from neo4j._sync.io._bolt import _common as _bolt_common


class BudgetExceeded(OSError):
    """Raised inside the driver's reader; the driver treats it as a broken connection."""


@dataclass
class Budget:
    max_bytes: int
    deadline: float | None = None  # time.monotonic() after which reads fail
    used: int = 0
    exceeded: str | None = None  # "bytes" or "time" once it ran out

    def spend(self, n: int) -> None:
        self.used += n
        if self.used > self.max_bytes:
            self.exceeded = "bytes"
            raise BudgetExceeded(f"the result is larger than {self.max_bytes} bytes")


_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("twinsight_result_budget", default=None)
_original = _bolt_common.receive_into_buffer


def _receive_into_buffer(sock, buffer, n_bytes):
    b = _CURRENT.get()
    if b is None:
        return _original(sock, buffer, n_bytes)
    b.spend(n_bytes)
    if b.deadline is None:
        return _original(sock, buffer, n_bytes)
    left = b.deadline - time.monotonic()
    if left <= 0:
        b.exceeded = "time"
        raise BudgetExceeded("the query ran past its deadline")
    before = sock.get_read_deadline()
    sock.set_read_deadline(Deadline(left))
    try:
        return _original(sock, buffer, n_bytes)
    except (OSError, SocketDeadlineExceededError):
        if b.deadline - time.monotonic() <= 0:
            b.exceeded = "time"
        raise
    finally:
        sock.set_read_deadline(before)


_bolt_common.receive_into_buffer = _receive_into_buffer


class _QuietInsideBudget(logging.Filter):
    """Inside a budget the guard reports a connection it lost in one line of its own; the
    driver's ERROR record about the same defunct connection would be a second."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _CURRENT.get() is None


logging.getLogger("neo4j.io").addFilter(_QuietInsideBudget())


@contextlib.contextmanager
def budget(max_bytes: int, seconds: float | None = None) -> Iterator[Budget]:
    """Bound every Bolt message read in this context (this thread) to `max_bytes` in
    all and, with `seconds`, to that much wall time."""
    b = Budget(max_bytes=max_bytes, deadline=None if seconds is None else time.monotonic() + seconds)
    token = _CURRENT.set(b)
    try:
        yield b
    finally:
        _CURRENT.reset(token)
