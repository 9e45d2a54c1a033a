"""The one way a tool reads the event store (graph/events): bounded and audited like Cypher.

The raw events left the graph's hot path for the store, not the guard's reach: a store
read is a read like any other, so it is bounded in rows (the toolbox's `row_cap`; one
more is pulled to know the answer was cut) and in time (the toolbox's `timeout_s`, the
statement interrupted past it), and it leaves an AuditRecord in the toolbox's audit
(counted in an investigation's queries, shown in its report) with the SQL that ran.
Its failures come back as the GuardError a caller or a model already handles: the
statement is built from typed parameters only, never from a model's text.
"""

from __future__ import annotations

import threading
import time
from functools import cache
from pathlib import Path

import duckdb

from graph.events import EventFilter, EventRead, EventStore, open_store, store_dir
from graph.events.store import Shape, StoreTimeout
from graph.tools.guard import MAX_QUERY_CHARS, AuditRecord, GuardError, _audit_params

_OPEN = threading.Lock()


@cache
def _shared(root: Path) -> EventStore:
    """One store per folder and process: every toolbox of a run reads through it (its
    own lock serialises the reads), instead of a DuckDB connection per agent stage."""
    return open_store(path=root)


class StoreDoor:
    """Reads of one twin's event store for one toolbox, into that toolbox's audit."""

    def __init__(self, database: str | None, audit: list[AuditRecord], *, row_cap: int, timeout_s: float,
                 store: EventStore | None = None) -> None:
        self.database = database
        self.audit = audit
        self.row_cap = row_cap
        self.timeout_s = timeout_s
        self._store = store

    @property
    def store(self) -> EventStore:
        if self._store is None:
            with _OPEN:
                self._store = _shared(store_dir(self.database))
        return self._store

    def read(self, tool: str, flt: EventFilter, shape: Shape = "events") -> EventRead:
        """`flt`'s rows in `shape` (graph/events/store.py), at most `row_cap` of them, within
        `timeout_s`; every call leaves an AuditRecord, failed or not."""
        statement, params = self.store.describe(flt, shape)
        record = AuditRecord(tool=tool, parameters=_audit_params(params), query=statement[:MAX_QUERY_CHARS])
        t0 = time.perf_counter()
        try:
            got = self.store.read(flt, row_cap=self.row_cap, timeout_s=self.timeout_s, shape=shape)
        except StoreTimeout as exc:
            raise self._failed(record, t0, GuardError("timeout", str(exc))) from None
        except (duckdb.Error, OSError) as exc:
            msg = " ".join(str(exc).split())[:300]
            raise self._failed(record, t0, GuardError("failed", f"the event store could not be read: {msg}")) from None
        record.query = got.statement[:MAX_QUERY_CHARS]
        record.parameters = _audit_params(got.params)
        record.rows, record.truncated = len(got.rows), got.truncated
        record.ms = round((time.perf_counter() - t0) * 1000, 3)
        self.audit.append(record)
        return got

    def _failed(self, record: AuditRecord, t0: float, exc: GuardError) -> GuardError:
        record.ok, record.error = False, f"{exc.code}: {exc.reason}"
        record.ms = round((time.perf_counter() - t0) * 1000, 3)
        self.audit.append(record)
        exc.query = record.query
        return exc
