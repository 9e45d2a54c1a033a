"""Blast radius answered from the reachability summaries (graph/derive/reach.py).

A hub (tier 0, the widest starts) reads its stored answer. Any other start is composed:
one breadth-first search from it that does not expand through hubs (every path's
interior avoids them), then, for each hub it meets at k hops, the hub's stored distances
within the remaining max_hops - k. That is exact: a shortest path from the start either
has no hub inside it (the local search finds it) or has a first hub h, before which it
is a hub-free path to h and after which a shortest path from h (the stored distance).
The summaries are of the static edges; a timed edge live in the window (a session, a
flow) that shortens a distance makes its far end one more start of the same search,
relaxed until nothing shortens (Bellman-Ford over these segments), and a hub whose stored
answer such an edge would change is composed the same way. The counts, the nearest
examples (their paths pieced from the searches and the hubs' trees) and the last edges
follow. From the alert's own user on a 24k-host twin the full search reached Domain
Admins within four hops and then the whole estate (a 10 s timeout); composed, 0.2-0.5 s.

The answer is refused (None: the caller runs the full search) when the twin changed since
the summaries (fingerprint), or a stored piece is missing or disagrees with the twin (a
path piece whose length is not the distance it was recorded with), or the work passes its
bounds (100k nodes short of the hubs, 32 rounds, 200k live timed edges).
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graph.derive import reach
from graph.tools.paths import LIVE_EDGE, TRAVERSE, check_int, path_params
from graph.tools.vocab import HOSTED_ON, TIMED_EDGES, rel_alternation

if TYPE_CHECKING:
    from graph.tools.base import Toolbox

_TOOL = "blast_radius"
_LIVE_CAP = 200_000
_LOCAL_CAP = 100_000  # nodes a composed start may reach without passing a hub
_TYPE_MASK = 63  # reach.py packs a tree edge as predecessor << 6 | type
_NONE = 0xFFFFFFFF


def _summary_query() -> str:
    return ("CALL () { " + reach.fingerprint_query() + " }\n"
            f"OPTIONAL MATCH (m:{reach.META})\n"
            f"OPTIONAL MATCH (s:{reach.SUMMARY} {{hub: $key}}) WHERE s.version = m.version\n"
            "RETURN fp, m.fingerprint AS stored, m.version AS version, s.answers AS answers")


_LIVE_TIMED = (
    f"MATCH (u)-[r:{rel_alternation(sorted(TIMED_EDGES))}]->(v) "
    "WHERE $lo IS NULL OR (r.firstseen <= $hi AND r.lastseen >= $lo) RETURN u.key AS u, v.key AS v, type(r) AS t"
)


def local_query(max_hops: int) -> str:
    """Shortest paths from each seed whose every hop leaves a node that is not a hub: the
    search stops at a hub instead of going on through it. One query for all the seeds of
    a round, each within its own budget of hops."""
    h = check_int(max_hops, 1, 10, "max_hops")
    return f"""
UNWIND $seeds AS sd
MATCH (s:Twin {{key: sd.key}})
MATCH p = SHORTEST 1 (s) ((a)-[r:{TRAVERSE} WHERE {LIVE_EDGE}]->(b) WHERE NOT a.key IN $hubs){{1,{h}}} (x:Twin)
WHERE x <> s AND length(p) <= sd.budget
RETURN sd.key AS seed, x.key AS key, [n IN nodes(p) | n.key] AS ns, [q IN relationships(p) | type(q)] AS es
"""


@dataclass
class Universe:
    """One summary version's node list and what a composed answer reads of each node."""

    keys: list[str]
    index: dict[str, int]
    cats: bytes
    hosted: dict[int, list[int]]      # host -> data assets on it
    hosted_assets: frozenset[int]
    hubs: list[str]
    hub_data: dict[str, tuple[bytes, array | None, list[list[int]]]] = field(default_factory=dict)


_UNIVERSE: dict[tuple, Universe] = {}


def _universe(tb: Toolbox, version: int) -> Universe | None:
    """The meta node's key list, categories and hosted assets, and the hub keys, read once
    per summary version (a refresh writes a new version). None on summaries written
    before categories were kept: the search answers until the next refresh."""
    ck = (tb.database, version)
    if ck not in _UNIVERSE:
        rows = tb.rows(_TOOL, f"MATCH (m:{reach.META}) WHERE m.version = $v "
                       f"RETURN m.keys AS keys, m.cats AS cats, m.hosted AS hosted, "
                       f"COLLECT {{ MATCH (s:{reach.SUMMARY}) WHERE s.version = $v RETURN s.hub }} AS hubs",
                       {"v": version}, row_cap=2, raw=True)
        if not rows or rows[0]["cats"] is None or rows[0]["hosted"] is None:
            return None
        r = rows[0]
        hosted: dict[int, list[int]] = {}
        flat = r["hosted"]
        for i in range(0, len(flat), 2):
            hosted.setdefault(flat[i], []).append(flat[i + 1])
        _UNIVERSE.clear()
        _UNIVERSE[ck] = Universe(keys=r["keys"], index={k: i for i, k in enumerate(r["keys"])}, cats=bytes(r["cats"]),
                                 hosted=hosted, hosted_assets=frozenset(a for v in hosted.values() for a in v),
                                 hubs=sorted(r["hubs"]))
    return _UNIVERSE[ck]


def _hub(tb: Toolbox, u: Universe, version: int, key: str) -> tuple[bytes, array | None, list[list[int]]] | None:
    """A hub's distances, shortest-path tree (None on summaries written before it was
    kept) and nodes by distance; kept for 16 hubs."""
    if key not in u.hub_data:
        rows = tb.rows(_TOOL, f"MATCH (s:{reach.SUMMARY} {{hub: $key}}) WHERE s.version = $v "
                       "RETURN s.dist AS dist, s.pred AS pred", {"key": key, "v": version}, row_cap=2, raw=True)
        if not rows or rows[0]["dist"] is None or len(rows[0]["dist"]) != len(u.keys):
            return None
        dist = bytes(rows[0]["dist"])
        pred = reach.read_pred(bytes(rows[0]["pred"])) if rows[0]["pred"] is not None else None
        if pred is not None and len(pred) != len(u.keys):
            pred = None
        levels: list[list[int]] = [[] for _ in range(reach.MAX_HOPS + 1)]
        for i, d in enumerate(dist):
            if d != 255:
                levels[d].append(i)
        while len(u.hub_data) >= 16:
            u.hub_data.pop(next(iter(u.hub_data)))
        u.hub_data[key] = (dist, pred, levels)
    return u.hub_data[key]


def _live_edges(tb: Toolbox, lo: int | None, hi: int | None) -> list[dict] | None:
    got = tb.run(_TOOL, _LIVE_TIMED, {"lo": lo, "hi": hi}, row_cap=_LIVE_CAP)
    return None if got.truncated else got.rows


def _shortened(u: Universe, dist: bytes, live: list[dict], budget: int) -> bool:
    """A live timed edge u -> v with d(u) < budget and d(v) > d(u) + 1: the stored
    distances are not those of the graph in this window."""
    for e in live:
        iu = u.index.get(e["u"])
        if iu is None or dist[iu] >= budget:
            continue
        iv = u.index.get(e["v"])
        if iv is None or dist[iv] > dist[iu] + 1:
            return True
    return False


def summary_answer(tb: Toolbox, key: str, max_hops: int, lo: int | None, hi: int | None,
                   examples: int | None = None) -> dict | None:
    """The blast radius answer ({"categories", "by_last_edge"}, as stored by reach.py) from
    the summaries, or None when the exhaustive query must run. A hub whose distances no
    live timed edge shortens reads its stored answer; every other start is composed."""
    # Twins under reach.MIN_NODES have no summaries: one look at the meta node, not the
    # fingerprint's forty-odd counts (whose planning alone costs a cold server a second).
    if not tb.rows(_TOOL, f"MATCH (m:{reach.META}) RETURN m.version AS version", row_cap=2):
        return None
    rows = tb.rows(_TOOL, _summary_query(), {"key": key}, row_cap=2)
    if not rows or rows[0]["stored"] is None or rows[0]["stored"] != json.dumps(rows[0]["fp"]):
        return None
    version = rows[0]["version"]
    examples = examples or reach.EXAMPLES
    if rows[0]["answers"] is None:
        return composed_answer(tb, key, max_hops, lo, hi, version, examples)
    live = _live_edges(tb, lo, hi)
    if live is None:
        return None
    if live:
        u = _universe(tb, version)
        hub = _hub(tb, u, version, key) if u is not None else None
        if hub is None:
            return None
        if _shortened(u, hub[0], live, max_hops):
            return composed_answer(tb, key, max_hops, lo, hi, version, examples, live)
    return json.loads(rows[0]["answers"])[str(max_hops)]


_MAX_ROUNDS = 32  # batched searches one composed answer may run (the start, then live edges' far ends)


def composed_answer(tb: Toolbox, key: str, max_hops: int, lo: int | None, hi: int | None, version: int,
                    examples: int, live: list[dict] | None = None) -> dict | None:
    """Distances from the start over the static edges and the timed edges live in the
    window, built from three pieces: a search that stops at hubs (from the start, and
    from the far end of every live timed edge that shortens a distance), the stored
    distances of each hub met, and the live timed edges themselves; relaxed until
    nothing shortens, as Bellman-Ford over those segments. The answer also says how many
    reached nodes came from a hub's distances (`via_hubs`) and how many were reached
    last over a live timed edge that shortened their distance (`via_live_edges`)."""
    u = _universe(tb, version)
    if u is None or key not in u.index:
        return None
    start = u.index[key]
    hub_set = set(u.hubs)
    # best[i] = (hops, how): ("S",) the start; ("L", seed, nodes, edges) by a search from
    # seed; ("H", hub, k) the hub's tree from the hub at k hops; ("T", u, type) one live edge on.
    best: dict[int, tuple] = {start: (0, ("S",))}
    seeds = {start}
    rounds = 0
    live_ix: list[tuple[int, int, str]] | None = None
    while seeds:
        while seeds:
            batch: dict[str, int] = {}
            for x in sorted(seeds):
                k = best[x][0]
                if k >= max_hops:
                    continue
                if u.keys[x] in hub_set:
                    if not _expand_hub(tb, u, version, x, k, max_hops, best, start):
                        return None
                else:
                    batch[u.keys[x]] = k
            seeds = set()
            if not batch:
                break
            rounds += 1
            if rounds > _MAX_ROUNDS:
                return None
            params = {**path_params(lo=lo, hi=hi), "hubs": u.hubs,
                      "seeds": [{"key": x, "budget": max_hops - k} for x, k in batch.items()]}
            got = tb.run(_TOOL, local_query(max_hops - min(batch.values())), params, row_cap=_LOCAL_CAP)
            if got.truncated:
                return None
            for r in got.rows:
                x, y = u.index.get(r["seed"]), u.index.get(r["key"])
                if x is None or y is None:  # a node newer than the summaries the fingerprint did not see
                    return None
                hops = batch[r["seed"]] + len(r["es"])
                if y != start and hops < best.get(y, (255,))[0]:
                    best[y] = (hops, ("L", x, r["ns"], r["es"]))
                    if u.keys[y] in hub_set:
                        seeds.add(y)
        if live_ix is None:
            if live is None:
                live = _live_edges(tb, lo, hi)
                if live is None:
                    return None
            live_ix = [(u.index.get(e["u"], -1), u.index.get(e["v"], -1), e.get("t")) for e in live]
        for a, b, t in live_ix:
            if a < 0 or b < 0 or a not in best or b == start:
                continue
            hops = best[a][0] + 1
            if hops <= max_hops and hops < best.get(b, (255,))[0]:
                best[b] = (hops, ("T", a, t))
                seeds.add(b)
    best.pop(start)
    return _tally(tb, u, version, start, best, examples)


def _expand_hub(tb: Toolbox, u: Universe, version: int, h: int, k: int, max_hops: int, best: dict[int, tuple],
                start: int) -> bool:
    hub = _hub(tb, u, version, u.keys[h])
    if hub is None or hub[1] is None:
        return False
    how = ("H", h, k)
    for d in range(1, max_hops - k + 1):
        hops = k + d
        for y in hub[2][d]:
            if y != start and hops < best.get(y, (255,))[0]:
                best[y] = (hops, how)
    return True


def _tally(tb: Toolbox, u: Universe, version: int, start: int, best: dict[int, tuple], examples: int) -> dict | None:
    """Counts by category and last edge, and the nearest examples with their paths; data
    assets also fall one HostedOn past a reached host (the nearer way wins, the direct
    one on a tie, as in the search's ORDER BY size)."""
    items: dict[str, list[tuple]] = {}
    last: Counter = Counter()

    def last_edge(i: int, how: tuple) -> str | None:
        if how[0] == "L":
            return how[3][-1]
        if how[0] == "T":
            return how[2]
        hub = _hub(tb, u, version, u.keys[how[1]])
        return None if hub is None or hub[1] is None else reach.STATIC_EDGES[hub[1][i] & _TYPE_MASK]

    def add(i: int, hops: int, via_host: int | None, edge: str | None) -> bool:
        if edge is None:
            return False
        c = u.cats[i]
        cat = reach.CATEGORIES[c] if c < len(reach.CATEGORIES) else "other"
        items.setdefault(cat, []).append((hops, u.keys[i], i, via_host))
        last[edge] += 1
        return True

    for i, (hops, how) in best.items():
        if i not in u.hosted_assets and not add(i, hops, None, last_edge(i, how)):
            return None
    via: dict[int, tuple[int, str, int]] = {}
    for host in best:
        for a in u.hosted.get(host, ()):
            if a != start:
                cand = (best[host][0] + 1, u.keys[host], host)
                if a not in via or cand < via[a]:
                    via[a] = cand
    for a in sorted(set(via) | {i for i in best if i in u.hosted_assets}):
        direct = best.get(a)
        if direct is not None and (a not in via or direct[0] <= via[a][0]):
            ok = add(a, direct[0], None, last_edge(a, direct[1]))
        else:
            ok = add(a, via[a][0], via[a][2], HOSTED_ON)
        if not ok:
            return None
    chosen = {cat: sorted(v, key=lambda t: (t[0], t[1]))[:examples] for cat, v in items.items()}
    paths: dict[int, tuple[list[str], list[str]]] = {}
    for _, _, i, host in (t for v in chosen.values() for t in v):
        got = _path(tb, u, version, best, start, i if host is None else host)
        if got is None:
            return None
        paths[i] = got if host is None else (got[0] + [u.keys[i]], got[1] + [HOSTED_ON])
    cats = {cat: {"total": len(items[cat]),
                  "examples": [{"key": k, "hops": h, "nodes": paths[i][0], "edges": paths[i][1]} for h, k, i, _ in v]}
            for cat, v in chosen.items()}
    via = Counter(how[0] for _, how in best.values())
    return {"categories": cats, "by_last_edge": dict(last), "via_hubs": via["H"], "via_live_edges": via["T"]}


def _path(tb: Toolbox, u: Universe, version: int, best: dict[int, tuple], start: int,
          x: int) -> tuple[list[str], list[str]] | None:
    """The path to x, pieced back from how each node was reached; None (the search then
    answers) if a piece's length disagrees with the distance it was recorded with."""
    if x == start:
        return [u.keys[x]], []
    if x not in best:
        return None
    hops, how = best[x]
    if how[0] == "L":
        seed, ns, es = how[1], how[2], how[3]
        head = _path(tb, u, version, best, start, seed)
        tail = (ns, es)
    elif how[0] == "T":
        head = _path(tb, u, version, best, start, how[1])
        tail = ([u.keys[how[1]], u.keys[x]], [how[2]])
    else:
        hub = _hub(tb, u, version, u.keys[how[1]])
        head = _path(tb, u, version, best, start, how[1])
        tail = _tree_path(u, hub[1], x, how[1]) if hub is not None and hub[1] is not None else None
    if head is None or tail is None or len(head[1]) + len(tail[1]) != hops:
        return None
    return head[0] + tail[0][1:], head[1] + tail[1]


def _tree_path(u: Universe, pred: array, x: int, hub: int) -> tuple[list[str], list[str]] | None:
    nodes, edges = [u.keys[x]], []
    while x != hub:
        p = pred[x]
        if p == _NONE or len(edges) > reach.MAX_HOPS:
            return None
        x = p >> 6
        nodes.append(u.keys[x])
        edges.append(reach.STATIC_EDGES[p & _TYPE_MASK])
    return nodes[::-1], edges[::-1]
