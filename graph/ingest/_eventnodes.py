"""The few events that are graph nodes as well: built from their store rows, and kept so.

Events live in the event store (graph/events). An alert that involves an event (a
process, a hash) needs an end for its `Involves` edge, so that event also becomes a
graph `Event` node, its ties (`OnHost`, `FromHost`, `FromIP`, `ByUser`, `TargetsUser`)
copied from its row (graph/ingest/alerts.py). The relink later re-keys rows to the host
a later load names and ties their accounts and source hosts (graph/ingest/_winlink.py).
`EventNodesFollow` makes the graph nodes of those rows follow: same key, same ties as
the row, so the graph and the store never tell an investigation two stories. The graph
moves first, then the store: a run that stops between the two leaves the rows marked,
and the next relink patches them again, which moves nothing more in the graph.
"""

from __future__ import annotations

from collections.abc import Callable

from graph import catalog
from graph.events.store import HOST_UNRESOLVED, IP_UNRESOLVED, EventFilter
from graph.loader import TwinWriter
from graph.model import NodeSchema
from graph.reader import TwinReader

ON_HOST = catalog.rel("OnHost")
BY_USER = catalog.rel("ByUser")
TARGETS_USER = catalog.rel("TargetsUser")
FROM_HOST = catalog.rel("FromHost")
FROM_IP = catalog.rel("FromIP")
# An event's ties to what the twin holds: the store's columns, and the graph edges of
# the events that are also graph nodes.
EVENT_LINKS = (ON_HOST, BY_USER, TARGETS_USER, FROM_HOST, FROM_IP)
_LINK_TYPES = "|".join(rel.type for rel in EVENT_LINKS)


def event_schema(kind: str) -> NodeSchema:
    return catalog.node("Event", *(() if kind == "Event" else (kind,)), links=EVENT_LINKS)


def event_node(row: dict) -> dict:
    """An event's store row as a graph node row: its fields and its ties (`links`)."""
    links = [(rel, row[col]) for rel, col in (("OnHost", "host"), ("FromHost", "from_host"), ("FromIP", "from_ip"))
             if row.get(col) and not (rel == "OnHost" and HOST_UNRESOLVED in row.get("marks", ()))]
    links += [("ByUser", k) for k in row.get("by_keys") or ()]
    links += [("TargetsUser", k) for k in row.get("target_keys") or ()]
    props = {**row["props"], "fields": row.get("raw")}
    return {"key": row["key"], "firstseen": row["ts"], "lastseen": row["ts"], "props": props, "links": links}


def patched(row: dict, change: dict) -> dict:
    """A store row after a patch, as the store writes it (graph.events.duck `patch`):
    key, host and source host replaced, accounts added, the marks the change ties gone."""
    out = {**row}
    for col in ("key", "host", "from_host"):
        if change.get(col) is not None:
            out[col] = change[col]
    for col in ("by_keys", "target_keys"):
        if change.get(col):
            out[col] = sorted(set(row.get(col) or ()) | set(change[col]))
    settled = set(change.get("settled") or ())
    if change.get("host") is not None:
        settled.add(HOST_UNRESOLVED)
        props = {k: v for k, v in (row.get("props") or {}).items() if k != "host_domains"}
        out["props"] = {**props, "host": change["host"]}
    if change.get("from_host") is not None:
        settled.add(IP_UNRESOLVED)
    out["marks"] = [m for m in row.get("marks") or () if m not in settled]
    return out


class EventNodesFollow:
    """The relink's store patch, with the graph `Event` nodes of the patched rows moved
    to the rows' new state first (module doc: why first)."""

    def __init__(self, patch: Callable[[dict[str, dict]], int], query: Callable[[EventFilter], list[dict]],
                 writer: TwinWriter, reader: TwinReader) -> None:
        self._patch, self._query, self._writer, self._reader = patch, query, writer, reader

    def __call__(self, changes: dict[str, dict]) -> int:
        sync_event_nodes(self._writer, self._reader, self._query, changes)
        return self._patch(changes)


def sync_event_nodes(writer: TwinWriter, reader: TwinReader, query: Callable[[EventFilter], list[dict]],
                     changes: dict[str, dict]) -> int:
    """The graph `Event` nodes among the rows `changes` patches (key -> change) take the
    patched row's key and ties. A node whose new key is already a node (the same record,
    loaded under the host's full name) hands its alerts' `Involves` edges to that node
    and goes. Idempotent: a node already moved is not found under its old key again.
    Returns how many nodes were brought in line."""
    if not changes:
        return 0
    nodes = [r["key"] for r in reader.rows("MATCH (e:Event) WHERE e.key IN $keys RETURN e.key AS key",
                                           keys=sorted(changes))]
    rows = {r["key"]: r for r in query(EventFilter(keys=nodes))} if nodes else {}
    after = {old: patched(rows[old], changes[old]) for old in nodes if old in rows}
    if not after:
        return 0
    pairs = [[old, row["key"]] for old, row in sorted(after.items())]
    db = writer.database
    writer.driver.execute_query(  # the old ties go
        "UNWIND $pairs AS p MATCH (e:Event {key: p[0]}) "
        f"OPTIONAL MATCH (e)-[r:{_LINK_TYPES}]->() DELETE r", pairs=pairs, database_=db)
    # A renamed node takes its new key, or gives way to the node that holds it. Rounds
    # of distinct new keys: two spellings of one record both in the graph become one.
    rounds: list[list[list[str]]] = []
    for p in (p for p in pairs if p[0] != p[1]):
        free = next((r for r in rounds if all(q[1] != p[1] for q in r)), None)
        if free is None:
            rounds.append(free := [])
        free.append(p)
    for part in rounds:
        writer.driver.execute_query(
            "UNWIND $pairs AS p MATCH (e:Event {key: p[0]}) "
            "OPTIONAL MATCH (other:Twin {key: p[1]}) "
            "CALL (e, other, p) { WITH e, other, p WHERE other IS NULL SET e.key = p[1] } "
            "CALL (e, other) { WITH e, other WHERE other IS NOT NULL "
            "  MATCH (a:Alert)-[i:Involves]->(e) "
            "  MERGE (a)-[j:Involves]->(other) "
            "  ON CREATE SET j = properties(i) "
            "  ON MATCH SET j.roles = reduce(rs = coalesce(j.roles, []), x IN coalesce(i.roles, []) | "
            "    CASE WHEN x IN rs THEN rs ELSE rs + x END) } "
            "WITH e, other WHERE other IS NOT NULL DETACH DELETE e", pairs=part, database_=db)
    # what the raw queries moved, for the derivations (Connector.post_load_kinds)
    for kind in ("Event", *(rel.type for rel in EVENT_LINKS), *(("Involves",) if rounds else ())):
        writer.stats.per_kind[kind] = writer.stats.per_kind.get(kind, 0) + len(after)
    by_kind: dict[str, list[dict]] = {}
    for row in after.values():
        by_kind.setdefault(row["kind"], []).append(event_node(row))
    for kind, node_rows in sorted(by_kind.items()):
        writer.nodes(event_schema(kind), node_rows)
    return len(after)
