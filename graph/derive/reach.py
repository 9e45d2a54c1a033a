"""Reachability summaries: the blast radius of the twin's hubs, computed once per change.

From a domain controller or Domain Admins a breadth-first search reaches the whole estate
(140k nodes on a 24k-host twin): answered live, that one call took 8.5 s and most of a
6 GB heap. Those starts are few and their answer changes only when the twin's static
attack edges do, so it is worked out here after each ingest or forget, and blast_radius
reads it back instead of searching (graph/tools/radius.py).

Only twins of MIN_NODES or more get summaries. What is kept, per hub (a tier-0 node, or a node with at least HUB_DEGREE static attack
edges out): for each hop bound 1..MAX_HOPS the blast radius answer (counts by category,
the nearest EXAMPLES per category with their paths, counts by last edge), and the hop
distance of every node it reaches (for the check below). Stored on `:ReachSummary`
nodes beside one `:ReachMeta`; neither carries `:Twin`, so no tool, resolver or
analyst ever meets them as entities (graph/MODEL.md, "Reachability summaries").

The summary is of the static graph: the timed edges (sessions, traffic) live only around
an `as_of`. It still answers exactly for a window when no edge live in that window
shortens a stored distance (d(u) + 1 >= d(v) for every live timed u -> v with d(u) below
the bound): a BFS distance labelling no new edge relaxes is the distance labelling of the
larger graph. Otherwise, or when the twin has changed since (the fingerprint of edge
counts and goal flags differs), the tool runs the exhaustive query.

Refresh is a full recompute from one read of the static edges, skipped when the
fingerprint is unchanged and the run wrote no static attack edge (event and session
ingests do not pay it). It is not cheap at scale: on the 24k-host twin (1.8M static
edges, 44 hubs) the read alone took 497 s on a shared, overloaded machine; an
incremental update is the next step. New summaries are written under a new version and
the meta node switched to it in one transaction.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import neo4j

from graph.tools.vocab import HOSTED_ON, TIMED_EDGES, TRAVERSABLE, rel_alternation

SUMMARY = "ReachSummary"
META = "ReachMeta"
HUB_DEGREE = 200
MAX_DEGREE_HUBS = 64
READ_TIMEOUT_S = 3600
MIN_NODES = 50_000  # twins smaller than this get no summaries (the search is cheap there)
MAX_HOPS = 8
EXAMPLES = 25
STATIC_EDGES: tuple[str, ...] = tuple(t for t in TRAVERSABLE if t not in TIMED_EDGES)

# The categories of graph/tools/radius.py's _CATEGORY, first match wins.
_CATEGORY = """CASE
  WHEN coalesce(n.crown_jewel, false) THEN 'crown_jewels'
  WHEN coalesce(n.tier0, false) THEN 'tier0'
  WHEN n:Computer THEN 'computers'
  WHEN n:User THEN 'users'
  WHEN n:Group THEN 'groups'
  WHEN n:DataAsset THEN 'data_assets'
  WHEN n:Domain THEN 'domains'
  WHEN n:Zone THEN 'zones'
  ELSE 'other' END"""


def fingerprint_query() -> str:
    """What the summaries depend on, read from Neo4j's count store and two indexes: the
    number of edges of each static attack type and of HostedOn, and of goal nodes."""
    parts = [f"COUNT {{ ()-[:{t}]->() }}" for t in (*STATIC_EDGES, HOSTED_ON)]
    return ("RETURN [" + ", ".join(parts) + ", COUNT { MATCH (g:Twin) WHERE g.tier0 = true }"
            ", COUNT { MATCH (g:Twin) WHERE g.crown_jewel = true }] AS fp")


def fingerprint(driver: neo4j.Driver, database: str | None) -> str:
    return json.dumps(driver.execute_query(fingerprint_query(), database_=database).records[0]["fp"])


@dataclass
class Graph:
    """The static attack edges and what the summaries need of each node, read once."""

    out: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    category: dict[str, str] = field(default_factory=dict)
    hosted: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # host -> data assets
    tier0: list[str] = field(default_factory=list)


def read_graph(driver: neo4j.Driver, database: str | None) -> Graph:
    """One pass over the static attack edges (a 24k-host twin: ~1M rows), unbounded in
    time: the server's default transaction timeout is for interactive reads."""
    g = Graph()
    with driver.session(database=database) as s:
        for rec in s.run(neo4j.Query(f"MATCH (a)-[r:{rel_alternation(STATIC_EDGES)}]->(b) "
                                     "RETURN a.key AS a, type(r) AS t, b.key AS b", timeout=READ_TIMEOUT_S)):
            if rec["a"] is not None and rec["b"] is not None:
                g.out[rec["a"]].append((rec["t"], rec["b"]))
        for rec in s.run(neo4j.Query(f"MATCH (n:Twin) RETURN n.key AS k, {_CATEGORY} AS c",
                                     timeout=READ_TIMEOUT_S)):
            g.category[rec["k"]] = rec["c"]
        for rec in s.run("MATCH (d:DataAsset)-[:HostedOn]->(x) RETURN d.key AS d, x.key AS x ORDER BY d"):
            g.hosted[rec["x"]].append(rec["d"])
        g.tier0 = [r["k"] for r in s.run("MATCH (n:Twin) WHERE n.tier0 = true RETURN n.key AS k")]
    for edges in g.out.values():
        edges.sort()
    return g


def bfs(g: Graph, hub: str, max_hops: int = MAX_HOPS) -> tuple[dict[str, int], dict[str, tuple[str, str]]]:
    """Hop distance of every node within max_hops of hub, and one shortest-path predecessor."""
    dist = {hub: 0}
    pred: dict[str, tuple[str, str]] = {}
    queue = deque([hub])
    while queue:
        a = queue.popleft()
        d = dist[a]
        if d >= max_hops:
            continue
        for t, b in g.out.get(a, ()):
            if b not in dist:
                dist[b] = d + 1
                pred[b] = (a, t)
                queue.append(b)
    return dist, pred


def _path(pred: dict[str, tuple[str, str]], x: str) -> tuple[list[str], list[str]]:
    nodes, edges = [x], []
    while x in pred:
        x, t = pred[x]
        nodes.append(x)
        edges.append(t)
    return nodes[::-1], edges[::-1]


def answers(g: Graph, hub: str, dist: dict[str, int], pred: dict[str, tuple[str, str]]) -> dict[str, dict]:
    """The blast radius answer for each hop bound, as radius.blast_radius would give it:
    {str(h): {"categories": {cat: {"total", "examples"}}, "by_last_edge": {...}}}."""
    by_level: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    last_by_level: dict[int, Counter] = defaultdict(Counter)
    hosted_assets = {a for ds in g.hosted.values() for a in ds}
    assets = set()
    for x, d in dist.items():
        if x == hub or x not in g.category:
            continue
        if x in hosted_assets:
            assets.add(x)
            continue
        by_level[d][g.category[x]].append(x)
        last_by_level[d][pred[x][1]] += 1
    for level in by_level.values():
        for keys in level.values():
            keys.sort()
    # Data assets come either as a node reached (its own distance) or one hop past the
    # host they live on (HostedOn, reached at 1..h): which is nearer depends on h.
    via_host: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for host, ds in g.hosted.items():
        if host != hub and host in dist:
            for a in ds:
                if a != hub:
                    via_host[a].append((dist[host], host))
    out: dict[str, dict] = {}
    for h in range(1, MAX_HOPS + 1):
        cats: dict[str, dict] = {}
        last: Counter = Counter()
        for d in range(1, h + 1):
            for cat, keys in by_level[d].items():
                c = cats.setdefault(cat, {"total": 0, "items": []})
                c["total"] += len(keys)
                if len(c["items"]) < EXAMPLES:
                    c["items"] += [(d, k) for k in keys[: EXAMPLES - len(c["items"])]]
            last.update(last_by_level[d])
        for a in sorted(assets | set(via_host)):
            options = []
            if a in dist and 1 <= dist[a] <= h:
                options.append(_path(pred, a))
            for dh, host in sorted(via_host.get(a, ())):
                if dh <= h:
                    n, e = _path(pred, host)
                    options.append((n + [a], e + [HOSTED_ON]))
            if not options:
                continue
            nodes, edges = min(options, key=lambda ne: (len(ne[1]), ne[0]))
            c = cats.setdefault(g.category[a], {"total": 0, "items": []})
            c["total"] += 1
            c["items"].append((len(edges), a, nodes, edges))
            last[edges[-1]] += 1
        for c in cats.values():
            items = sorted((it if len(it) == 4 else (it[0], it[1], *_path(pred, it[1]))) for it in c["items"])
            c["examples"] = [{"key": k, "hops": hp, "nodes": n, "edges": e} for hp, k, n, e in items[:EXAMPLES]]
            del c["items"]
        out[str(h)] = {"categories": cats, "by_last_edge": dict(last)}
    return out


def hubs(g: Graph, min_degree: int) -> list[str]:
    """Tier-0 nodes, and the MAX_DEGREE_HUBS nodes with most static attack edges out
    (at least min_degree)."""
    wide = sorted((k for k, out in g.out.items() if len(out) >= min_degree), key=lambda k: (-len(g.out[k]), k))
    return sorted(set(g.tier0) | set(wide[:MAX_DEGREE_HUBS]))


def refresh(driver: neo4j.Driver, database: str | None = None, *, force: bool = False,
            min_degree: int | None = None) -> dict:
    """Recompute the summaries when the twin changed since the last ones (or `force`)."""
    t0 = time.perf_counter()
    min_degree = HUB_DEGREE if min_degree is None else min_degree
    fp = fingerprint(driver, database)
    old = driver.execute_query(f"MATCH (m:{META}) RETURN m.fingerprint AS fp", database_=database).records
    if not force and old and old[0]["fp"] == fp:
        return {"refreshed": False, "seconds": round(time.perf_counter() - t0, 3)}
    if driver.execute_query("MATCH (n:Twin) RETURN count(n) AS c", database_=database).records[0]["c"] < MIN_NODES:
        # Small twins: the search is cheap and the refresh is not (60 s at 2.4k hosts
        # under load); no summaries, so every call searches.
        driver.execute_query(f"MATCH (s:{SUMMARY}|{META}) DETACH DELETE s", database_=database)
        return {"refreshed": False, "seconds": round(time.perf_counter() - t0, 3)}
    g = read_graph(driver, database)
    keys = hubs(g, min_degree)
    # Distances travel as one byte per node against one shared key list: on a 24k-host
    # twin a hub's map as JSON is 3.5 MB, as bytes 140 kB.
    universe = sorted(set(g.category) | set(g.out))
    index = {k: i for i, k in enumerate(universe)}
    rows = []
    for hub in keys:
        dist, pred = bfs(g, hub)
        packed = bytearray(b"\xff") * len(universe)
        for k, d in dist.items():
            packed[index[k]] = d
        rows.append({"hub": hub, "answers": json.dumps(answers(g, hub, dist, pred)),
                     "dist": bytes(packed), "reached": len(dist) - 1})
    write(driver, database, fp, universe, rows)
    return {"refreshed": True, "hubs": len(keys), "seconds": round(time.perf_counter() - t0, 3)}


def write(driver: neo4j.Driver, database: str | None, fp: str, universe: list[str], rows: list[dict]) -> None:
    """Write the new summaries under a new version, then point the meta node at it, then
    drop the old: a reader (which follows the meta's version) sees the old set or the
    new, and a refresh cut short leaves only unreferenced nodes the next one removes."""
    version = time.time_ns()
    for i in range(0, len(rows), 8):
        driver.execute_query(f"UNWIND $rows AS r CREATE (s:{SUMMARY}) SET s = r, s.version = $v",
                             rows=rows[i:i + 8], v=version, database_=database)

    def switch(tx: neo4j.ManagedTransaction) -> None:
        tx.run(f"MATCH (m:{META}) DETACH DELETE m").consume()
        tx.run(f"CREATE (m:{META} {{fingerprint: $fp, version: $v, hubs: $n, keys: $keys}})",
               fp=fp, v=version, n=len(rows), keys=universe).consume()

    with driver.session(database=database) as s:
        s.execute_write(switch)
    driver.execute_query(f"MATCH (s:{SUMMARY}) WHERE s.version <> $v DETACH DELETE s", v=version, database_=database)


def changed_kinds_need_refresh(kinds: Iterable[str]) -> bool:
    """An ingest that wrote a static attack edge, HostedOn or a node may have moved an
    edge without changing the counts the fingerprint reads: recompute then."""
    watched = {*STATIC_EDGES, HOSTED_ON}
    return any(k in watched for k in kinds)
