"""Blast radius (what one foothold reaches) and choke points (what many paths share).

Both use one breadth-first `SHORTEST 1` search per anchor, which visits each node
once instead of enumerating every path (a variable-length `-[*..4]->` expansion on a
group-heavy directory multiplies through nested memberships). Results are
aggregated in Cypher so only counts and a few examples cross the wire.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from graph.tools.paths import (
    ENTRY_POINT,
    LIVE_EDGE,
    PRECIOUS,
    SIMPLE_PATH,
    TRAVERSE,
    check_int,
    path_params,
)
from graph.tools.radius_summary import summary_answer
from graph.tools.spec import AsOf, ToolInput, ToolOutput, as_of_field, iso, tool
from graph.tools.vocab import category_case

if TYPE_CHECKING:
    from graph.tools.base import Toolbox

_CATEGORY = category_case("y")


def blast_query(max_hops: int) -> str:
    h = check_int(max_hops, 1, 10, "max_hops")
    return f"""
MATCH (s:Twin {{key: $key}})
MATCH p = SHORTEST 1 (s)-[r:{TRAVERSE} WHERE {LIVE_EDGE}]->{{1,{h}}}(x:Twin)
WHERE x <> s
CALL (x, p) {{
  RETURN x AS y, [n IN nodes(p) | n.key] AS ns, [q IN relationships(p) | type(q)] AS es
  UNION
  MATCH (d:DataAsset)-[:HostedOn]->(x)
  RETURN d AS y, [n IN nodes(p) | n.key] + d.key AS ns, [q IN relationships(p) | type(q)] + 'HostedOn' AS es
}}
WITH s, y, ns, es ORDER BY size(es), ns
WITH s, y, head(collect({{ns: ns, es: es}})) AS best
WHERE y <> s
WITH y, best, {_CATEGORY} AS category
ORDER BY size(best.es), y.key
WITH category, collect({{key: y.key, hops: size(best.es), nodes: best.ns, edges: best.es}}) AS items
RETURN category, size(items) AS total, items[..$cap] AS examples,
       [i IN items | i.edges[-1]] AS last_edges
"""


class BlastInput(ToolInput):
    key: str = Field(min_length=1, max_length=500, description="The foothold: a user, host or group key.")
    max_hops: int = Field(default=4, ge=1, le=8, description="How far to look, in edges.")
    as_of: AsOf = as_of_field()
    examples: int = Field(default=5, ge=1, le=25, description="Examples per category (nearest first).")


class Reached(ToolOutput):
    key: str
    hops: int
    nodes: list[str]
    edges: list[str]


class Category(ToolOutput):
    total: int
    examples: list[Reached]


class BlastOutput(ToolOutput):
    key: str
    found: bool
    reachable_total: int
    categories: dict[str, Category] = Field(description=(
        "crown_jewels, tier0, computers, users, groups, data_assets, domains, zones, other"))
    by_last_edge: dict[str, int] = Field(description="how the reached nodes are taken: AdminTo 12 means 12 via admin rights")
    max_hops: int
    as_of: str | None


@tool
def blast_radius(tb: Toolbox, args: BlastInput) -> BlastOutput:
    """What an attacker holding one entity can reach within N hops over attack edges: counts of crown jewels, tier-0 objects, hosts, users, groups and data, with the nearest examples and their paths."""
    lo, hi = tb.window(args.as_of)
    got = summary_answer(tb, args.key, args.max_hops, lo, hi, args.examples)
    if got is not None:
        cats = {c: Category(total=v["total"], examples=[Reached(**e) for e in v["examples"][: args.examples]])
                for c, v in got["categories"].items()}
        return BlastOutput(
            key=args.key, found=True, reachable_total=sum(c.total for c in cats.values()),
            categories=dict(sorted(cats.items())), by_last_edge=dict(sorted(got["by_last_edge"].items())),
            max_hops=args.max_hops, as_of=iso(tb.time(args.as_of)),
        )
    return exhaustive_blast(tb, args, lo, hi)


def exhaustive_blast(tb: Toolbox, args: BlastInput, lo: int | None, hi: int | None) -> BlastOutput:
    """The breadth-first search itself: for starts without a summary, and the oracle the
    summaries are tested against."""
    params = {**path_params(lo=lo, hi=hi), "key": args.key, "cap": args.examples}
    rows = tb.rows("blast_radius", blast_query(args.max_hops), params)
    if not rows:
        found = bool(tb.rows("blast_radius", "MATCH (n:Twin {key: $key}) RETURN n.key AS k", {"key": args.key}))
    else:
        found = True
    cats = {r["category"]: Category(total=r["total"], examples=[Reached(**e) for e in r["examples"]]) for r in rows}
    by_edge = Counter(e for r in rows for e in r["last_edges"] if e)
    return BlastOutput(
        key=args.key, found=found, reachable_total=sum(c.total for c in cats.values()),
        categories=dict(sorted(cats.items())), by_last_edge=dict(sorted(by_edge.items())),
        max_hops=args.max_hops, as_of=iso(tb.time(args.as_of)),
    )


def choke_query(mode: Literal["sources", "entry"], max_hops: int, targeted: bool) -> str:
    h = check_int(max_hops, 1, 10, "max_hops")
    hop = f"-[r:{TRAVERSE} WHERE {LIVE_EDGE}]->{{1,{h}}}"
    if targeted:
        anchor = ("MATCH (g:Twin {key: $target})\n"
                  "OPTIONAL MATCH (g)-[:HostedOn]->(host:Computer) WHERE g:DataAsset\n"
                  "WITH coalesce(host, g) AS t\n")
    else:
        anchor = f"MATCH (t:Twin) WHERE {PRECIOUS.format(v='t')}\n"
    start = "s.key IN $sources" if mode == "sources" else ENTRY_POINT
    return (
        anchor
        + "CALL (t) {\n"
        + f"  MATCH p = SHORTEST 1 (s:Twin){hop}(t)\n"
        + f"  WHERE s <> t AND {start}\n"
        + f"  WITH p WHERE {SIMPLE_PATH}"
        + ("" if targeted else f" AND all(x IN nodes(p)[1..-1] WHERE NOT {PRECIOUS.format(v='x')})")
        + "\n  RETURN p LIMIT $per_target\n}\n"
        + "WITH p LIMIT $max_paths\n"
        + "RETURN [x IN nodes(p) | x.key] AS nodes, [q IN relationships(p) | type(q)] AS edges\n"
    )


class ChokeInput(ToolInput):
    target: str | None = Field(default=None, description="Only paths to this key (default: every crown jewel and tier-0 node).")
    sources: list[str] | None = Field(default=None, max_length=50, description=(
        "Start keys (default: the entry points: internet and phishable users)."))
    entry_points: list[Literal["internet", "phishable_users"]] = Field(default=["internet", "phishable_users"])
    max_hops: int = Field(default=6, ge=1, le=10)
    max_paths: int = Field(default=500, ge=10, le=2000, description="Bound on the paths examined.")
    top: int = Field(default=10, ge=1, le=50)
    as_of: AsOf = as_of_field()


class Choke(ToolOutput):
    key: str
    paths: int
    share: float = Field(description="fraction of the examined paths through it")


class ChokeEdge(ToolOutput):
    edge: list[str] = Field(description="[src, TYPE, dst]")
    paths: int
    share: float


class ChokeOutput(ToolOutput):
    paths_examined: int
    truncated: bool = Field(description="max_paths was reached: shares are over a sample")
    nodes: list[Choke]
    edges: list[ChokeEdge]
    as_of: str | None


@tool
def choke_points(tb: Toolbox, args: ChokeInput) -> ChokeOutput:
    """Which intermediate nodes and edges sit on the most shortest attack paths from the entry points (or given sources) to the crown jewels and tier 0 (or one target): the best places to cut."""
    lo, hi = tb.window(args.as_of)
    mode = "sources" if args.sources else "entry"
    per_target = args.max_paths if args.target else max(10, args.max_paths // 4)
    params = {
        **path_params(target=args.target, sources=args.sources, internet="internet" in args.entry_points,
                      phish="phishable_users" in args.entry_points, lo=lo, hi=hi),
        "per_target": per_target, "max_paths": args.max_paths,
    }
    rows = tb.rows("choke_points", choke_query(mode, args.max_hops, bool(args.target)), params,
                   row_cap=args.max_paths + 1)
    node_count: Counter[str] = Counter()
    edge_count: Counter[tuple[str, str, str]] = Counter()
    for r in rows:
        ns, es = r["nodes"], r["edges"]
        for n in set(ns[1:-1]):
            node_count[n] += 1
        for triple in {(ns[i], es[i], ns[i + 1]) for i in range(len(es))}:
            edge_count[triple] += 1
    total = len(rows) or 1
    nodes = [Choke(key=k, paths=c, share=round(c / total, 4))
             for k, c in sorted(node_count.items(), key=lambda kv: (-kv[1], kv[0]))[: args.top]]
    edges = [ChokeEdge(edge=list(t), paths=c, share=round(c / total, 4))
             for t, c in sorted(edge_count.items(), key=lambda kv: (-kv[1], kv[0]))[: args.top]]
    return ChokeOutput(paths_examined=len(rows), truncated=len(rows) >= args.max_paths, nodes=nodes, edges=edges,
                       as_of=iso(tb.time(args.as_of)))
