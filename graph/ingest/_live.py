"""What the live-layer connectors (zeek, winevents, alerts) share: fast JSON, and edges
that add up over many files.

Aggregated edges (`ConnectedTo {count, bytes, ports}`, `LoggedOn {count, logon_types}`)
come from many files of the same source (Zeek rotates conn.log every hour). The writer
sets an edge's properties to the row's, so a row must already carry the total over every
file that fed the edge. Each edge therefore keeps the digests of the files it has counted
(`ingests`, sorted): a new file adds its counts, a file seen before changes nothing, which
keeps re-ingesting idempotent; sums, sorted unions and sorted digests make the result the
same whichever order the files arrive in.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from graph.model import check_identifier
from graph.reader import TwinReader

try:  # orjson ships with the LangGraph stack; it parses JSON lines ~4x faster
    import orjson

    def loads(text: str | bytes):
        return orjson.loads(text)

    _DECODE_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError, ValueError)
except ImportError:  # pragma: no cover - plain json is correct, only slower
    def loads(text: str | bytes):
        return json.loads(text)

    _DECODE_ERRORS = (ValueError,)

JSONDecodeErrors = _DECODE_ERRORS


@contextmanager
def no_gc() -> Iterator[None]:
    """Parsing a million records allocates millions of small objects, none of them in
    reference cycles; the cyclic collector would rescan the growing heap again and again
    (a third of the transform's time), so it pauses for the duration."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def file_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def existing_edges(reader: TwinReader, rel_type: str, pairs: Iterable[tuple[str, str]],
                   chunk: int = 10_000) -> dict[tuple[str, str], dict]:
    """Properties of the `rel_type` edges the twin already has between these key pairs."""
    pairs = list(pairs)
    if not reader or not pairs:
        return {}
    # Both ends by index first, then Expand(Into) inside the subquery: left to itself the
    # planner may expand from a server's thousand inbound edges for every pair.
    query = (
        "UNWIND $pairs AS p MATCH (a:Twin {key: p[0]}) MATCH (b:Twin {key: p[1]}) "
        f"CALL (a, b) {{ MATCH (a)-[r:{check_identifier(rel_type)}]->(b) RETURN r }} "
        "RETURN p[0] AS a, p[1] AS b, properties(r) AS props"
    )
    found: dict[tuple[str, str], dict] = {}
    for i in range(0, len(pairs), chunk):
        part = [list(p) for p in pairs[i:i + chunk]]
        for rec in reader.rows(query, pairs=part):
            found[(rec["a"], rec["b"])] = dict(rec["props"])
    return found


def accumulate(fresh: dict, old: dict | None, digest: str, *, sums: tuple[str, ...] = (),
               unions: tuple[str, ...] = (), cap: int = 1024) -> dict:
    """The edge's properties after this file: `fresh` (this file's counts) added to `old`
    (what the twin holds) unless this file was counted already. Union lists are kept
    sorted and capped at `cap` items (`<name>_truncated` says when items were dropped)."""
    if not old:
        out = dict(fresh)
        for name in unions:
            out[name], cut = _capped(fresh.get(name) or [], cap)
            if cut:
                out[f"{name}_truncated"] = True
        out["ingests"] = [digest]
        return out
    seen = [d for d in (old.get("ingests") or []) if isinstance(d, str)]
    out = dict(fresh)
    if digest in seen:  # counted before: keep the totals as they are
        for name in (*sums, *unions):
            if name in old:
                out[name] = old[name]
        if any(f"{n}_truncated" in old for n in unions):
            for n in unions:
                if old.get(f"{n}_truncated"):
                    out[f"{n}_truncated"] = True
        out["ingests"] = seen
        return out
    for name in sums:
        out[name] = _num(old.get(name)) + _num(fresh.get(name))
    for name in unions:
        merged = set(_as_list(old.get(name))) | set(_as_list(fresh.get(name)))
        out[name], cut = _capped(merged, cap)
        if cut or old.get(f"{name}_truncated"):
            out[f"{name}_truncated"] = True
    out["ingests"] = sorted([*seen, digest])
    return out


def _capped(items, cap: int) -> tuple[list, bool]:
    ordered = sorted(items, key=_sort_key)
    return ordered[:cap], len(ordered) > cap


def _sort_key(x):
    if isinstance(x, str) and "/" in x:  # "445/tcp": numeric port order
        port, _, proto = x.partition("/")
        return (0, int(port) if port.isdigit() else 1 << 20, proto, x)
    if isinstance(x, (int, float)):
        return (0, x, "", "")
    return (1, 0, "", str(x))


def _as_list(value) -> list:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _num(value) -> int:
    return int(value) if isinstance(value, (int, float)) else 0
