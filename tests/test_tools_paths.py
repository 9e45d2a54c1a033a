"""attack_paths, blast_radius, choke_points and the CanExploit derivation on the corp twin."""

from __future__ import annotations

import pytest

from graph.derive.exploit import (
    compute_exploit_edges,
    covers,
    derive_exploit_edges,
    parse_port_spec,
)
from graph.tools.base import Toolbox, ToolError
from graph.tools.fixtures import DAY, T0
from graph.tools.paths import build_path_query


@pytest.fixture(scope="module")
def tb(corp):
    return Toolbox(corp.driver, corp.database, as_of=T0)


def paths(tb, **kw):
    return tb.call("attack_paths", kw)


ID_PATH = ["HELPDESK1@CORP.LOCAL", "HELPDESK@CORP.LOCAL", "WS07.CORP.LOCAL", "BOB@CORP.LOCAL",
           "DOMAIN ADMINS@CORP.LOCAL"]
NET_PATH = ["INTERNET", "WEB01.CORP.LOCAL", "dmz", "DB01.CORP.LOCAL", "CUSTOMER-DB"]


def test_from_source_to_tier0(tb):
    out = paths(tb, sources=["HELPDESK1@CORP.LOCAL"])
    best = out.paths[0]
    assert best.nodes == ID_PATH
    assert best.edges == ["MemberOf", "AdminTo", "HasSession", "MemberOf"]
    assert best.cost == 2.0 and best.kind == "to_crown_jewel" and best.hops == 4
    assert best.evidence_edges[1] == ["HELPDESK@CORP.LOCAL", "AdminTo", "WS07.CORP.LOCAL"]
    assert [p.cost for p in out.paths] == sorted(p.cost for p in out.paths)
    for p in out.paths:  # a path stops at the first tier-0 or crown-jewel node
        assert not any(n in {"DOMAIN ADMINS@CORP.LOCAL", "CORP.LOCAL", "DC01.CORP.LOCAL"} for n in p.nodes[:-1])


def test_from_entry_points_to_a_data_asset(tb):
    out = paths(tb, target="CUSTOMER-DB")
    best = out.paths[0]
    assert best.nodes == NET_PATH and best.kind == "from_entry_point"
    assert best.edges == ["CanExploit", "InZone", "CanExploit", "HostedOn"]
    assert best.cost == 3.0  # KEV exploit 1 + zone 0 + exploit 2 + hosted 0
    assert best.steps[0].detail == {"cve": "CVE-2021-41773", "port": "443/tcp", "is_kev": True, "epss_score": 0.944}
    assert best.evidence_edges[-1] == ["CUSTOMER-DB", "HostedOn", "DB01.CORP.LOCAL"]  # as stored
    for p in out.paths:
        assert p.nodes[0] in {"INTERNET"} or p.nodes[0].endswith("@CORP.LOCAL")
        assert len(p.nodes) == len(set(p.nodes)), "paths are simple"
        assert p.nodes[0] not in {"BOB@CORP.LOCAL", "SVC_SQL@CORP.LOCAL", "CAROL@CORP.LOCAL"}  # not phishable


def test_sessions_count_only_around_as_of(tb):
    now = paths(tb, target="CUSTOMER-DB", k=10)
    assert not any("SVC_SQL@CORP.LOCAL" in p.nodes for p in now.paths)
    then = paths(tb, target="CUSTOMER-DB", k=10, as_of=T0 - int(9.5 * DAY))
    via_session = [p for p in then.paths if p.nodes[:3] == ["INTERNET", "WEB01.CORP.LOCAL", "SVC_SQL@CORP.LOCAL"]]
    assert via_session and via_session[0].edges[:3] == ["CanExploit", "HasSession", "AdminTo"]
    month_before = paths(tb, sources=["HELPDESK1@CORP.LOCAL"], as_of=T0 - 30 * DAY)
    assert all("BOB@CORP.LOCAL" not in p.nodes for p in month_before.paths)


def test_entry_points_are_selectable(tb):
    internet_only = paths(tb, target="CUSTOMER-DB", entry_points=["internet"], k=10)
    assert {p.nodes[0] for p in internet_only.paths} == {"INTERNET"}
    compromised = paths(tb, target="CUSTOMER-DB", entry_points=[], compromised=["WS07.CORP.LOCAL"])
    assert compromised.paths[0].nodes == ["WS07.CORP.LOCAL", "corp", "WEB01.CORP.LOCAL", "dmz", "DB01.CORP.LOCAL",
                                          "CUSTOMER-DB"]
    assert compromised.paths[0].cost == 3.0


def test_pair_and_hop_bound(tb):
    out = paths(tb, sources=["WS07.CORP.LOCAL"], target="CORP.LOCAL")
    assert {tuple(p.edges) for p in out.paths} == {("HasSession", "MemberOf", "DCSync"),
                                                  ("HasSession", "MemberOf", "GenericAll")}
    assert out.paths[0].nodes[0] == "WS07.CORP.LOCAL" and out.paths[0].nodes[-1] == "CORP.LOCAL"
    short = paths(tb, sources=["WS07.CORP.LOCAL"], target="CORP.LOCAL", max_hops=2)
    assert short.paths == [] and "no path within 2 hops" in short.note


def test_missing_keys_and_bad_arguments(tb):
    out = paths(tb, target="NOPE")
    assert out.paths == [] and out.note == "not in the twin: NOPE"
    assert tb.call_tool("attack_paths", {})["error"]["type"] == "invalid_arguments"
    assert tb.call_tool("attack_paths", {"target": "X", "max_hops": 11})["error"]["type"] == "invalid_arguments"
    with pytest.raises(ToolError):
        build_path_query("entry", 5, 99)


def test_blast_radius(tb):
    out = tb.call("blast_radius", {"key": "HELPDESK1@CORP.LOCAL", "max_hops": 4})
    cats = out.categories
    assert {e.key for e in cats["tier0"].examples} == {"DC01.CORP.LOCAL", "DOMAIN ADMINS@CORP.LOCAL"}
    assert cats["computers"].total == 4  # WS07, WS01, WS01A, WEB01 (through the corp zone)
    ws07 = next(e for e in cats["computers"].examples if e.key == "WS07.CORP.LOCAL")
    assert ws07.hops == 2 and ws07.nodes == ["HELPDESK1@CORP.LOCAL", "HELPDESK@CORP.LOCAL", "WS07.CORP.LOCAL"]
    assert out.by_last_edge["AdminTo"] == 2
    assert "crown_jewels" not in cats  # CUSTOMER-DB is 7 hops away
    far = tb.call("blast_radius", {"key": "HELPDESK1@CORP.LOCAL", "max_hops": 6})
    jewel = far.categories["crown_jewels"].examples[0]
    assert jewel.key == "CUSTOMER-DB" and jewel.edges[-1] == "HostedOn"
    domain = next(e for e in far.categories["tier0"].examples if e.key == "CORP.LOCAL")
    assert domain.hops == 5 and domain.edges[-1] in {"DCSync", "GenericAll"}
    none = tb.call("blast_radius", {"key": "CAROL@CORP.LOCAL", "max_hops": 1})
    assert none.found and none.categories["groups"].total == 1
    missing = tb.call("blast_radius", {"key": "NOPE"})
    assert missing.found is False and missing.reachable_total == 0


def test_choke_points(tb):
    out = tb.call("choke_points", {"target": "CUSTOMER-DB"})
    top = {c.key: c.paths for c in out.nodes}
    assert out.paths_examined >= 2
    assert top["dmz"] == out.paths_examined and top["WEB01.CORP.LOCAL"] == out.paths_examined
    assert out.edges[0].share == 1.0
    everything = tb.call("choke_points", {"max_paths": 10})
    assert everything.paths_examined >= 3 and everything.nodes[0].paths >= everything.nodes[-1].paths
    from_one = tb.call("choke_points", {"sources": ["HELPDESK1@CORP.LOCAL"]})
    assert {c.key for c in from_one.nodes} >= {"HELPDESK@CORP.LOCAL", "WS07.CORP.LOCAL"}


def test_exploit_edges_derived(corp):
    rows = {(r["src"], r["dst"]): r["props"] for r in compute_exploit_edges(corp.driver, corp.database)}
    assert set(rows) == {("INTERNET", "WEB01.CORP.LOCAL"), ("corp", "WEB01.CORP.LOCAL"), ("dmz", "WEB01.CORP.LOCAL"),
                         ("dmz", "DB01.CORP.LOCAL"), ("db", "DB01.CORP.LOCAL")}
    web = rows[("INTERNET", "WEB01.CORP.LOCAL")]
    assert web["cve"] == "CVE-2021-41773" and web["is_kev"] and web["port"] == "443/tcp" and web["basis"] == "product"
    assert rows[("dmz", "DB01.CORP.LOCAL")]["port"] == "5432/tcp"
    # the LOCAL OpenSSH flaw opens nothing; corp may reach dmz on 22 but nothing there is exploitable
    assert all(p["port"] != "22/tcp" for p in rows.values())
    stored = corp.value("MATCH (:Internet)-[r:CanExploit]->(:Computer {key: 'WEB01.CORP.LOCAL'}) RETURN r.epss_score")
    assert stored == pytest.approx(0.944)


def test_exploit_derivation_is_idempotent_and_drops_stale(corp):
    before = corp.snapshot()
    stats = derive_exploit_edges(corp.driver, corp.database, now=T0)
    assert stats["created"] == 0 and stats["removed"] == 0 and corp.snapshot() == before
    # a stale edge (nothing supports it any more) is removed; the supported ones stay
    corp.driver.execute_query(
        "MATCH (a:Twin {key: 'corp'}), (b:Twin {key: 'DC01.CORP.LOCAL'}) CREATE (a)-[:CanExploit {cve: 'X'}]->(b)",
        database_=corp.database)
    stats = derive_exploit_edges(corp.driver, corp.database, now=T0)
    assert stats["removed"] == 1 and corp.snapshot() == before


@pytest.mark.parametrize("spec, port, proto, ok", [
    ("443/tcp", 443, "tcp", True), ("443/TCP", 443, "tcp", True), ("49152-65535/tcp", 50000, "tcp", True),
    ("49152-65535/tcp", 443, "tcp", False), ("53/udp", 53, "tcp", False), (443, 443, "tcp", True),
    ("443", 443, "tcp", True), ("bogus", 443, "tcp", False), (None, 443, "tcp", False),
])
def test_port_coverage(spec, port, proto, ok):
    assert covers([spec] if spec is not None else None, port, proto) is ok


def test_port_spec_parsing():
    assert parse_port_spec("1-65535/udp") == (1, 65535, "udp")
    assert parse_port_spec(True) is None and parse_port_spec("x/tcp") is None


def _fan_twin(twin, order):
    """One user in eight groups, each holding AdminTo and GenericAll on a tier-0 host:
    sixteen equally short, equally cheap paths. Created in the given order, so storage order differs between loads."""
    twin.run("CREATE (:Twin:User {key: 'U@FAN.LOCAL', enabled: true, admincount: false})")
    twin.run("CREATE (:Twin:Computer {key: 'DC.FAN.LOCAL', tier0: true})")
    for i in order:
        twin.run(
            "MATCH (u:Twin {key: 'U@FAN.LOCAL'}), (h:Twin {key: 'DC.FAN.LOCAL'}) "
            "CREATE (g:Twin:Group {key: $g}) CREATE (u)-[:MemberOf]->(g)",
            g=f"G{i}@FAN.LOCAL")
        # two rights of the same cost between the same nodes: two paths with one node list
        for right in (["AdminTo", "GenericAll"] if i % 2 else ["GenericAll", "AdminTo"]):
            twin.run(f"MATCH (g:Twin {{key: $g}}), (h:Twin {{key: 'DC.FAN.LOCAL'}}) CREATE (g)-[:{right}]->(h)",
                     g=f"G{i}@FAN.LOCAL")

def test_one_hop_from_sources(tb):
    """max_hops=1 from sources: no inner hops (a {0,0} quantifier is a Cypher syntax error)."""
    out = paths(tb, sources=["BOB@CORP.LOCAL"], max_hops=1)
    assert out.paths and all(p.hops == 1 for p in out.paths)
    assert ["BOB@CORP.LOCAL", "DOMAIN ADMINS@CORP.LOCAL"] in [p.nodes for p in out.paths]


def test_a_shorter_search_that_finds_enough_gives_the_same_answer(tb, monkeypatch):
    """Searches from sources first try 2, then 3 hops and stop at the first bound that
    already finds the candidates (graph/tools/paths.py, search_bounds): the answer is the
    full search's, whichever way it went."""
    import graph.tools.paths as tool

    bounds: list[int] = []
    built = tool.build_path_query

    def recording(mode, k, max_hops):
        bounds.append(max_hops)
        return built(mode, k, max_hops)

    monkeypatch.setattr(tool, "build_path_query", recording)
    lo, hi = tb.window(None)

    def answer(**kw):
        paths, considered, truncated = tool.find_paths(lambda q, p: tb.rows("attack_paths", q, p), lo=lo, hi=hi, **kw)
        return [(p.nodes, p.edges, p.cost) for p in paths], considered, truncated

    ways = set()
    for source in ("HELPDESK1@CORP.LOCAL", "WEB01.CORP.LOCAL", "DC01.CORP.LOCAL", "CORP.LOCAL", "BOB@CORP.LOCAL"):
        for candidates in (1, 2, 4, 8, 200):
            for k in (1, 3):
                bounds.clear()
                got = answer(sources=[source], k=k, candidates=candidates)
                ways.add(tuple(bounds))
                with monkeypatch.context() as m:
                    m.setattr(tool, "search_bounds", lambda mode, h, large=True: [h])
                    assert answer(sources=[source], k=k, candidates=candidates) == got, (source, candidates, k)
    # every way was taken (stopped after 2 hops, after 3, or ran all three) and each agrees with the full search
    assert {(2,), (2, 3), (2, 3, 6)} <= ways
    bounds.clear()
    answer(target="CUSTOMER-DB", k=3)
    assert bounds == [6]  # toward a target from the entry points: the full search only
    bounds.clear()
    answer(sources=["CORP.LOCAL"], k=3, candidates=1, large=False)
    assert bounds == [6]  # a small twin: the full search only
    bounds.clear()
    paths(tb, sources=["CORP.LOCAL"], k=3)  # the tool itself: the corp twin is small
    assert bounds == [6]


def test_the_internet_alone_is_searched_from_both_ends(tb):
    """Toward a target with the internet as the only entry point the search binds both
    ends ("internet" mode); its answer is the entry-point search's, path for path."""
    import graph.tools.paths as tool

    modes = []
    built = tool.build_path_query
    for target in ("CUSTOMER-DB", "WEB01.CORP.LOCAL", "DB01.CORP.LOCAL", "DC01.CORP.LOCAL", "DOMAIN ADMINS@CORP.LOCAL"):
        for as_of in (None, T0, T0 - 3 * DAY):
            lo, hi = tb.window(as_of)
            for k in (1, 3, 5):
                params = tool.path_params(target=target, internet=True, phish=False, lo=lo, hi=hi,
                                          keep=max(k * 4, 20))
                want = tool.rows_to_paths(tb.rows("attack_paths", built("entry", k, 6), params), "from_entry_point", k)

                def run(query, p):
                    modes.append("MATCH (s:Twin:Internet)" in query)
                    return tb.rows("attack_paths", query, p)

                got, _, _ = tool.find_paths(run, target=target, entry_points=("internet",), k=k, lo=lo, hi=hi)
                assert [p.model_dump() for p in got] == [p.model_dump() for p in want], (target, as_of, k)
    assert all(modes) and len(modes) == 45
    found = paths(tb, target="CUSTOMER-DB", entry_points=["internet"])
    assert found.paths[0].nodes == NET_PATH



@pytest.mark.parametrize("mode", ["source", "pair", "entry"])
def test_equally_short_paths_are_chosen_by_content_not_storage_order(twin, mode):
    """SHORTEST k picks k of equally short paths in storage order; the tool must give the
    same answer however the twin was loaded (the cheapest, then the fewest hops, then by key)."""
    args = {"source": {"sources": ["U@FAN.LOCAL"]},
            "pair": {"sources": ["U@FAN.LOCAL"], "target": "DC.FAN.LOCAL"},
            "entry": {"target": "DC.FAN.LOCAL", "entry_points": ["phishable_users"]}}[mode]
    answers = []
    for order in (range(1, 9), range(8, 0, -1), [5, 2, 8, 1, 7, 3, 6, 4]):
        twin.run("MATCH (n) DETACH DELETE n")
        _fan_twin(twin, order)
        out = Toolbox(twin.driver, twin.database, as_of=T0).call("attack_paths", {**args, "k": 2})
        answers.append([(p.nodes, p.edges) for p in out.paths])
    assert answers[0] == [(["U@FAN.LOCAL", "G1@FAN.LOCAL", "DC.FAN.LOCAL"], ["MemberOf", "AdminTo"]),
                          (["U@FAN.LOCAL", "G1@FAN.LOCAL", "DC.FAN.LOCAL"], ["MemberOf", "GenericAll"])]
    assert answers[1] == answers[0] and answers[2] == answers[0]

