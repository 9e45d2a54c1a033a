"""Reachability summaries: the blast radius of the twin's hubs, computed once per change.

From a domain controller or Domain Admins a breadth-first search reaches the whole estate
(140k nodes on a 24k-host twin): answered live, that one call took 8.5 s and most of a
6 GB heap. Those starts are few and their answer changes only when the twin's static
attack edges do, so it is worked out here after each ingest or forget, and blast_radius
reads it back instead of searching (graph/tools/radius_summary.py). A start that is
not a hub is composed there from a search that stops at hubs and the hubs' stored
distances, so each hub also keeps its shortest-path tree (predecessor per node), and the
meta node each node's category and the data assets on each host.

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
larger graph. Otherwise the answer is composed with those edges (graph/tools/radius_summary.py);
when the twin has changed since (the fingerprint of edge counts and goal flags differs),
the tool runs the exhaustive query.

Refresh is a full recompute from one read of the static edges, skipped when the
fingerprint is unchanged and the run wrote no static attack edge (event and session
ingests do not pay it). The read is of integers (internal ids, collected per edge type)
and the search runs over int adjacency lists: on the 24k-host twin (188k nodes, 1.8M
static edges, 44 hubs) a refresh takes 14 s on a shared 2-core machine at load 3.8
(nodes 0.8 s, edges 4.8 s, BFS 6.0 s, answers 1.9 s, write 0.7 s; 38-61 s at nice 19
under load 4-5), where reading the same edges as key strings took 497 s. The hubs' searches
run in forked worker processes, one per core (up to 4): pure Python, so threads would take
turns. New summaries are written under a new version and the meta node switched to it in
one transaction.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import sys
import time
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import neo4j

from graph.tools.vocab import (
    BLAST_CATEGORIES,
    HOSTED_ON,
    LARGE_TWIN_NODES,
    TIMED_EDGES,
    TRAVERSABLE,
    TWIN_NODES_QUERY,
    category_case,
)

SUMMARY = "ReachSummary"
META = "ReachMeta"
HUB_DEGREE = 200
MAX_DEGREE_HUBS = 64
READ_TIMEOUT_S = 3600
MIN_NODES = LARGE_TWIN_NODES  # twins smaller than this get no summaries (the search is cheap there)
MAX_HOPS = 8
EXAMPLES = 25
STATIC_EDGES: tuple[str, ...] = tuple(t for t in TRAVERSABLE if t not in TIMED_EDGES)

# The categories of blast_radius, first match wins; CATEGORIES is their order in
# ReachMeta.cats (one byte per node).
CATEGORIES: tuple[str, ...] = BLAST_CATEGORIES
_CATEGORY = category_case("n")


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
    """The static attack edges and what the summaries need of each node, read once, as
    integers: node i is keys[i], and keys are sorted, so ordering by index is ordering by
    key (the examples' tie-break) without comparing strings. Out-edges of i are
    out[i], each encoded as target << 6 | type index (STATIC_EDGES has fewer than 64)."""

    keys: list[str] = field(default_factory=list)
    category: list[str | None] = field(default_factory=list)  # None: not a :Twin node
    out: list[list[int]] = field(default_factory=list)
    hosted: dict[int, list[int]] = field(default_factory=dict)  # host -> data assets on it
    tier0: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


_TYPE_BITS = 6
_TYPE_MASK = (1 << _TYPE_BITS) - 1
assert len(STATIC_EDGES) <= _TYPE_MASK


def _rows(s: neo4j.Session, query: str, **params) -> neo4j.Record:
    """One record of collected lists: streamed one record per node, the 188k nodes of the
    24k-host twin took 92 s to read; as three lists, 2.3 s."""
    return s.run(neo4j.Query(query, timeout=READ_TIMEOUT_S), params).single(strict=True)


def read_graph(driver: neo4j.Driver, database: str | None) -> Graph:
    """The nodes once (id, key, category), then the static edges one type at a time as two
    lists of internal ids: 1.8M string-keyed rows took 497 s at 24k hosts, the same edges
    as integer lists 6 s. id() is deprecated in Neo4j 5 but is the one integer handle on a
    node (elementId is a string); its notice, and the one for a type no edge has yet, are
    silenced. Unbounded in time: the server's default transaction timeout is for
    interactive reads."""
    g = Graph()
    t0 = time.perf_counter()
    with driver.session(database=database, notifications_min_severity="OFF") as s:
        r = _rows(s, f"MATCH (n:Twin) WHERE n.key IS NOT NULL "
                     f"RETURN collect(id(n)) AS i, collect(n.key) AS k, collect({_CATEGORY}) AS c")
        nodes = sorted(zip(r["k"], r["i"], r["c"], strict=True))
        index = {}
        for i, (k, nid, c) in enumerate(nodes):
            index[nid] = i
            g.keys.append(k)
            g.category.append(c)
        g.out = [[] for _ in g.keys]
        t1 = time.perf_counter()
        out = g.out
        for t, name in enumerate(STATIC_EDGES):
            parts = _parts(s, name)
            for part in range(parts):
                r = _rows(s, f"MATCH (a:Twin)-[:{name}]->(b:Twin) WHERE id(a) % $parts = $part "
                             "RETURN collect(id(a)) AS a, collect(id(b)) AS b", parts=parts, part=part)
                for a, b in zip(r["a"], r["b"], strict=True):
                    ia, ib = index.get(a), index.get(b)
                    if ia is not None and ib is not None:
                        out[ia].append(ib << _TYPE_BITS | t)
        t2 = time.perf_counter()
        hosted: dict[int, list[int]] = defaultdict(list)
        r = _rows(s, "MATCH (d:DataAsset:Twin)-[:HostedOn]->(x:Twin) RETURN collect(id(d)) AS d, collect(id(x)) AS x")
        for d, x in zip(r["d"], r["x"], strict=True):
            if d in index and x in index:
                hosted[index[x]].append(index[d])
        g.hosted = {x: sorted(ds) for x, ds in hosted.items()}
        r = _rows(s, "MATCH (n:Twin) WHERE n.tier0 = true RETURN collect(id(n)) AS i")
        g.tier0 = sorted(index[i] for i in r["i"] if i in index)
    for edges in out:
        edges.sort()
    g.timings = {"nodes": t1 - t0, "edges": t2 - t1, "rest": time.perf_counter() - t2}
    return g


def _parts(s: neo4j.Session, rel: str) -> int:
    """Queries for one type's edges: each collects at most ~500k pairs, a few tens of MB
    of the server's transaction memory (the count comes from the count store, free)."""
    n = s.run(f"MATCH ()-[:{rel}]->() RETURN count(*) AS n").single(strict=True)["n"]
    return n // 500_000 + 1


def bfs(g: Graph, hub: int, max_hops: int = MAX_HOPS) -> tuple[bytearray, list[int], list[list[int]]]:
    """Hop distance of every node within max_hops of hub (255: beyond), one shortest-path
    predecessor edge per reached node (pred << 6 | type), and the nodes by level."""
    dist = bytearray(b"\xff") * len(g.keys)
    pred = [-1] * len(g.keys)
    dist[hub] = 0
    levels = [[hub]]
    out = g.out
    for d in range(1, max_hops + 1):
        nxt = []
        for a in levels[-1]:
            via = a << _TYPE_BITS
            for e in out[a]:
                b = e >> _TYPE_BITS
                if dist[b] == 255:
                    dist[b] = d
                    pred[b] = via | (e & _TYPE_MASK)
                    nxt.append(b)
        if not nxt:
            break
        levels.append(nxt)
    return dist, pred, levels


def _path(g: Graph, pred: list[int], x: int) -> tuple[list[str], list[str]]:
    nodes, edges = [g.keys[x]], []
    while pred[x] >= 0:
        p = pred[x]
        x = p >> _TYPE_BITS
        nodes.append(g.keys[x])
        edges.append(STATIC_EDGES[p & _TYPE_MASK])
    return nodes[::-1], edges[::-1]


def answers(g: Graph, hub: int, dist: bytearray, pred: list[int], levels: list[list[int]],
            hosted_assets: set[int]) -> dict[str, dict]:
    """The blast radius answer for each hop bound, as radius.blast_radius would give it:
    {str(h): {"categories": {cat: {"total", "examples"}}, "by_last_edge": {...}}}."""
    by_level: list[dict[str, list[int]]] = [defaultdict(list) for _ in range(MAX_HOPS + 1)]
    last_by_level: list[Counter] = [Counter() for _ in range(MAX_HOPS + 1)]
    category = g.category
    for d, level in enumerate(levels):
        if d == 0:
            continue
        cats, last = by_level[d], last_by_level[d]
        types: Counter = Counter()
        for x in level:
            c = category[x]
            if c is None or x in hosted_assets:
                continue
            cats[c].append(x)
            types[pred[x] & _TYPE_MASK] += 1
        for t, n in types.items():
            last[STATIC_EDGES[t]] = n
        for keys in cats.values():
            keys.sort()
    # Data assets come either as a node reached (its own distance) or one hop past the
    # host they live on (HostedOn, reached at 1..h): which is nearer depends on h.
    via_host: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for host, ds in g.hosted.items():
        if host != hub and dist[host] != 255:
            for a in ds:
                if a != hub:
                    via_host[a].append((dist[host], host))
    assets = sorted({a for a in hosted_assets if a != hub and dist[a] != 255} | set(via_host))
    out: dict[str, dict] = {}
    for h in range(1, MAX_HOPS + 1):
        cats: dict[str, dict] = {}
        last: Counter = Counter()
        for d in range(1, h + 1):
            for cat, keys in by_level[d].items():
                c = cats.setdefault(cat, {"total": 0, "items": []})
                c["total"] += len(keys)
                if len(c["items"]) < EXAMPLES:
                    c["items"] += [(d, g.keys[k], k) for k in keys[: EXAMPLES - len(c["items"])]]
            last.update(last_by_level[d])
        for a in assets:
            options = []
            if 1 <= dist[a] <= h:
                options.append(_path(g, pred, a))
            for dh, host in sorted(via_host.get(a, ())):
                if dh <= h:
                    n, e = _path(g, pred, host)
                    options.append((n + [g.keys[a]], e + [HOSTED_ON]))
            if not options:
                continue
            nodes, edges = min(options, key=lambda ne: (len(ne[1]), ne[0]))
            c = cats.setdefault(g.category[a], {"total": 0, "items": []})
            c["total"] += 1
            c["items"].append((len(edges), g.keys[a], nodes, edges))
            last[edges[-1]] += 1
        for c in cats.values():
            items = sorted(it if len(it) == 4 else (it[0], it[1], *_path(g, pred, it[2])) for it in c["items"])
            c["examples"] = [{"key": k, "hops": hp, "nodes": n, "edges": e} for hp, k, n, e in items[:EXAMPLES]]
            del c["items"]
        out[str(h)] = {"categories": cats, "by_last_edge": dict(last)}
    return out


def hubs(g: Graph, min_degree: int) -> list[int]:
    """Tier-0 nodes, and the MAX_DEGREE_HUBS nodes with most static attack edges out
    (at least min_degree)."""
    wide = sorted((i for i, out in enumerate(g.out) if len(out) >= min_degree), key=lambda i: (-len(g.out[i]), i))
    return sorted(set(g.tier0) | set(wide[:MAX_DEGREE_HUBS]))


def refresh(driver: neo4j.Driver, database: str | None = None, *, force: bool = False,
            min_degree: int | None = None) -> dict:
    """Recompute the summaries when the twin changed since the last ones (or `force`)."""
    t0 = time.perf_counter()
    min_degree = HUB_DEGREE if min_degree is None else min_degree
    if driver.execute_query(TWIN_NODES_QUERY, database_=database).records[0]["c"] < MIN_NODES:
        # Small twins: the search is cheap and the refresh is not (60 s at 2.4k hosts
        # under load); no summaries, so every call searches. Checked before the
        # fingerprint, whose forty-odd counts cost a second of planning on a cold server.
        driver.execute_query(f"MATCH (s:{SUMMARY}|{META}) DETACH DELETE s", database_=database)
        return {"refreshed": False, "seconds": round(time.perf_counter() - t0, 3)}
    fp = fingerprint(driver, database)
    old = driver.execute_query(f"MATCH (m:{META}) RETURN m.fingerprint AS fp", database_=database).records
    if not force and old and old[0]["fp"] == fp:
        return {"refreshed": False, "seconds": round(time.perf_counter() - t0, 3)}
    g = read_graph(driver, database)
    t1 = time.perf_counter()
    keys = hubs(g, min_degree)
    rows, t_bfs, t_answers = hub_rows(g, keys)
    t2 = time.perf_counter()
    # Distances travel as one byte per node against one shared key list (ReachMeta.keys):
    # on a 24k-host twin a hub's map as JSON is 3.5 MB, as bytes 140 kB.
    write(driver, database, fp, g.keys, rows, universe_extras(g))
    t3 = time.perf_counter()
    timings = {**g.timings, "bfs": t_bfs, "answers": t_answers, "hubs": t2 - t1, "write": t3 - t2}
    return {"refreshed": True, "hubs": len(keys), "seconds": round(t3 - t0, 3),
            "timings": {k: round(v, 3) for k, v in timings.items()}}


# The graph the pool's workers search, set in the parent just before they fork (they
# inherit it; nothing of it is pickled).
_FORKED: tuple[Graph, set[int]] | None = None


def _hub_row(hub: int) -> tuple[dict, float, float]:
    g, hosted_assets = _FORKED  # type: ignore[misc]
    ta = time.perf_counter()
    dist, pred, levels = bfs(g, hub)
    tb = time.perf_counter()
    row = {"hub": g.keys[hub], "answers": json.dumps(answers(g, hub, dist, pred, levels, hosted_assets)),
           "dist": bytes(dist), "pred": pred_bytes(pred), "reached": sum(map(len, levels)) - 1}
    return row, tb - ta, time.perf_counter() - tb


def search_workers(hubs_n: int) -> int:
    """Processes for the hubs' searches: one per core the process may use (at most 4),
    when there are enough hubs to share and the platform can fork. The search is pure
    Python, so threads would take turns; forked workers inherit the graph read once.
    Forking a process that runs threads (the Neo4j driver's pool, DuckDB) is safe here
    only because a worker touches nothing but the in-memory graph (no socket, no lock,
    no store) and leaves through multiprocessing's `os._exit`, running no atexit hook."""
    if hubs_n < 8 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, 4, hubs_n // 4))


def hub_rows(g: Graph, keys: list[int], workers: int | None = None) -> tuple[list[dict], float, float]:
    """Each hub's summary row (in `keys` order), and the seconds spent in the searches and
    in the answers (summed over workers). The same rows whatever `workers` is (tested)."""
    global _FORKED
    workers = search_workers(len(keys)) if workers is None else workers
    _FORKED = (g, {a for ds in g.hosted.values() for a in ds})
    try:
        if workers > 1:
            gc.freeze()  # the graph's objects stay shared with the workers, not copied by their collector
            try:
                with multiprocessing.get_context("fork").Pool(workers) as pool:
                    out = pool.map(_hub_row, keys, chunksize=1)
            finally:
                gc.unfreeze()
        else:
            out = [_hub_row(k) for k in keys]
    finally:
        _FORKED = None
    return [r for r, _, _ in out], sum(b for _, b, _ in out), sum(a for _, _, a in out)


def pred_bytes(pred: list[int]) -> bytes:
    """The BFS tree as 4 little-endian bytes per node: predecessor index << 6 | edge type
    (index in STATIC_EDGES), 0xFFFFFFFF where unreached or the hub itself. A start
    composed through this hub (graph/tools/radius_summary.py) reads its paths and last
    edges from it instead of searching from the hub again."""
    arr = array("I", (0xFFFFFFFF if p < 0 else p for p in pred))
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tobytes()


def read_pred(data: bytes) -> array:
    arr = array("I")
    arr.frombytes(data)
    if sys.byteorder == "big":
        arr.byteswap()
    return arr


def universe_extras(g: Graph) -> dict:
    """What a start that is not a hub needs besides the hubs' distances: each node's
    category (a byte, index in CATEGORIES) and the data assets on each host, as flat
    [host, asset, host, asset, ...] indexes into the key list."""
    index = {c: i for i, c in enumerate(CATEGORIES)}
    cats = bytes(index.get(c, 255) if c is not None else 255 for c in g.category)
    hosted = [i for host, assets in sorted(g.hosted.items()) for a in assets for i in (host, a)]
    return {"cats": cats, "hosted": hosted}


def write(driver: neo4j.Driver, database: str | None, fp: str, universe: list[str], rows: list[dict],
          extras: dict | None = None) -> None:
    """Write the new summaries under a new version, then point the meta node at it, then
    drop the old: a reader (which follows the meta's version) sees the old set or the
    new, and a refresh cut short leaves only unreferenced nodes the next one removes."""
    version = time.time_ns()
    for i in range(0, len(rows), 8):
        driver.execute_query(f"UNWIND $rows AS r CREATE (s:{SUMMARY}) SET s = r, s.version = $v",
                             rows=rows[i:i + 8], v=version, database_=database)

    def switch(tx: neo4j.ManagedTransaction) -> None:
        tx.run(f"MATCH (m:{META}) DETACH DELETE m").consume()
        tx.run(f"CREATE (m:{META} {{fingerprint: $fp, version: $v, hubs: $n, keys: $keys}}) SET m += $extras",
               fp=fp, v=version, n=len(rows), keys=universe, extras=extras or {}).consume()

    with driver.session(database=database) as s:
        s.execute_write(switch)
    driver.execute_query(f"MATCH (s:{SUMMARY}) WHERE s.version <> $v DETACH DELETE s", v=version, database_=database)


def changed_kinds_need_refresh(kinds: Iterable[str]) -> bool:
    """An ingest that wrote a static attack edge, HostedOn or a node may have moved an
    edge without changing the counts the fingerprint reads: recompute then."""
    watched = {*STATIC_EDGES, HOSTED_ON}
    return any(k in watched for k in kinds)
