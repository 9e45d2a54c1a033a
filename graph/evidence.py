"""Does a piece of evidence hold in the twin? One batched query per kind.

Used by the grounding verifier (agents) and, independently, by the evaluator: both
ask the twin, neither trusts an agent's own flags. Evidence items are contract
section 5's `{"node": key}`, `{"edge": [src, TYPE, dst]}`, `{"absent": name}`.

An event (`EVT:...`, `ZEEK:...`) the graph does not hold is looked for in the event store
beside it (graph/events), under the same key, with its edges to the twin as the store
keeps them (host, source host, acting and targeted accounts): evidence is checked
wherever it lives.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import neo4j

from graph.events import EventStore, open_store
from graph.model import check_identifier

_EVENT_PREFIXES = ("EVT:", "ZEEK:")
# An event's edge to the twin -> the store column naming its other end.
_STORE_EDGES = {"OnHost": "host", "FromHost": "from_host", "ByUser": "by_keys", "TargetsUser": "target_keys"}


def _rows(driver: neo4j.Driver, database: str | None, query: str, **params) -> list:
    return driver.execute_query(query, params, database_=database, routing_=neo4j.RoutingControl.READ).records


def existing_keys(driver: neo4j.Driver, keys: Iterable[str], database: str | None = None) -> set[str]:
    keys = sorted({k for k in keys if isinstance(k, str)})
    if not keys:
        return set()
    recs = _rows(driver, database, "UNWIND $keys AS k MATCH (n:Twin {key: k}) RETURN n.key AS k", keys=keys)
    found = {r["k"] for r in recs}
    events = [k for k in keys if k not in found and k.startswith(_EVENT_PREFIXES)]
    return found | set(_store(database).get(events)) if events else found


@cache
def _store(database: str | None) -> EventStore:
    """The twin's event store, opened once per process and database."""
    return open_store(database)


def _store_edges(wanted: list[tuple[str, str, str]], database: str | None) -> set[tuple[str, str, str]]:
    rows = _store(database).get(s for s, t, _ in wanted)
    out = set()
    for s, t, d in wanted:
        row = rows.get(s)
        have = row.get(_STORE_EDGES[t]) if row else None
        if have == d or (isinstance(have, list) and d in have):
            out.add((s, t, d))
    return out


def existing_edges(
    driver: neo4j.Driver, edges: Iterable[tuple[str, str, str]], database: str | None = None
) -> set[tuple[str, str, str]]:
    wanted = sorted({tuple(e) for e in edges if len(e) == 3 and all(isinstance(x, str) for x in e)})
    if not wanted:
        return set()
    rows = [{"s": s, "t": t, "d": d} for s, t, d in wanted]
    recs = _rows(
        driver, database,
        "UNWIND $rows AS row MATCH (a:Twin {key: row.s})-[r]->(b:Twin {key: row.d}) "
        "WHERE type(r) = row.t RETURN DISTINCT row.s AS s, row.t AS t, row.d AS d",
        rows=rows,
    )
    found = {(r["s"], r["t"], r["d"]) for r in recs}
    events = [e for e in wanted if e not in found and e[0].startswith(_EVENT_PREFIXES) and e[1] in _STORE_EDGES]
    return found | _store_edges(events, database) if events else found


def present_names(driver: neo4j.Driver, names: Iterable[str], database: str | None = None) -> set[str]:
    """Names that some node carries as its key or name (any case) or, for hosts, short
    name: an `absent` claim about any of them is false."""
    names = sorted({n for n in names if isinstance(n, str) and n.strip()})
    if not names:
        return set()
    found: set[str] = set()
    recs = _rows(
        driver, database,
        "UNWIND $names AS raw WITH raw, toUpper(trim(raw)) AS up "
        "OPTIONAL MATCH (k:Twin {key: raw}) "
        "OPTIONAL MATCH (u:Twin {key: up}) "
        "OPTIONAL MATCH (nm:Twin {name: raw}) "
        "OPTIONAL MATCH (s:Twin {shortname: up}) "
        "WITH raw, k, u, nm, s WHERE k IS NOT NULL OR u IS NOT NULL OR nm IS NOT NULL OR s IS NOT NULL "
        "RETURN DISTINCT raw",
        names=names,
    )
    found |= {r["raw"] for r in recs}
    return found


def check_items(driver: neo4j.Driver, items: list[dict], database: str | None = None) -> list[bool]:
    """For each evidence item, whether it holds (malformed items never hold)."""
    nodes = [i["node"] for i in items if isinstance(i, dict) and isinstance(i.get("node"), str)]
    edges = [tuple(i["edge"]) for i in items if isinstance(i, dict) and _is_edge(i.get("edge"))]
    absents = [i["absent"] for i in items if isinstance(i, dict) and isinstance(i.get("absent"), str)]
    have_nodes = existing_keys(driver, nodes, database)
    have_edges = existing_edges(driver, edges, database)
    present = present_names(driver, absents, database)
    out = []
    for i in items:
        if not isinstance(i, dict) or len(i) != 1:
            out.append(False)
        elif isinstance(i.get("node"), str):
            out.append(i["node"] in have_nodes)
        elif _is_edge(i.get("edge")):
            out.append(tuple(i["edge"]) in have_edges)
        elif isinstance(i.get("absent"), str):
            out.append(bool(i["absent"].strip()) and i["absent"] not in present)
        else:
            out.append(False)
    return out


def _is_edge(value: object) -> bool:
    if not (isinstance(value, (list, tuple)) and len(value) == 3 and all(isinstance(x, str) for x in value)):
        return False
    try:
        check_identifier(value[1])
    except ValueError:
        return False
    return True
