"""Attack paths: how an attacker gets from a foothold to what matters, cheapest first.

Search. Neo4j 5's `SHORTEST k` over a quantified path pattern does one breadth-first
search from the bound end and yields paths in order of length, so `LIMIT` stops it
early; measured on a generated 10k-node twin it beat `shortestPath()` and
`allShortestPaths()` (2-5x for many sources, see evals/bench/bench_tools.py). Paths are
found by hop count, then ranked by cost: every path of each pair's `k` fewest hop
counts (`SHORTEST k GROUPS`, so ties are never broken by storage order), the
`$candidates` fewest-hop of them by key, are costed and the cheapest `k` returned.
A cheaper path that needs more hops than every candidate can be missed; MemberOf
costing 0 is what makes that possible, and the candidate pool (200 by default) is wide
enough that the tests' and benchmarks' best paths are always in it.

Edges crossed (graph/tools/vocab.py, with costs): BloodHound CE's traversable set,
`InZone` (host -> its zone: a foothold in the zone), the derived `CanExploit`
(graph/derive/exploit.py: reachability on the port of a remotely exploitable service),
`ConnectedTo` (observed traffic) and, as the last hop only, `HostedOn` backwards (a
data asset falls with its host). `CanReach` is not crossed on its own: zone-to-zone
flows are not transitive for an attacker and say nothing about a listening,
vulnerable service; CanExploit carries that check. `HasSession` and `ConnectedTo`
count only when they were live around `as_of`.

Entry points, when no source is given:
- `internet`: the INTERNET node (it reaches exposed services through CanExploit);
- `phishable_users`: enabled users that are not privileged (admincount false, not tier 0).
  Every such account can be phished whether or not the directory lists its mail;
  privileged accounts are left out because a path that starts at an admin says
  nothing about exposure;
- `compromised`: hosts or accounts the caller says are already in the attacker's hands.

Targets, when none is given: tier 0 (`tier0: true`: the domain, Domain Admins and
peers, DCs) and crown jewels (`crown_jewel: true`, including hosts of crown-jewel
data). A path stops at the first such node it meets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from graph.tools.spec import AsOf, ToolError, ToolInput, ToolOutput, as_of_field, iso, tool
from graph.tools.vocab import (
    EDGE_COSTS,
    HOSTED_ON,
    LARGE_TWIN_NODES,
    TIMED_EDGES,
    TRAVERSABLE,
    edge_cost,
    rel_alternation,
)

if TYPE_CHECKING:
    from graph.tools.base import Toolbox

# Cypher pieces the other searches share (radius.py, evals/bench): the traversable
# types, an edge live at the asked time, an entry point `s`, a goal `{v}`, a simple path.
TRAVERSE = rel_alternation(TRAVERSABLE)


def _live(r: str) -> str:
    """Edge `r` counts at the asked time (only the timed kinds: sessions, traffic)."""
    return f"$lo IS NULL OR NOT type({r}) IN $timed OR ({r}.firstseen <= $hi AND {r}.lastseen >= $lo)"


LIVE_EDGE = _live("r")
ENTRY_POINT = (
    "(($internet AND s:Internet) OR s.key IN $compromised OR "
    "($phish AND s:User AND coalesce(s.enabled, false) AND NOT coalesce(s.admincount, false) "
    "AND NOT coalesce(s.tier0, false)))"
)
PRECIOUS = (
    "(coalesce({v}.tier0, false) OR coalesce({v}.crown_jewel, false) "
    "OR EXISTS {{ (:DataAsset {{crown_jewel: true}})-[:HostedOn]->({v}) }})"
)
# The same set as PRECIOUS, found through the tier0 / crown_jewel indexes instead of by
# testing every node of the twin.
_GOALS = (
    "CALL () {\n"
    "  MATCH (g:Twin) WHERE g.tier0 = true RETURN g\n"
    "  UNION\n"
    "  MATCH (g:Twin) WHERE g.crown_jewel = true RETURN g\n"
    "  UNION\n"
    "  MATCH (:DataAsset {crown_jewel: true})-[:HostedOn]->(g:Twin) RETURN g\n"
    "}\n"
    "WITH collect(g) AS goals\n"
)
_COST = (
    "reduce(c = 0.0, r IN relationships(p) | c + CASE WHEN type(r) = 'CanExploit' AND coalesce(r.is_kev, false) "
    "THEN $kev_cost ELSE coalesce($costs[type(r)], 1.0) END)"
)
SIMPLE_PATH = "all(i IN range(0, size(nodes(p)) - 2) WHERE NOT nodes(p)[i] IN nodes(p)[i + 1..])"
_TAIL = f"""
WITH found, goal, p, {_COST} AS cost
ORDER BY cost, length(p), [x IN nodes(p) | x.key], [r IN relationships(p) | type(r)]
LIMIT $keep
RETURN [x IN nodes(p) | x.key] AS nodes,
       [r IN relationships(p) | {{type: type(r), cve: r.cve, port: r.port, is_kev: r.is_kev,
                                 epss_score: r.epss_score, firstseen: r.firstseen, lastseen: r.lastseen}}] AS rels,
       cost, goal, found
"""

DEFAULT_CANDIDATES = 200
# The candidates are chosen by their own content, never by the order the search met them:
# `SHORTEST k GROUPS` yields every path of the k fewest hop counts of each pair (plain
# `SHORTEST k` picks k of equally short paths by storage order, so two loads of the same
# twin could rank different paths), and the pool is cut by hops, then node keys, then edge
# types (two rights between the same nodes are two paths). `$pool`
# only bounds the work on a dense twin; below it the answer is the same on every load.
# `found`: how many paths the pool holds, which find_paths reads to know whether a search
# within fewer hops already gives the whole answer.
_POOL = (
    "WITH goal, p LIMIT $pool\n"
    "WITH collect([goal, p]) AS pooled\n"
    "UNWIND pooled AS gp\n"
    "WITH size(pooled) AS found, gp[0] AS goal, gp[1] AS p\n"
    "ORDER BY length(p), [x IN nodes(p) | x.key], [r IN relationships(p) | type(r)] LIMIT $candidates\n"
)
POOL_FACTOR = 10


def check_int(value: int, lo: int, hi: int, what: str) -> int:
    """k and the hop bound must be literals in Cypher text; they are ints from a range."""
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ToolError("invalid_arguments", f"{what} must be an integer from {lo} to {hi}")
    return value


def build_path_query(mode: Literal["entry", "internet", "source", "pair"], k: int, max_hops: int) -> str:
    """The Cypher for one search mode. Only k and max_hops (checked ints) and the fixed
    vocabulary enter the text; everything else is a parameter."""
    k = check_int(k, 1, 50, "k")
    h = check_int(max_hops, 1, 10, "max_hops")
    hop = f"-[r:{TRAVERSE} WHERE {LIVE_EDGE}]->{{1,{h}}}"
    goal_from_target = (
        "MATCH (g:Twin {key: $target})\n"
        "OPTIONAL MATCH (g)-[:HostedOn]->(host:Computer) WHERE g:DataAsset\n"
        "WITH g.key AS goal, coalesce(host, g) AS t\n"
    )
    if mode == "entry":
        head = (
            goal_from_target
            + f"MATCH p = SHORTEST {k} GROUPS (s:Twin){hop}(t)\n"
            + f"WHERE s <> t AND {ENTRY_POINT}\n"
            + f"WITH goal, p WHERE {SIMPLE_PATH}\n"
            + _POOL
        )
    elif mode == "source":
        # The goals are few (tier 0, crown jewels): collected first, they let the search stop
        # at the first one it meets instead of walking on through it. Starting from a DC,
        # whose groups are tier 0, that is the difference between a handful of hops and the
        # whole directory behind them.
        last = f"-[z:{TRAVERSE} WHERE {_live('z')}]->"
        # one hop: no inner hops at all (a quantifier of {0,0} is a syntax error)
        inner = f" ((a)-[r:{TRAVERSE} WHERE {LIVE_EDGE}]->(b) WHERE NOT b IN goals){{0,{h - 1}}} (c)" if h > 1 else ""
        head = (
            _GOALS
            + "MATCH (s:Twin) WHERE s.key IN $sources\n"
            + f"MATCH p = SHORTEST {k} GROUPS (s){inner}{last}(t:Twin)\n"
            + "WHERE t <> s AND t IN goals\n"
            + "WITH t, p\n"
            + f"WHERE {SIMPLE_PATH}\n"
            + "WITH p, CASE WHEN coalesce(t.tier0, false) OR coalesce(t.crown_jewel, false) THEN t.key\n"
            + "  ELSE COLLECT { MATCH (d:DataAsset {crown_jewel: true})-[:HostedOn]->(t) RETURN d.key ORDER BY d.key }[0]\n"
            + "  END AS goal\n"
            + _POOL
        )
    elif mode in ("pair", "internet"):
        # "internet": the entry-point search when the internet is the only entry point. Both
        # ends bound, Neo4j searches from both sides; from the target alone it walked every
        # node within the hop bound behind it to find no path (24k hosts: 0.4 s against 2.2 s).
        head = (
            ("MATCH (s:Twin:Internet)\n" if mode == "internet" else "MATCH (s:Twin) WHERE s.key IN $sources\n")
            + goal_from_target.replace("WITH g.key AS goal", "WITH s, g.key AS goal")
            + f"MATCH p = SHORTEST {k} GROUPS (s){hop}(t)\n"
            + "WHERE s <> t\n"
            + f"WITH goal, p WHERE {SIMPLE_PATH}\n"
            + _POOL
        )
    else:  # pragma: no cover - Literal guards it
        raise ValueError(mode)
    return head + _TAIL


def path_params(*, target: str | None = None, sources: list[str] | None = None, internet: bool = True,
                phish: bool = True, compromised: list[str] | None = None, lo: int | None = None,
                hi: int | None = None, keep: int = 20, candidates: int = DEFAULT_CANDIDATES) -> dict:
    from graph.tools.vocab import KEV_COST

    return {
        "target": target, "sources": list(sources or []), "internet": internet, "phish": phish,
        "compromised": list(compromised or []), "lo": lo, "hi": hi, "timed": sorted(TIMED_EDGES),
        "costs": dict(EDGE_COSTS), "kev_cost": KEV_COST, "keep": keep, "candidates": candidates,
        "pool": max(candidates * POOL_FACTOR, 1000),
    }


class PathsInput(ToolInput):
    target: str | None = Field(default=None, description=(
        "Key of what the attacker wants (a host, a data asset, a group, the domain). Without `sources`, "
        "paths come from the entry points."))
    sources: list[str] | None = Field(default=None, max_length=20, description=(
        "Keys the attacker starts from (a compromised user or host). Without `target`, paths go to "
        "crown jewels and tier 0."))
    entry_points: list[Literal["internet", "phishable_users"]] = Field(
        default=["internet", "phishable_users"],
        description="Which entry points to start from when no `sources` are given.")
    compromised: list[str] = Field(default_factory=list, max_length=20, description=(
        "Keys of hosts or accounts already compromised, used as extra entry points."))
    k: int = Field(default=5, ge=1, le=20, description="How many paths, cheapest first.")
    max_hops: int = Field(default=6, ge=1, le=10, description="Longest path in edges (hard cap 10).")
    as_of: AsOf = as_of_field()


class PathStep(ToolOutput):
    src: str
    edge: str
    dst: str
    cost: float
    detail: dict = Field(default_factory=dict, description="cve, port, is_kev, epss_score for CanExploit")


class AttackPath(ToolOutput):
    nodes: list[str] = Field(description="attacker side first; edges[i] joins nodes[i] and nodes[i+1]")
    edges: list[str]
    kind: Literal["to_crown_jewel", "from_entry_point"]
    cost: float
    hops: int
    steps: list[PathStep]
    evidence_edges: list[list[str]] = Field(description=(
        "[src, TYPE, dst] as stored in the twin (HostedOn is stored asset -> host)"))


class PathsOutput(ToolOutput):
    paths: list[AttackPath]
    candidates_considered: int
    truncated: bool = Field(description="more paths exist than were returned")
    as_of: str | None
    note: str | None = None


def rows_to_paths(rows: list[dict], kind: str, k: int) -> list[AttackPath]:
    """Turn query rows into AttackPaths: HostedOn appended for data-asset goals, costs
    per step recomputed from the same table, duplicates dropped, cheapest first."""
    out: list[AttackPath] = []
    seen: set[tuple] = set()
    for row in rows:
        nodes = list(row["nodes"])
        steps, evidence = [], []
        for i, rel in enumerate(row["rels"]):
            detail = {key: rel.get(key) for key in ("cve", "port", "is_kev", "epss_score") if rel.get(key) is not None}
            steps.append(PathStep(src=nodes[i], edge=rel["type"], dst=nodes[i + 1],
                                  cost=edge_cost(rel["type"], bool(rel.get("is_kev"))), detail=detail))
            evidence.append([nodes[i], rel["type"], nodes[i + 1]])
        goal = row.get("goal")
        if goal and goal != nodes[-1]:
            steps.append(PathStep(src=nodes[-1], edge=HOSTED_ON, dst=goal, cost=edge_cost(HOSTED_ON)))
            evidence.append([goal, HOSTED_ON, nodes[-1]])
            nodes.append(goal)
        sig = tuple(nodes) + tuple(s.edge for s in steps)
        if sig in seen:
            continue
        seen.add(sig)
        out.append(AttackPath(
            nodes=nodes, edges=[s.edge for s in steps], kind=kind, cost=round(sum(s.cost for s in steps), 3),
            hops=len(steps), steps=steps, evidence_edges=evidence,
        ))
    out.sort(key=lambda p: (p.cost, p.hops, p.nodes, p.edges))
    return out[:k]


FIRST_BOUNDS = (2, 3)


def search_bounds(mode: str, max_hops: int, large: bool = True) -> list[int]:
    """The hop bounds a search tries, shortest first. A search within fewer hops gives the
    same answer whenever it already finds `candidates` paths: the candidates are the
    fewest-hop paths, and each pair's shortest groups within the smaller bound are its
    shortest groups overall cut at that length. From the domain of a 24k-host twin the
    3-hop search finds 677 paths in 1.2 s where the 6-hop one walks the whole directory
    for 5.4-6.8 s (measured); at 60k hosts the 2-hop search finds 318 in 0.15 s against
    1.94 s for the 3-hop one. When a bound finds fewer, the next runs after it and the
    short one only added its time (three footholds at 60k: 0.05 s and 1.3 s on top of 6 s).
    Only searches forward from sources try it, where a privileged start has many goals
    a few hops out; toward one target from the entry points it rarely finds enough. And
    only on a large twin (`large`, vocab.LARGE_TWIN_NODES): on the evaluation twins the
    full search is cheap and the short one, mostly too short, only added a query."""
    if not (large and mode == "source"):
        return [max_hops]
    return [b for b in FIRST_BOUNDS if b < max_hops] + [max_hops]


def find_paths(
    run: Callable[[str, dict], list[dict]],
    *,
    target: str | None = None,
    sources: list[str] | None = None,
    entry_points: tuple[str, ...] = ("internet", "phishable_users"),
    compromised: list[str] | None = None,
    k: int = 5,
    max_hops: int = 6,
    lo: int | None = None,
    hi: int | None = None,
    candidates: int = DEFAULT_CANDIDATES,
    large: bool = True,
) -> tuple[list[AttackPath], int, bool]:
    """The search without the Toolbox: `run(query, params) -> rows` may be a guarded
    read or a what-if transaction's `tx.run` (so what-if counts paths the same way)."""
    if not target and not sources:
        raise ToolError("invalid_arguments", "give a `target`, `sources`, or both")
    if sources and target:
        mode, kind = "pair", "from_entry_point"
    elif sources:
        mode, kind = "source", "to_crown_jewel"
    elif tuple(entry_points) == ("internet",) and not compromised:
        mode, kind = "internet", "from_entry_point"
    else:
        mode, kind = "entry", "from_entry_point"
    params = path_params(target=target, sources=sources, internet="internet" in entry_points,
                         phish="phishable_users" in entry_points, compromised=compromised, lo=lo, hi=hi,
                         keep=max(k * 4, 20), candidates=candidates)
    for hops in search_bounds(mode, max_hops, large):
        rows = run(build_path_query(mode, k, hops), params)
        if hops == max_hops or (rows and rows[0]["found"] >= candidates):
            break
    paths = rows_to_paths(rows, kind, k)
    truncated = len(rows) > len(paths)  # more paths were found than returned
    return paths, len(rows), truncated


@tool
def attack_paths(tb: Toolbox, args: PathsInput) -> PathsOutput:
    """Cheapest attack paths (k, default 5) to a target from entry points (internet-exposed services, phishable users, hosts you name as compromised), or from given sources to crown jewels and tier 0; each path lists its nodes attacker-first, its edge types, its cost and per-edge details (CVE, port, KEV).

    Costs per edge: MemberOf 0, InZone 0, HasSession 1, AdminTo 1, GenericAll 1, DCSync 1,
    CanExploit 2 (1 if KEV), CanRDP 2, WriteDacl 2, ConnectedTo 3, ... (graph/tools/vocab.py)."""
    lo, hi = tb.window(args.as_of)
    limits = tb.limits
    hops = min(args.max_hops, limits.hops_max)
    k = min(args.k, limits.k_max)

    def run(query: str, params: dict) -> list[dict]:
        return tb.rows("attack_paths", query, params)

    large = bool(args.sources) and not args.target and tb.twin_nodes("attack_paths") >= LARGE_TWIN_NODES
    paths, considered, truncated = find_paths(
        run, target=args.target, sources=args.sources, entry_points=tuple(args.entry_points),
        compromised=args.compromised, k=k, max_hops=hops, lo=lo, hi=hi, large=large,
    )
    note = None
    if not paths:
        wanted = [x for x in [args.target, *(args.sources or [])] if x]
        found = tb.rows("attack_paths", "MATCH (n:Twin) WHERE n.key IN $keys RETURN collect(n.key) AS keys",
                        {"keys": wanted})[0]["keys"]
        missing = sorted(set(wanted) - set(found))
        note = (f"not in the twin: {', '.join(missing)}" if missing
                else f"no path within {hops} hops over the traversable edges at this time")
    return PathsOutput(paths=paths, candidates_considered=considered, truncated=truncated,
                       as_of=iso(tb.time(args.as_of)), note=note)
