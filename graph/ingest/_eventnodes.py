"""The few events that are graph nodes as well: built from their store rows, and kept so.

Events live in the event store (graph/events). An alert that involves an event (a
process, a hash) needs an end for its `Involves` edge, so that event also becomes a
graph `Event` node, its ties (`OnHost`, `FromHost`, `FromIP`, `ByUser`, `TargetsUser`)
copied from its row (graph/ingest/alerts.py). The relink later re-keys rows to the host
a later load names and ties their accounts and source hosts (graph/ingest/_winlink.py).
`sync_event_nodes` makes the graph nodes of those rows follow: same key, same ties as
the row, so the graph and the store never tell an investigation two stories.
"""

from __future__ import annotations

from collections.abc import Callable

from graph import catalog
from graph.events.store import HOST_UNRESOLVED, EventFilter
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


class PatchLog:
    """Wraps a store patch and remembers, for every key it touched, the key the row has
    now (a row may be re-keyed by one step and tied by the next, under its new key)."""

    def __init__(self, patch: Callable[[dict[str, dict]], int]) -> None:
        self._patch = patch
        self.now: dict[str, str] = {}  # key as first touched -> key now
        self._first: dict[str, list[str]] = {}  # key now -> keys as first touched

    def __call__(self, changes: dict[str, dict]) -> int:
        for key, change in changes.items():
            new = change.get("key") or key
            firsts = self._first.pop(key, None) or [key]
            for first in firsts:
                self.now[first] = new
            self._first.setdefault(new, []).extend(firsts)
        return self._patch(changes)


def sync_event_nodes(writer: TwinWriter, reader: TwinReader, query: Callable[[EventFilter], list[dict]],
                     moved: dict[str, str]) -> int:
    """The graph `Event` nodes among the rows in `moved` (old key -> key now) take the
    row's key and ties again. A node whose new key is already a node (the same record,
    loaded under the host's full name) hands its alerts' `Involves` edges to that node
    and goes. Returns how many nodes were brought in line."""
    if not moved:
        return 0
    nodes = [r["key"] for r in reader.rows("MATCH (e:Event) WHERE e.key IN $keys RETURN e.key AS key",
                                           keys=sorted(moved))]
    if not nodes:
        return 0
    pairs = [[old, moved[old]] for old in nodes]
    rows = {r["key"]: r for r in query(EventFilter(keys=sorted({new for _, new in pairs})))}
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
        writer.stats.per_kind[kind] = writer.stats.per_kind.get(kind, 0) + len(nodes)
    by_kind: dict[str, list[dict]] = {}
    for row in rows.values():
        by_kind.setdefault(row["kind"], []).append(event_node(row))
    for kind, node_rows in sorted(by_kind.items()):
        writer.nodes(event_schema(kind), node_rows)
    return len(nodes)
