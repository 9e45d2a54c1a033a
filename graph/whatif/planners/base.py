"""What a planner writes into: `Sim`, the state of one simulation inside its
transaction. Planners read the twin through it and plan their deletions, creations and
property changes on it; `simulate` fingerprints what they touched and then applies it."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

from graph.tools.vocab import TRAVERSABLE, label, rel_type
from graph.whatif.errors import WhatIfInputError
from graph.whatif.grammar import Action
from graph.whatif.models import Break, ExploitEdge
from graph.whatif.paths import Run

# One relationship as planners see it: enough to delete it by id and to recreate it.
EDGE_ROW = ("elementId(r) AS id, startNode(r).key AS src, type(r) AS type, endNode(r).key AS dst, "
            "properties(r) AS props")


class Sim:
    """The state of one simulation inside its transaction: what it touched, what it
    changed, what breaks. Every write goes through here."""

    def __init__(self, run: Run, action: Action) -> None:
        self.run = run
        self.action = action
        self.touched: set[str] = set()
        self.breaks: list[Break] = []
        self.notes: list[str] = []
        self.unknown = False
        self.rederive: set[str] = set()
        self.to_delete: list[dict] = []          # {id, src, type, dst, props}
        self.to_create: list[dict] = []          # {src, type, dst, props}
        self.to_set: list[dict] = []             # {key, props}
        self.new_nodes: list[dict] = []          # {key, labels, props}
        self.scope_owners: list[str] = []
        self.scope_hosts: list[str] = []
        self.vulns_before: dict[str, bool] = {}
        self.vulns_after: dict[str, bool] = {}
        self.changes: Counter[str] = Counter()
        self.exploit_added: list[ExploitEdge] = []
        self.exploit_removed: list[ExploitEdge] = []
        self.post_hooks: list[Callable[[], None]] = []
        self.changed: set[str] = set()           # heads of changed traversable edges, nodes whose props changed
        self.props_changed = False

    # -- look-ups ---------------------------------------------------------------------
    def node(self, key: str, want: tuple[str, ...] | None = None, what: str = "key") -> dict:
        """The node a CLI word names: its exact key, else the upper-case key (hosts and
        AD names are upper-case), else a zone or CVE spelled in another case."""
        rows = self.run(
            "MATCH (n:Twin) WHERE n.key IN [$k, toUpper($k)] "
            "RETURN n.key AS key, labels(n) AS labels, properties(n) AS props "
            "ORDER BY CASE WHEN n.key = $k THEN 0 ELSE 1 END LIMIT 1", k=key)
        if not rows:
            rows = self.run(
                "MATCH (n:Zone) WHERE toLower(n.key) = toLower($k) "
                "RETURN n.key AS key, labels(n) AS labels, properties(n) AS props LIMIT 1", k=key)
        if not rows:
            raise WhatIfInputError(f"{what} {key!r} is not in the twin")
        row = rows[0]
        if want and not set(want) & set(row["labels"]):
            kinds = "/".join(sorted(set(row["labels"]) - {"Twin", "Base"})) or "node"
            raise WhatIfInputError(f"{what} {row['key']!r} is a {kinds}, not a {' or '.join(want)}")
        return row

    def edges(self, query: str, **params) -> list[dict]:
        return self.run(query, **params)

    # -- planned writes ---------------------------------------------------------------
    def delete(self, rows: Iterable[dict]) -> None:
        known = {d["id"] for d in self.to_delete}
        for r in rows:
            if r["id"] not in known:
                known.add(r["id"])
                self.to_delete.append(r)
                self.touched.update((r["src"], r["dst"]))

    def create(self, src: str, rtype: str, dst: str, props: dict | None = None) -> None:
        rel_type(rtype)
        self.to_create.append({"src": src, "type": rtype, "dst": dst, "props": dict(props or {})})
        self.touched.update((src, dst))

    def set_props(self, key: str, props: dict) -> None:
        self.to_set.append({"key": key, "props": props})
        self.touched.add(key)

    def add_node(self, key: str, labels: list[str], props: dict) -> None:
        self.new_nodes.append({"key": key, "labels": labels, "props": props})
        self.touched.add(key)

    def brk(self, key: str, reason: str, kind: str) -> None:
        self.breaks.append(Break(key=key, reason=reason, kind=kind))

    def apply(self) -> None:
        now = int(time.time())
        for n in self.new_nodes:
            labels = ":".join(["Twin", *sorted(set(n["labels"]) - {"Twin"})])
            for lbl in n["labels"]:
                label(lbl)
            self.run(f"CREATE (n:{labels}) SET n = $props, n.key = $key, n.source = 'whatif', "
                     "n.sources = ['whatif'], n.firstseen = $now, n.lastseen = $now, n.whatif = true",
                     props=n["props"], key=n["key"], now=now)
            self.changes["nodes_added"] += 1
        trav = set(TRAVERSABLE)
        self.changed.update(d["dst"] for d in self.to_delete if d["type"] in trav)
        self.changed.update(c["dst"] for c in self.to_create if c["type"] in trav)
        self.changed.update(x["key"] for x in self.to_set)
        self.props_changed = self.props_changed or bool(self.to_set)
        if self.to_delete:
            ids = [d["id"] for d in self.to_delete]
            self.run("UNWIND $ids AS id MATCH ()-[r]->() WHERE elementId(r) = id DELETE r", ids=ids)
            self.changes["edges_removed"] += len(ids)
        by_type: dict[str, list[dict]] = defaultdict(list)
        for c in self.to_create:
            by_type[c["type"]].append({"src": c["src"], "dst": c["dst"],
                                       "props": {k: v for k, v in c["props"].items() if v is not None}})
        for rtype, rows in by_type.items():
            done = self.run(
                "UNWIND $rows AS row MATCH (a:Twin {key: row.src}) MATCH (b:Twin {key: row.dst}) "
                f"CREATE (a)-[r:{rel_type(rtype)}]->(b) SET r = row.props, r.source = 'whatif', "
                "r.sources = ['whatif'], r.firstseen = coalesce(row.props.firstseen, $now), "
                "r.lastseen = coalesce(row.props.lastseen, $now) RETURN count(*) AS c", rows=rows, now=now)
            self.changes["edges_added"] += done[0]["c"] if done else 0
        for s in self.to_set:
            self.run("MATCH (n:Twin {key: $key}) SET n += $props", key=s["key"], props=s["props"])
            self.changes["nodes_changed"] += 1
        self.to_delete, self.to_create, self.to_set, self.new_nodes = [], [], [], []


def zone_hosts(sim: Sim, zone: str, with_services: bool) -> list[str]:
    """The hosts in a zone (only those with a service, when asked): a zone rule acts on them."""
    extra = " AND EXISTS { (c)-[:HasService]->(:Service) }" if with_services else ""
    return [r["k"] for r in sim.run(
        f"MATCH (c:Computer)-[:InZone]->(z:Twin {{key: $z}}) WHERE true{extra} RETURN c.key AS k ORDER BY k", z=zone)]

