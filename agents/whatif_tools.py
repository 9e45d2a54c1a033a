"""What-if as tools of the impact assessor: `whatif_simulate` and `whatif_rank`.

A simulation writes inside a transaction that is always rolled back, so it cannot pass
the read-only guard (its EXPLAIN says "rw"). It gets its own door instead, as narrow:
the caller gives only an action in the what-if grammar (contract section 7) and bounded
numbers, never Cypher; graph.whatif writes the queries. Every query they run goes
through `AuditedDriver`, which leaves the same AuditRecord the guard leaves (so the
investigation's Cypher budget and report count them exactly, not by estimate), gives
auto-commit reads the guard's per-query timeout, and stops a call that runs more
queries than `max_queries`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import neo4j
from pydantic import BaseModel, Field

from graph.tools.base import Limits, ToolError, ToolInput, tool_parameters_schema
from graph.tools.guard import AuditRecord, _audit_params
from graph.whatif import RankedAction, WhatIfError, WhatIfInputError, WhatIfResult, rank, simulate

MAX_QUERIES_PER_CALL = 3000
TX_TIMEOUT_S = 60.0  # the longest an orphaned simulation can hold its locks (graph/MODEL.md)


class _Counter:
    def __init__(self, limit: int) -> None:
        self.n = 0
        self.limit = limit
        self.lock = threading.Lock()

    def take(self) -> None:
        with self.lock:
            self.n += 1
            if self.n > self.limit:
                raise ToolError("too_many_queries", f"the what-if needed more than {self.limit} queries; "
                                                    "narrow it (sources, goals, max_hops)")


class _Rows(list):
    """A run's records, materialised (graph.whatif iterates them; `_terminate` consumes)."""

    summary: Any = None

    def consume(self) -> Any:
        return self.summary


class _Audited:
    """What a session and a transaction share: run() with an AuditRecord per query."""

    def __init__(self, inner: Any, door: AuditedDriver, read_timeout: float | None) -> None:
        self._inner = inner
        self._door = door
        self._read_timeout = read_timeout

    def run(self, query: Any, parameters: dict | None = None, **kw: Any) -> _Rows:
        self._door.counter.take()
        text = query.text if isinstance(query, neo4j.Query) else str(query)
        if self._read_timeout is not None and not isinstance(query, neo4j.Query):
            query = neo4j.Query(text, timeout=self._read_timeout)  # type: ignore[arg-type]
        params = {**(parameters or {}), **kw}
        rec = AuditRecord(tool=self._door.tool, parameters=_audit_params(params), query=text[:20_000])
        t0 = time.perf_counter()
        try:
            result = self._inner.run(query, params)
            rows = _Rows(result)
            rows.summary = result.consume()
        except Exception as exc:
            rec.ok, rec.error = False, f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            raise
        finally:
            rec.ms = round((time.perf_counter() - t0) * 1000, 3)
            self._door.audit.append(rec)
        rec.rows = len(rows)
        return rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Session(_Audited):
    def begin_transaction(self, metadata: dict | None = None, timeout: float | None = None) -> _Audited:
        tx = self._inner.begin_transaction(metadata=metadata, timeout=min(timeout or TX_TIMEOUT_S, TX_TIMEOUT_S))
        return _Audited(tx, self._door, None)  # the transaction's own timeout bounds its queries

    def __enter__(self) -> _Session:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._inner.__exit__(*exc)


@dataclass
class AuditedDriver:
    """The slice of neo4j.Driver graph.whatif uses (`session`), audited and bounded."""

    driver: neo4j.Driver
    audit: list[AuditRecord]
    tool: str
    timeout_s: float
    counter: _Counter

    def session(self, **kw: Any) -> _Session:
        return _Session(self.driver.session(**kw), self, self.timeout_s)


class SimulateInput(ToolInput):
    action: list[str] = Field(
        min_length=2, max_length=5,
        description="the change, as words: ['isolate', HOST], ['disable', USER], ['remove-member', MEMBER, GROUP], "
                    "['remove-edge', SRC, TYPE, DST], ['patch', TARGET, CVE], ['update', TARGET, PACKAGE, VERSION], "
                    "['block', FROM, TO, 'PORT/PROTO'], ['expose', HOST, 'PORT/PROTO'] (keys as the twin has them)")
    goals: list[str] | None = Field(default=None, max_length=10,
                                    description="keys paths are counted to (default: every crown jewel and tier-0 node)")
    sources: list[str] | None = Field(default=None, max_length=10,
                                      description="count paths from these keys instead of the entry points")
    max_hops: int = Field(default=6, ge=1, le=10)


class RankInput(ToolInput):
    target: str = Field(description="the key paths are counted to (a crown jewel, a tier-0 node)")
    top: int = Field(default=5, ge=1, le=10)
    sources: list[str] | None = Field(default=None, max_length=10,
                                      description="count paths from these keys (footholds) instead of the entry points")
    max_hops: int = Field(default=6, ge=1, le=10)


class RankOutput(BaseModel):
    target: str
    actions: list[RankedAction]


def whatif_simulate(door: AuditedDriver, database: str | None, args: SimulateInput) -> WhatIfResult:
    """Simulate one response action on the twin inside a transaction that is always rolled back:
    attack paths before and after, vulnerabilities gained and lost, and what the change breaks.

    The twin is never changed; `twin_unchanged` says it was checked."""
    return simulate(door, database, list(args.action), goals=args.goals, sources=args.sources,  # type: ignore[arg-type]
                    max_hops=args.max_hops, listed=5, workers=1, tx_timeout=TX_TIMEOUT_S)


def whatif_rank(door: AuditedDriver, database: str | None, args: RankInput) -> RankOutput:
    """Rank single response actions by the attack paths they remove to a target, least
    breakage first among ties; each one simulated in a rolled-back transaction.

    Candidates come from the shortest paths to the target (users to disable, memberships
    and edges to remove, hosts to isolate, CVEs to patch, flows to block)."""
    got = rank(door, database, target=args.target, top=args.top, sources=args.sources,  # type: ignore[arg-type]
               max_hops=args.max_hops)
    return RankOutput(target=args.target, actions=got)


@dataclass(frozen=True)
class SimSpec:
    name: str
    fn: Callable[[AuditedDriver, str | None, Any], BaseModel]
    input_model: type[ToolInput]
    description: str


SIM_TOOLS: dict[str, SimSpec] = {
    f.__name__: SimSpec(f.__name__, f, m, " ".join((f.__doc__ or "").split("\n\n", 1)[0].split()))
    for f, m in ((whatif_simulate, SimulateInput), (whatif_rank, RankInput))
}


def sim_schema(name: str) -> dict:
    spec = SIM_TOOLS[name]
    return {"type": "function", "function": {"name": spec.name, "description": spec.description,
                                             "parameters": tool_parameters_schema(spec.input_model)}}


def run_sim(driver: neo4j.Driver, database: str | None, audit: list[AuditRecord], limits: Limits,
            name: str, args: BaseModel | dict | None) -> BaseModel:
    """A typed what-if call: raises pydantic's ValidationError or ToolError."""
    spec = SIM_TOOLS[name]
    if not isinstance(args, spec.input_model):
        args = spec.input_model.model_validate(args or {})
    door = AuditedDriver(driver, audit, name, limits.timeout_s, _Counter(MAX_QUERIES_PER_CALL))
    try:
        return spec.fn(door, database, args)
    except WhatIfInputError as exc:
        raise ToolError("invalid_arguments", str(exc)) from None
    except WhatIfError as exc:
        raise ToolError("whatif_failed", str(exc)) from None
