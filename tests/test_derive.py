"""The derivations' logic without Neo4j (graph/derive): each computes its edges as a pure
function of rows read from the twin; the ingest tests check them end to end."""

from __future__ import annotations

from graph.derive import DERIVATIONS
from graph.derive.adcs import adcs_pairs
from graph.derive.dcsync import dcsync_pairs
from graph.ingest.registry import connectors


def _closure(member_of: dict[str, set[str]]):
    """seeds -> seeds and their transitive members, from group -> direct members."""
    def close(seeds: set[str]) -> set[str]:
        seen, todo = set(seeds), list(seeds)
        while todo:
            for m in member_of.get(todo.pop(), ()):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        return seen
    return close


def test_dcsync_needs_both_rights_through_nested_groups():
    members = {"G-ADMINS": {"G-NESTED", "U-ALICE"}, "G-NESTED": {"U-BOB"}, "G-READERS": {"U-CAROL"}}
    holders = {
        ("D1", "GetChanges"): {"G-ADMINS", "G-READERS"},
        ("D1", "GetChangesAll"): {"G-ADMINS"},
        ("D2", "GetChanges"): {"U-CAROL"},  # one right alone gives nothing
    }
    pairs = dcsync_pairs(holders, _closure(members))
    assert pairs == {("G-ADMINS", "D1"), ("G-NESTED", "D1"), ("U-ALICE", "D1"), ("U-BOB", "D1")}


def test_dcsync_never_points_a_domain_at_itself():
    holders = {("D1", "GetChanges"): {"D1", "U1"}, ("D1", "GetChangesAll"): {"D1", "U1"}}
    assert dcsync_pairs(holders, _closure({})) == {("U1", "D1")}


def test_adcs_chains_by_thumbprint():
    rows = [
        {"oid": "ECA", "kind": "EnterpriseCA", "tp": "aa11", "chain": ["AA11", "BB22"], "tps": None},
        {"oid": "ROOT", "kind": "RootCA", "tp": "AA11", "chain": ["AA11"], "tps": None},
        {"oid": "PARENT", "kind": "RootCA", "tp": "bb22", "chain": None, "tps": None},
        {"oid": "NTAUTH", "kind": "NTAuthStore", "tp": None, "chain": None, "tps": ["aa11", "", 7]},
    ]
    out = adcs_pairs(rows)
    assert out["EnterpriseCAFor"] == {("ECA", "ROOT")}
    assert out["IssuedSignedBy"] == {("ECA", "PARENT")}
    assert out["TrustedForNTAuth"] == {("ECA", "NTAUTH")}


def test_derivations_run_after_known_connectors_and_write_distinct_kinds():
    names = set(connectors())
    written: list[str] = []
    for d in DERIVATIONS:
        assert set(d.after) <= names, f"{d.name} waits for an unknown connector"
        written += d.writes
    assert len(written) == len(set(written)), "two derivations own one edge kind"
    assert [d.name for d in DERIVATIONS] == ["adcs", "dcsync", "exploit"]
