"""DCSync: who may replicate a domain's secrets, as BloodHound CE's post-processing counts it.

A principal gets `DCSync` to a domain when it holds both `GetChanges` and `GetChangesAll`
on it, directly or through nested `MemberOf` (the group holding a right, and every
transitive member of it, hold it). Membership is expanded breadth-first, one query per
nesting level: a variable-length Cypher pattern enumerates paths, not nodes, and explodes
on nested groups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from graph import catalog
from graph.derive.base import Derivation, run_query, sync_edges
from graph.loader import TwinWriter
from graph.model import TWIN_LABEL

DCSYNC = catalog.rel("DCSync", by="objectid")

Closure = Callable[[set[str]], set[str]]


def dcsync_pairs(holders: dict[tuple[str, str], set[str]], closure: Closure) -> set[tuple[str, str]]:
    """(principal, domain) objectids from the direct holders of each right per domain,
    `holders[(domain, "GetChanges" | "GetChangesAll")]`; `closure(seeds)` is the seeds and
    all their transitive members."""
    pairs: set[tuple[str, str]] = set()
    for (domain, right), direct in holders.items():
        if right != "GetChanges" or (domain, "GetChangesAll") not in holders:
            continue
        both = closure(direct) & closure(holders[(domain, "GetChangesAll")])
        pairs.update((p, domain) for p in both if p != domain)
    return pairs


def members_closure(writer: TwinWriter, seeds: set[str]) -> set[str]:
    """Seeds and every transitive `MemberOf` member of them, one query per nesting level."""
    seen = set(seeds)
    frontier = list(seeds)
    while frontier:
        recs = run_query(
            writer,
            f"UNWIND $ids AS id MATCH (g:{TWIN_LABEL} {{objectid: id}})<-[:MemberOf]-(m) "
            "WHERE m.objectid IS NOT NULL RETURN DISTINCT m.objectid AS m",
            ids=frontier,
        )
        frontier = [r["m"] for r in recs if r["m"] not in seen]
        seen.update(frontier)
    return seen


def derive_dcsync(writer: TwinWriter) -> None:
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rec in run_query(
        writer,
        "MATCH (p)-[r:GetChanges|GetChangesAll]->(d:Domain) "
        "WHERE p.objectid IS NOT NULL AND d.objectid IS NOT NULL "
        "RETURN d.objectid AS d, type(r) AS t, collect(DISTINCT p.objectid) AS ps",
    ):
        holders[(rec["d"], rec["t"])].update(rec["ps"])
    pairs = dcsync_pairs(holders, lambda seeds: members_closure(writer, seeds))
    sync_edges(writer, DCSYNC, pairs, {"isacl": False})


DERIVATION = Derivation(
    name="dcsync", source="sharphound", after=("sharphound",),
    reads=("Domain", "GetChanges", "GetChangesAll", "MemberOf"), writes=("DCSync",), run=derive_dcsync,
)
