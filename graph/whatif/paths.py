"""Counting attack paths as exposed (entry point, goal) pairs, inside whatever session
or transaction it is given (graph/MODEL.md, "What-if": what a path is and why pairs).
A simulation counts before and after its change with these, and names the pairs that
changed by their shortest paths."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import neo4j
from pydantic import BaseModel, Field

from graph.tools.base import Limits
from graph.tools.paths import build_path_query, check_int, path_params, rows_to_paths
from graph.tools.vocab import TIMED_EDGES, TRAVERSABLE, rel_alternation
from graph.whatif.errors import WhatIfInputError
from graph.whatif.models import PathOut

_ANCHORS = """
MATCH (g:Twin) WHERE g.key IN $keys
RETURN g.key AS key,
  CASE WHEN g:DataAsset OR g:Application OR g:Service
       THEN COLLECT { MATCH (g)-[:HostedOn]->(h:Computer) RETURN h.key ORDER BY h.key }
            + COLLECT { MATCH (h:Computer)-[:HasService]->(g) RETURN h.key ORDER BY h.key }
       ELSE [g.key] END AS anchors
"""
_ALL_GOALS = """
MATCH (g:Twin) WHERE coalesce(g.tier0, false) OR coalesce(g.crown_jewel, false)
RETURN g.key AS key ORDER BY key LIMIT $cap
"""


class PathScope(BaseModel):
    """Which paths are counted (graph/MODEL.md, "What-if")."""

    goals: list[str] | None = None
    sources: list[str] | None = None
    entry_points: tuple[str, ...] = ("internet", "phishable_users")
    compromised: list[str] = Field(default_factory=list)
    max_hops: int = 6
    as_of: int | None = None
    max_goals: int = 200

    def window(self) -> tuple[int | None, int | None]:
        if self.as_of is None:
            return None, None
        lim = Limits()
        return self.as_of - lim.session_lookback_s, self.as_of + lim.session_lookahead_s

    def params(self) -> dict:
        lo, hi = self.window()
        p = path_params(sources=self.sources, internet="internet" in self.entry_points,
                        phish="phishable_users" in self.entry_points, compromised=self.compromised, lo=lo, hi=hi)
        p["timed"] = sorted(TIMED_EDGES)
        return p

    def describe(self) -> list[str]:
        if self.sources:
            return list(self.sources)
        return [*self.entry_points, *(f"compromised:{k}" for k in self.compromised)]


Run = Callable[..., list[dict]]


def runner(tx_or_session) -> Run:
    """`run(cypher, params, **kw) -> rows` over a session or a transaction alike."""
    def run(query: str, params: dict | None = None, **kw) -> list[dict]:
        return [r.data() for r in tx_or_session.run(query, {**(params or {}), **kw})]
    return run


def resolve_goals(run: Run, scope: PathScope) -> list[dict]:
    """Goal keys and the nodes paths reach them through (their anchors)."""
    keys = scope.goals
    if keys is None:
        keys = [r["key"] for r in run(_ALL_GOALS, cap=scope.max_goals)]
    if not keys:
        return []
    rows = run(_ANCHORS, keys=list(keys))
    found = {r["key"]: r["anchors"] for r in rows}
    return [{"key": k, "anchors": found[k]} for k in keys if k in found]


def reach_query(max_hops: int, timed: bool, only: bool = False) -> str:
    """Per goal, the nodes that reach one of its anchors within max_hops, as internal
    ids. A variable-length expansion keyed on DISTINCT start nodes runs as Neo4j's
    pruning breadth-first search (each node visited once per goal); measured 3-5x
    faster than a SHORTEST path per entry on the 66k-node benchmark twin, where the
    SHORTEST form over 20k+ sources did not finish in 120 s. Ids, not keys, cross the
    wire: a goal can be reached from tens of thousands of nodes. `only`: just the ids in
    $only (the sources), not the 40k others a 24k-host domain is reached from."""
    h = check_int(max_hops, 1, 10, "max_hops")
    t = rel_alternation(TRAVERSABLE)
    when = ("  WHERE all(r IN rs WHERE NOT type(r) IN $timed OR (r.firstseen <= $hi AND r.lastseen >= $lo))\n"
            if timed else "")
    return (
        "UNWIND $goals AS goal\n"
        "CALL (goal) {\n"
        "  MATCH (a:Twin) WHERE a.key IN goal.anchors\n"
        f"  MATCH (s)-[rs:{t}*1..{h}]->(a)\n"
        f"{when}"
        + ("  WITH DISTINCT s WHERE id(s) IN $only\n  RETURN collect(id(s)) AS reach\n" if only else
           "  RETURN collect(DISTINCT id(s)) AS reach\n")
        + "}\n"
        "RETURN goal.key AS goal, reach"
    )


_ENTRY_IDS = """
CALL () {
  MATCH (s:Internet) WHERE $internet RETURN s
  UNION
  MATCH (s:User) WHERE $phish AND coalesce(s.enabled, false) AND NOT coalesce(s.admincount, false)
    AND NOT coalesce(s.tier0, false) RETURN s
  UNION
  MATCH (s:Twin) WHERE s.key IN $compromised RETURN s
}
RETURN collect(id(s)) AS ids
"""
_SOURCE_IDS = "MATCH (s:Twin) WHERE s.key IN $sources RETURN collect(id(s)) AS ids"


def entry_ids(run: Run, scope: PathScope) -> frozenset[int]:
    """The entry points as paths.py defines them (`_ENTRY`), or exactly `sources`."""
    rows = run(_SOURCE_IDS if scope.sources else _ENTRY_IDS, scope.params())
    return frozenset(rows[0]["ids"]) if rows else frozenset()


class Exposure:
    """Which entry points reach which goals: per goal the ids of every node that reaches
    it within the hop bound (its reach), the entry points, and the ids a goal's own
    pairs leave out (its anchors and itself). `partial`: the reach holds only the entry
    points (given sources), so it cannot say which goals a change leaves alone."""

    def __init__(self, reach: dict[str, frozenset[int]], entries: frozenset[int], own: dict[str, frozenset[int]],
                 partial: bool = False):
        self.reach, self.entries, self.own, self.partial = reach, entries, own, partial

    def pairs(self, goal: str) -> frozenset[int]:
        return (self.reach.get(goal, frozenset()) & self.entries) - self.own.get(goal, frozenset())

    def total(self) -> int:
        return sum(len(self.pairs(g)) for g in self.reach)

    def affected(self, changed: set[int]) -> list[str]:
        """Goals a change can alter: one whose reach (or anchors) holds the head of a
        changed traversable edge, or a node whose entry status changed. A removed edge
        lies on a path to the goal only if its head reaches the goal; along a new path,
        the last added edge's head reaches the goal over unchanged edges, so it is in
        the reach as it was before."""
        if self.partial:
            return list(self.reach)
        return [g for g in self.reach if changed & (self.reach[g] | self.own.get(g, frozenset()))]


def goal_ids(run: Run, goals: list[dict]) -> dict[str, frozenset[int]]:
    keys = sorted({k for g in goals for k in [g["key"], *g["anchors"]]})
    ids = {r["k"]: r["i"] for r in run("MATCH (n:Twin) WHERE n.key IN $keys RETURN n.key AS k, id(n) AS i", keys=keys)}
    return {g["key"]: frozenset(ids[k] for k in [g["key"], *g["anchors"]] if k in ids) for g in goals}


# Above this many (source, anchor) searches one search back from each goal costs less.
PAIR_SEARCHES = 64

# An edge counts at the asked time: only the timed kinds (sessions, traffic) have a window.
LIVE = "(NOT type(r) IN $timed OR (r.firstseen <= $hi AND r.lastseen >= $lo))"


def pair_hops(timed: bool, max_hops: int) -> str:
    """The hop pattern of a search between two bound nodes `s` and `a` (1..max_hops)."""
    when = f" WHERE {LIVE}" if timed else ""
    return f"-[r:{rel_alternation(TRAVERSABLE)}{when}]->{{1,{check_int(max_hops, 1, 10, 'max_hops')}}}"


def pair_reach_query(max_hops: int, timed: bool) -> str:
    """Per goal, which of the nodes in $only reach one of its anchors within max_hops: one
    shortest-path search per (source, anchor), both ends bound, so Neo4j searches from
    both sides and stops at the first path. The same set as `reach_query(only=True)`: a
    node reaches an anchor within h hops exactly when a shortest path of 1..h hops joins
    them (a source that is itself an anchor counts when a cycle of 1..h hops returns to
    it, which SHORTEST finds as well). Searching back from a goal walked everything
    within the hop bound behind it: 0.15-0.25 s per goal on the 24k-host twin, against
    0.003-0.005 s this way for three footholds."""
    return (
        "UNWIND $goals AS goal\n"
        "CALL (goal) {\n"
        "  UNWIND $only AS sid\n"
        "  MATCH (s) WHERE id(s) = sid\n"
        "  MATCH (a:Twin) WHERE a.key IN goal.anchors\n"
        "  CALL (s, a) {\n"
        f"    MATCH p = SHORTEST 1 (s){pair_hops(timed, max_hops)}(a)\n"
        "    RETURN 1 AS hit LIMIT 1\n"
        "  }\n"
        "  WITH DISTINCT s\n"
        "  RETURN collect(id(s)) AS reach\n"
        "}\n"
        "RETURN goal.key AS goal, reach"
    )


def reach(run: Run, scope: PathScope, goals: list[dict], only: Iterable[int] | None = None) -> dict[str, frozenset[int]]:
    """Per goal, the ids of the nodes that reach it within the hop bound (only those in
    `only` when given: from a few sources, searched pair by pair)."""
    goals = [g for g in goals if g["anchors"]]
    if not goals:
        return {}
    params = {**scope.params(), "goals": goals}
    timed = scope.as_of is not None
    if only is None:
        query = reach_query(scope.max_hops, timed)
    else:
        params["only"] = sorted(only)
        pairs = len(params["only"]) * max(len(g["anchors"]) for g in goals)
        query = (pair_reach_query(scope.max_hops, timed) if pairs <= PAIR_SEARCHES
                 else reach_query(scope.max_hops, timed, True))
    rows = run(query, params)
    return {r["goal"]: frozenset(r["reach"]) for r in rows}


def exposure(run: Run, scope: PathScope, goals: list[dict]) -> Exposure:
    """Every (entry point, goal) pair with a path, in one session or transaction. From
    given sources only their own reach is read (a partial Exposure)."""
    entries = entry_ids(run, scope)
    if scope.sources:
        return Exposure(reach(run, scope, goals, only=entries), entries, goal_ids(run, goals), partial=True)
    return Exposure(reach(run, scope, goals), entries, goal_ids(run, goals))


def exposure_parallel(driver: neo4j.Driver, database: str | None, scope: PathScope, goals: list[dict],
                      workers: int = 2) -> Exposure:
    """The same, on the committed twin, goals split over `workers` read sessions: the
    before-count of a simulation runs here while its transaction plans and applies the
    change (uncommitted writes are invisible to these sessions)."""
    live = [g for g in goals if g["anchors"]]
    chunks = [live[i::workers] for i in range(max(1, workers))]
    only: frozenset[int] | None = None
    if scope.sources:  # the sources first: each chunk reads only their reach
        with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS, notifications_min_severity="OFF") as s:
            only = entry_ids(runner(s), scope)

    def one(chunk: list[dict]) -> dict[str, frozenset[int]]:
        with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS, notifications_min_severity="OFF") as s:
            return reach(runner(s), scope, chunk, only=only)

    with ThreadPoolExecutor(max_workers=len(chunks) + 1) as pool:
        futs = [pool.submit(one, c) for c in chunks if c]
        with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS, notifications_min_severity="OFF") as s:
            run = runner(s)
            entries, own = entry_ids(run, scope), goal_ids(run, goals)
        out: dict[str, frozenset[int]] = {}
        for f in futs:
            out.update(f.result())
    return Exposure(out, entries, own, partial=only is not None)


def keys_of(run: Run, ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    return {r["i"]: r["k"] for r in run("MATCH (n) WHERE id(n) IN $ids RETURN id(n) AS i, n.key AS k", ids=ids)}


def pair_paths(run: Run, scope: PathScope, pairs: list[tuple[str, str]]) -> list[PathOut]:
    """The shortest path of each (entry, goal) pair, by the attack_paths tool's own query."""
    by_goal: dict[str, list[str]] = defaultdict(list)
    for entry, goal in pairs:
        by_goal[goal].append(entry)
    lo, hi = scope.window()
    out: list[PathOut] = []
    query = build_path_query("pair", 1, scope.max_hops)
    for goal, entries in by_goal.items():
        params = path_params(target=goal, sources=entries, lo=lo, hi=hi, keep=len(entries) * 4 + 4,
                             candidates=len(entries) * 4 + 4)
        paths = rows_to_paths(run(query, params), "from_entry_point", k=len(entries) * 4 + 4)
        seen: set[str] = set()
        for p in paths:
            if p.nodes[0] in seen:
                continue
            seen.add(p.nodes[0])
            out.append(PathOut(nodes=p.nodes, edges=p.edges, goal=goal, cost=p.cost))
    order = {pair: i for i, pair in enumerate(pairs)}
    out.sort(key=lambda p: order.get((p.nodes[0], p.goal), 1 << 30))
    return out


def keys_of_ids(run: Run, keys: Iterable[str]) -> list[int]:
    """Internal ids of the nodes with these keys (what reach sets hold)."""
    rows = run("MATCH (n:Twin) WHERE n.key IN $keys RETURN collect(id(n)) AS ids", keys=sorted(set(keys)))
    return rows[0]["ids"] if rows else []


def name_pairs(run: Run, by_goal: dict[str, frozenset[int]], listed: int) -> list[tuple[str, str]]:
    """The first `listed` (entry key, goal) pairs, by goal then entry key."""
    if listed <= 0:
        return []
    out: list[tuple[str, str]] = []
    for goal in sorted(by_goal):
        ids = sorted(by_goal[goal])[:5000]
        names = keys_of(run, ids)
        out += sorted((names[i], goal) for i in ids if i in names)[: max(0, listed - len(out))]
        if len(out) >= listed:
            break
    return out


def check_hops(value: int) -> int:
    """The hop bound is a literal in the Cypher text: a checked int, or a usage error."""
    try:
        return check_int(value, 1, 10, "max_hops")
    except Exception:
        raise WhatIfInputError("max_hops must be an integer from 1 to 10") from None

