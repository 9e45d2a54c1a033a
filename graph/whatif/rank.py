"""`rank`: single actions ranked by the attack paths they remove to one target, least
breakage first among ties. Candidates come from the shortest paths of the entry points
(ShortestDag), each with an upper bound of what it can remove, so most of them are
never simulated (graph/MODEL.md, "What-if")."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

import neo4j
from neo4j.exceptions import DriverError, Neo4jError

from graph.derive.exploit import parse_port_spec
from graph.timestamps import parse_time
from graph.tools.vocab import LARGE_TWIN_NODES, TRAVERSABLE, TWIN_NODES_QUERY, rel_alternation
from graph.whatif.errors import WhatIfError, WhatIfInputError
from graph.whatif.grammar import Action
from graph.whatif.models import RankedAction
from graph.whatif.paths import (
    LIVE,
    PAIR_SEARCHES,
    PathScope,
    Run,
    check_hops,
    exposure,
    keys_of_ids,
    pair_hops,
    resolve_goals,
    runner,
)
from graph.whatif.sim import simulate

# Effort and disruption a change usually takes, the last tie-breaker of `rank`: fixing
# one ACL or membership is one directory edit; disabling an account or patching is an
# operational change; a firewall change touches every flow of a zone; isolating a host
# stops everything on it.
ACTION_COST: dict[str, float] = {"remove-edge": 1.0, "remove-member": 1.0, "disable": 2.0, "patch": 2.0,
                                 "update": 3.0, "block": 3.0, "isolate": 4.0, "expose": 5.0}


_WHEN = " WHERE " + LIVE


def _pred_query(timed: bool, among: str | None = None) -> str:
    """One layer of the DAG: the edges into the frontier. `among`: from those nodes only,
    found from whichever side has fewer relationships to read ("x": expand from the
    allowed nodes, "y": from the frontier and drop the rest in the server)."""
    t = rel_alternation(TRAVERSABLE)
    when = LIVE if timed else "true"
    if among == "x":
        return ("UNWIND $allowed AS xid\nMATCH (x) WHERE id(x) = xid\n"
                f"MATCH (x)-[r:{t}]->(y) WHERE id(y) IN $frontier AND {when}\n"
                "RETURN id(x) AS x, collect([type(r), id(y), elementId(r)]) AS via")
    keep = " AND id(x) IN $allowed" if among == "y" else ""
    return (
        "UNWIND $frontier AS fid\n"
        "MATCH (y) WHERE id(y) = fid\n"
        f"MATCH (x)-[r:{t}]->(y) WHERE {when}{keep}\n"
        "RETURN id(x) AS x, collect([type(r), id(y), elementId(r)]) AS via"
    )


def _degree_query() -> str:
    """The edges a pruned layer would read from each side, in one round trip: into the
    frontier, and out of the allowed nodes."""
    t = rel_alternation(TRAVERSABLE)
    return ("CALL () { UNWIND $frontier AS i MATCH (n) WHERE id(n) = i "
            f"RETURN sum(COUNT {{ (n)<-[:{t}]-() }}) AS into }}\n"
            "CALL () { UNWIND $allowed AS i MATCH (n) WHERE id(n) = i "
            f"RETURN sum(COUNT {{ (n)-[:{t}]->() }}) AS out }}\n"
            "RETURN into, out")


class ForwardBall:
    """The nodes within r forward hops of the entry points, for every r up to `radius`,
    grown while it stays under `cap` nodes (a foothold or three, not the whole internet
    side). ShortestDag uses it to skip the nodes of its outer layers that no entry point's
    shortest path can cross."""

    def __init__(self, run: Run, scope: PathScope, entries: Iterable[int], cap: int = 5000,
                 radius: int | None = None) -> None:
        """`radius`: no farther than this (default max_hops - 1, all a DAG can ask for)."""
        self.dist: dict[int, int] = {e: 0 for e in entries}
        self.radius = 0
        if not self.dist or len(self.dist) > cap:
            self.radius = -1
            return
        t = rel_alternation(TRAVERSABLE)
        when = _WHEN if scope.as_of is not None else ""
        query = ("UNWIND $frontier AS fid\nMATCH (x) WHERE id(x) = fid\n"
                 f"MATCH (x)-[r:{t}]->(y){when}\nRETURN DISTINCT id(y) AS y LIMIT $limit")
        frontier = sorted(self.dist)
        last = scope.max_hops - 1 if radius is None else min(radius, scope.max_hops - 1)
        for r in range(1, last + 1):
            limit = cap + len(self.dist) + 1
            rows = run(query, {**scope.params(), "frontier": frontier, "limit": limit})
            if len(rows) >= limit:  # this layer is cut off: radius r is not known in full
                return
            frontier = sorted({row["y"] for row in rows} - self.dist.keys())
            self.dist.update((y, r) for y in frontier)
            self.radius = r
            if not frontier:  # everything the entry points reach is in
                self.radius = scope.max_hops
                return
            if len(self.dist) > cap:
                return

    def within(self, r: int) -> list[int]:
        return sorted(n for n, d in self.dist.items() if d <= r)


def _depth_query(timed: bool, max_hops: int) -> str:
    return ("UNWIND $entries AS eid\nMATCH (s) WHERE id(s) = eid\n"
            "UNWIND $anchors AS aid\nMATCH (a) WHERE id(a) = aid\n"
            "CALL (s, a) {\n"
            "  WITH s, a WHERE s = a RETURN 0 AS n\n"
            "  UNION\n"
            f"  WITH s, a WHERE s <> a MATCH p = SHORTEST 1 (s){pair_hops(timed, max_hops)}(a) RETURN length(p) AS n\n"
            "}\n"
            "WITH s, min(n) AS d\n"
            "RETURN max(d) AS depth, count(s) AS reached")


def entry_depth(run: Run, scope: PathScope, entries: Iterable[int], anchors: Iterable[int]) -> int | None:
    """The farthest of the entry points' hop distances to the nearest anchor (an anchor
    is at 0), by one shortest-path search per (entry point, anchor), both ends bound;
    None when that is more than PAIR_SEARCHES searches or some entry point reaches no
    anchor within the bound (the DAG then prunes by max_hops, as it would without it)."""
    entries, anchors = sorted(set(entries)), sorted(set(anchors))
    if not entries or not anchors or len(entries) * len(anchors) > PAIR_SEARCHES:
        return None
    rows = run(_depth_query(scope.as_of is not None, check_hops(scope.max_hops)),
               {**scope.params(), "entries": entries, "anchors": anchors})
    if not rows or rows[0]["reached"] != len(entries) or rows[0]["depth"] is None:
        return None
    return int(rows[0]["depth"])


class ShortestDag:
    """Every shortest path towards the anchors, within the hop bound, as a layered DAG:
    for each node the edges that start one of its shortest paths. Built one layer per
    query; a SHORTEST path per entry point is far slower when tens of thousands of entry
    points reach a goal (see reach_query).

    Its dominators give each candidate a tight upper bound: an entry point loses every
    path only if every shortest path of it crossed what the action removes, i.e. only if
    that node dominates it (or that edge is the only way out of a node that does)."""

    ROOT = -1

    def __init__(self, run: Run, scope: PathScope, anchor_ids: set[int], until: Iterable[int] | None = None,
                 ball: ForwardBall | None = None, depth: int | None = None) -> None:
        """`until`: the entry points that matter. Layers stop once all are in: a node first
        met after them is farther from the anchors than each of them, so it lies on none
        of their shortest paths, and nothing computed for them (successors, dominators)
        reads it. From the domain of a 24k-host twin that is two layers instead of six.

        `ball` (ForwardBall of those entry points): layer L keeps only nodes within
        max_hops - L forward hops of an entry point. Exact for everything read about the
        entry points: a node x on a shortest path of entry e within the bound has
        dist(e, x) = dist(e, anchors) - L <= max_hops - L, so it is kept, at its true
        layer (its successor on that path is kept too); each of its DAG successors y is
        on a shortest path of e as well (dist(e, y) <= dist(e, x) + 1 and dist(y) = L - 1),
        so succ[x] is complete; and a node the pruning puts on too late a layer is never
        a successor of one at its true layer. From the domain of a 24k-host twin toward
        three footholds: the last layer is the footholds instead of 38k nodes.

        `depth` (`entry_depth`): the farthest of the entry points' distances to the
        anchors, when known. The same argument holds with depth for max_hops (every
        entry point's distance is at most it), so layer L keeps only nodes within
        depth - L hops, and the ball need not grow past depth - 1."""
        self.succ: dict[int, list[tuple[str, int, str]]] = {a: [] for a in anchor_ids}
        self.order: list[int] = sorted(anchor_ids)
        frontier = sorted(anchor_ids)
        timed = scope.as_of is not None
        wanted = set(until) if until is not None else None
        seen: set[int] = set(self.succ)
        bound = scope.max_hops if depth is None else min(depth, scope.max_hops)
        for layer in range(1, scope.max_hops + 1):
            if not frontier or (wanted is not None and wanted <= self.succ.keys()):
                break
            params = {**scope.params(), "frontier": frontier}
            if ball is not None and 0 <= bound - layer <= ball.radius:
                params["allowed"] = [n for n in ball.within(bound - layer) if n not in seen]
                if not params["allowed"]:
                    break
                sides = run(_degree_query(), frontier=frontier, allowed=params["allowed"])[0]
                query = _pred_query(timed, "x" if (sides["out"] or 0) < (sides["into"] or 0) else "y")
            else:
                query = _pred_query(timed)
            nxt = []
            for row in run(query, params):
                if row["x"] not in seen:
                    self.succ[row["x"]] = sorted((v[0], v[1], v[2]) for v in row["via"])
                    nxt.append(row["x"])
            seen.update(nxt)
            nxt.sort()
            self.order += nxt
            frontier = nxt
        self.idom: dict[int, int] = {}
        depth: dict[int, int] = {self.ROOT: 0}
        for x in self.order:  # successors come first: they sit one layer closer to the anchors
            ys = [y for _, y, _ in self.succ[x]]
            if not ys:
                d = self.ROOT
            else:
                d = ys[0]
                for y in ys[1:]:
                    d = self._lca(d, y, depth)
            self.idom[x] = d
            depth[x] = depth[d] + 1

    def _lca(self, a: int, b: int, depth: dict[int, int]) -> int:
        while a != b:
            if depth[a] >= depth[b]:
                a = self.idom.get(a, self.ROOT)
            else:
                b = self.idom.get(b, self.ROOT)
        return a

    def dominated(self, entries: Iterable[int]) -> dict[int, int]:
        """node id -> how many entry points it dominates (itself included)."""
        cnt: Counter[int] = Counter({e: 1 for e in entries if e in self.succ})
        for x in reversed(self.order):
            if cnt[x]:
                cnt[self.idom[x]] += cnt[x]
        return cnt

    def tree_paths(self, entries: Iterable[int]) -> list[list[tuple[int, str, int, str]]]:
        """One shortest path per entry point, as steps (src id, type, dst id, edge id)."""
        out = []
        for e in sorted(entries):
            steps, node = [], e
            while self.succ.get(node):
                rtype, nxt, eid = self.succ[node][0]
                steps.append((node, rtype, nxt, eid))
                node = nxt
            if steps:
                out.append(steps)
        return out


class _Candidate:
    __slots__ = ("action", "bound")

    def __init__(self, action: Action, bound: int) -> None:
        self.action = action
        self.bound = bound


def _candidates(run: Run, dag: ShortestDag, entries: frozenset[int], own: set[int],
                pool: int) -> dict[tuple[str, ...], _Candidate]:
    """Single actions that cut the paths, each with an upper bound of the entry points it
    can cut off: the smaller of the shortest-path dominator count (see ShortestDag) and
    the number of tree paths crossing what it removes (a disconnected entry point's
    tree path is one of its shortest paths, so it crosses it too). Only the `pool`
    nodes and edges with the highest bounds become actions."""
    paths = dag.tree_paths(entries)
    dom = dag.dominated(entries)
    node_hits: dict[int, set[int]] = defaultdict(set)
    edge_hits: dict[str, set[int]] = defaultdict(set)
    edge_of: dict[str, tuple[int, str, int]] = {}
    for i, steps in enumerate(paths):
        for src, rtype, dst, eid in steps:
            if src not in own:
                node_hits[src].add(i)
            edge_hits[eid].add(i)
            edge_of[eid] = (src, rtype, dst)

    def node_bound(n: int) -> int:
        return min(len(node_hits.get(n, ())), dom.get(n, 0))

    def edge_bound(eid: str) -> int:
        src = edge_of[eid][0]
        only_way = len(dag.succ.get(src, ())) == 1
        return min(len(edge_hits[eid]), dom.get(src, 0) if only_way else 0)

    top_nodes = [n for n in sorted(node_hits, key=lambda n: (-node_bound(n), n))[:pool] if node_bound(n) > 0]
    exploits = [e for e in edge_hits if edge_of[e][1] in ("CanExploit", "ConnectedTo")]
    top_edges = [e for e in sorted((e for e in edge_hits if edge_of[e][1] != "InZone"),
                                   key=lambda e: (-edge_bound(e), e))[:pool] if edge_bound(e) > 0]
    ids = set(top_nodes) | {edge_of[e][i] for e in set(top_edges) | set(exploits) for i in (0, 2)}
    info = {r["i"]: r for r in run("MATCH (n) WHERE id(n) IN $ids RETURN id(n) AS i, n.key AS k, labels(n) AS l, "
                                   "COLLECT { MATCH (n)-[:InZone]->(z:Zone) RETURN z.key } AS zones",
                                   ids=sorted(ids))}
    details = {r["e"]: r for r in run(
        "UNWIND $eids AS eid MATCH ()-[r]->() WHERE elementId(r) = eid "
        "RETURN eid AS e, r.cve AS cve, r.cves AS cves, r.port AS port, r.ports AS ports",
        eids=sorted(set(exploits)))}
    cands: dict[tuple[str, ...], _Candidate] = {}

    def add(bound: int, verb: str, *args: str) -> None:
        if bound <= 0:
            return
        act = Action(verb=verb, args=tuple(args))
        have = cands.get(tuple(act.argv))
        if have is None or have.bound < bound:
            cands[tuple(act.argv)] = _Candidate(act, bound)

    for n in top_nodes:
        node = info.get(n)
        if node and "User" in node["l"]:
            add(node_bound(n), "disable", node["k"])
        elif node and "Computer" in node["l"]:
            add(node_bound(n), "isolate", node["k"])
    # a zone block closes the exploits from FROM into the zone and the flows between
    # the zones' hosts: the tree paths crossing any of them bound what it can cut
    between: dict[tuple[str, str], set[int]] = defaultdict(set)
    into_host: dict[int, set[int]] = defaultdict(set)
    for eid in exploits:
        src, rtype, dst = edge_of[eid]
        if src not in info or dst not in info:
            continue
        # A patch removes CanExploit edges only: a step that has another kind of edge to the
        # same host beside it (observed traffic on the same port) survives it, so the
        # paths through that step cannot be cut by patching.
        if rtype == "CanExploit" and not any(t != "CanExploit" and y == dst for t, y, _ in dag.succ.get(src, ())):
            into_host[dst] |= edge_hits[eid]
        froms = set(info[src]["zones"]) | ({info[src]["k"]} if "Computer" not in info[src]["l"] else set())
        for f in froms:
            for z in info[dst]["zones"]:
                between[(f, z)] |= edge_hits[eid]
    for eid in exploits:  # every exploit and flow: patches and blocks are bounded otherwise
        src, rtype, dst = edge_of[eid]
        if src not in info or dst not in info:
            continue
        a, b, bound = info[src]["k"], info[dst]["k"], edge_bound(eid)
        d = details.get(eid) or {}
        if rtype == "CanExploit":
            for c in (list(d.get("cves") or []) or [d.get("cve")])[:3]:
                if c:
                    add(min(len(into_host[dst]), dom.get(dst, 0)), "patch", b, c)
            port = d.get("port")
            if port and parse_port_spec(port):
                if "Computer" in info[src]["l"]:
                    add(bound, "block", a, b, str(port))
                for z in info[dst]["zones"]:
                    if z != a:
                        add(len(between[(a, z)]), "block", a, z, str(port))
        else:
            for pt in list(d.get("ports") or [])[:3]:
                if parse_port_spec(pt):
                    add(bound, "block", a, b, str(pt))
    for eid in top_edges:
        src, rtype, dst = edge_of[eid]
        if src in info and dst in info and rtype not in ("CanExploit", "ConnectedTo"):
            a, b = info[src]["k"], info[dst]["k"]
            if rtype == "MemberOf":
                add(edge_bound(eid), "remove-member", a, b)
            else:
                add(edge_bound(eid), "remove-edge", a, rtype, b)
    return cands


def rank(
    driver: neo4j.Driver,
    database: str | None,
    target: str,
    top: int = 10,
    sources: list[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    *,
    max_hops: int = 6,
    max_candidates: int | None = None,
    entry_points: tuple[str, ...] = ("internet", "phishable_users"),
    compromised: list[str] | None = None,
    as_of: str | int | float | None = None,
) -> list[RankedAction]:
    """Single actions ranked by attack paths removed to `target` (from the entry points,
    or from `sources`), then least breakage, then ACTION_COST; each one simulated in its
    own rolled-back transaction. Candidates - users to disable, memberships and other
    edges to remove, hosts to isolate, CVEs to patch, flows to block - come from the
    shortest paths of the entry points to the target (ShortestDag); each carries an
    upper bound of the paths it can remove. The `max_candidates` (default 2*top + 10)
    with the highest bounds are simulated in that order, stopping once no remaining
    bound can reach the top N.
    Actions that remove nothing are left out. `progress(done, total, text)` after each."""
    if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= 100:
        raise WhatIfInputError("--top must be a whole number from 1 to 100")
    try:
        when = parse_time(as_of)
    except ValueError as exc:
        raise WhatIfInputError(f"as_of: {exc}") from None
    scope = PathScope(goals=[target], sources=sources, entry_points=tuple(entry_points),
                      compromised=list(compromised or []), max_hops=check_hops(max_hops), as_of=when)
    limit = max_candidates if max_candidates is not None else 2 * top + 10
    try:
        with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS, notifications_min_severity="OFF") as session:
            run = runner(session)
            found = run("MATCH (n:Twin) WHERE n.key IN [$k, toUpper($k)] RETURN n.key AS k "
                        "ORDER BY CASE WHEN n.key = $k THEN 0 ELSE 1 END LIMIT 1", k=target)
            if not found:
                raise WhatIfInputError(f"--target {target!r} is not in the twin")
            target = found[0]["k"]
            scope.goals = [target]
            goal_rows = resolve_goals(run, scope)
            baseline = exposure(run, scope, goal_rows)
            own = set(baseline.own.get(target, frozenset()))
            anchors = set(keys_of_ids(run, goal_rows[0]["anchors"])) if goal_rows and goal_rows[0]["anchors"] else set()
            entries = baseline.pairs(target)
            large = run(TWIN_NODES_QUERY)[0]["c"] >= LARGE_TWIN_NODES
            depth = entry_depth(run, scope, entries, anchors) if large else None
            ball = ForwardBall(run, scope, entries, radius=None if depth is None else depth - 1) if large else None
            dag = ShortestDag(run, scope, anchors, until=entries, ball=ball, depth=depth)
            cands = _candidates(run, dag, entries, own, pool=max(4 * limit, 100))
    except (WhatIfInputError, WhatIfError):
        raise
    except Neo4jError as exc:
        raise WhatIfError(f"Neo4j refused the ranking for {target!r}: {exc.message or exc}") from None
    except (DriverError, OSError) as exc:
        raise WhatIfError(f"lost the twin while ranking actions for {target!r} ({type(exc).__name__})") from None
    order = sorted(cands.values(), key=lambda c: (-c.bound, ACTION_COST[c.action.verb], c.action.text))[:limit]
    results: list[RankedAction] = []
    before_total = baseline.total()
    for i, cand in enumerate(order, 1):
        kept = sorted((r for r in results if r.paths_removed > 0),
                      key=lambda r: (-r.paths_removed, len(r.breaks), r.cost, r.action))
        if len(kept) >= top and cand.bound < kept[top - 1].paths_removed:
            if progress:
                progress(i - 1, i - 1, "no remaining candidate can enter the top; stopped")
            break
        try:
            res = simulate(driver, database, cand.action, goals=[target], sources=sources,
                           entry_points=tuple(entry_points), compromised=compromised, max_hops=scope.max_hops,
                           as_of=when, listed=0, baseline=baseline)
        except WhatIfInputError as exc:  # a candidate the twin cannot take
            if progress:
                progress(i, len(order), f"{cand.action.text}: skipped ({exc})")
            continue
        results.append(RankedAction(
            action=res.action, argv=res.argv, verb=cand.action.verb, target=res.argv[1], goal=target,
            paths_before=before_total, paths_after=res.paths_after, paths_removed=res.paths_removed_count,
            breaks=res.breaks, cost=ACTION_COST[cand.action.verb], bound=cand.bound,
            vulns_lost=res.vulns_lost, twin_unchanged=res.twin_unchanged, seconds=res.seconds))
        if progress:
            progress(i, len(order), f"{res.action}: removes {res.paths_removed_count}")
    ranked = sorted((r for r in results if r.paths_removed > 0),
                    key=lambda r: (-r.paths_removed, len(r.breaks), r.cost, r.action))
    return ranked[:top]
