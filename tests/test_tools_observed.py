"""observed_path and expert_cypher on the corp twin."""

from __future__ import annotations

import pytest

from graph.tools.base import Toolbox
from graph.tools.expert import extract_identifiers
from graph.tools.fixtures import DAY, T0


@pytest.fixture(scope="module")
def tb(corp):
    return Toolbox(corp.driver, corp.database)


def test_observed_dcsync_story(tb):
    out = tb.call("observed_path", {"alert": "ALERT-DCSYNC-1"})
    kinds = [s.kind for s in out.steps]
    assert kinds == ["logon", "process", "connection", "replication", "alert"]  # time order
    logon, process, conn, repl, alert = out.steps
    assert logon.evidence == ["EVT:WS07.CORP.LOCAL:Security:100"]
    assert [e.edge for e in logon.edges] == [
        ["HELPDESK1@CORP.LOCAL", "MemberOf", "HELPDESK@CORP.LOCAL"],
        ["HELPDESK@CORP.LOCAL", "AdminTo", "WS07.CORP.LOCAL"],
        ["WS07.CORP.LOCAL", "HasSession", "HELPDESK1@CORP.LOCAL"],
    ]
    assert all(e.in_twin for e in logon.edges)
    assert "mimikatz" in process.summary and process.edges == []
    assert conn.edges[0].edge == ["WS07.CORP.LOCAL", "ConnectedTo", "DC01.CORP.LOCAL"] and conn.edges[0].in_twin
    # helpdesk1 holds no replication right: the observed edge is not in the twin (the finding)
    assert [(e.edge, e.in_twin) for e in repl.edges] == [(["HELPDESK1@CORP.LOCAL", "DCSync", "CORP.LOCAL"], False)]
    assert alert.evidence == ["ALERT-DCSYNC-1"]
    main = out.paths[0]
    assert main.kind == "observed"
    # contract path_recall: WS07 -> HELPDESK1 -> CORP.LOCAL in order
    seq = iter(main.nodes)
    assert all(k in seq for k in ["WS07.CORP.LOCAL", "HELPDESK1@CORP.LOCAL", "CORP.LOCAL"])
    assert main.evidence_edges[-1] == ["HELPDESK1@CORP.LOCAL", "DCSync", "CORP.LOCAL"]
    assert "HELPDESK10@CORP.LOCAL" not in {n for p in out.paths for n in p.nodes}  # decoy's logon elsewhere


def test_observed_replication_via_group_and_window(tb):
    narrow = tb.call("observed_path", {"entities": ["BOB@CORP.LOCAL"], "as_of": T0})
    assert narrow.steps == []  # BOB replicated two days before: outside the default one-day window
    wide = tb.call("observed_path", {"entities": ["BOB@CORP.LOCAL"], "as_of": T0, "before_s": 3 * DAY})
    repl = next(s for s in wide.steps if s.kind == "replication")
    assert [(e.edge, e.in_twin) for e in repl.edges] == [
        (["BOB@CORP.LOCAL", "MemberOf", "DOMAIN ADMINS@CORP.LOCAL"], True),
        (["DOMAIN ADMINS@CORP.LOCAL", "DCSync", "CORP.LOCAL"], True),
    ]


def test_observed_needs_a_time(tb):
    err = tb.call_tool("observed_path", {"entities": ["BOB@CORP.LOCAL"]})
    assert err["error"]["type"] == "invalid_arguments"
    assert tb.call_tool("observed_path", {"alert": "NOPE"})["error"]["type"] == "not_found"


def test_expert_runs_valid_queries(tb):
    out = tb.call("expert_cypher", {
        "cypher": "MATCH (u:User)-[:MemberOf*1..3]->(g:Group {key: $g}) WHERE u.enabled RETURN u.key AS k ORDER BY k",
        "params": {"g": "WS ADMINS@CORP.LOCAL"}})
    assert [r["k"] for r in out.rows] == ["HELPDESK1@CORP.LOCAL"] and out.columns == ["k"]
    capped = tb.call("expert_cypher", {"cypher": "MATCH (n:Computer) RETURN n.key AS k ORDER BY k", "max_rows": 2})
    assert capped.row_count == 2 and capped.truncated
    assert tb.audit[-1].tool == "expert_cypher"


@pytest.mark.parametrize("cypher, problem", [
    ("MATCH (u:Usr) RETURN u", "label 'Usr'"),
    ("MATCH (u:User)-[:MemberOff]->(g) RETURN g", "relationship type 'MemberOff'"),
    ("MATCH (u:User) WHERE u.enabeld RETURN u", "property 'enabeld'"),
    ("MATCH (u:User {samacountname: 'x'}) RETURN u", "property 'samacountname'"),
    ("MATCH (c:Computer) WHERE c:Computr RETURN c", "label 'Computr'"),
    ("MATCH ()-[:AdminTo|CanRDPP]->(c) RETURN c", "relationship type 'CanRDPP'"),
])
def test_expert_refuses_unknown_schema(tb, cypher, problem):
    err = tb.call_tool("expert_cypher", {"cypher": cypher})["error"]
    assert err["type"] == "unknown_schema" and problem in err["message"] and "did you mean" in err["message"]


def test_expert_refuses_writes_and_leaves_twin(corp, tb):
    before = corp.snapshot()
    for q in ["MATCH (n:User) SET n.enabled = false", "CALL db.createLabel('X')", "MATCH (n) DETACH DELETE n"]:
        assert tb.call_tool("expert_cypher", {"cypher": q})["error"]["type"] == "refused"
        assert tb.audit[-1].ok is False
    assert corp.snapshot() == before


@pytest.mark.parametrize("cypher, labels, rels, props", [
    ("MATCH (n:User {key: $k})-[r:MemberOf]->(g:Group) WHERE n.enabled RETURN g.name",
     {"User", "Group"}, {"MemberOf"}, {"key", "enabled", "name"}),
    ("UNWIND $rows AS row RETURN row.anything, {a: 1} AS m", set(), set(), set()),
    ("MATCH (n) RETURN n {.key, x: 1}, count(n), datetime.fromepoch(1, 0)", set(), set(), set()),
    ("MATCH p = SHORTEST 1 (a:User)-[:MemberOf|AdminTo]->+(b) WHERE b:Computer|Group RETURN p",
     {"User", "Computer", "Group"}, {"MemberOf", "AdminTo"}, set()),
    ("MATCH (n:`Odd Label`) RETURN [x IN n.tags | x.y] AS t", {"Odd Label"}, set(), {"tags"}),
    ("RETURN 'n:User' AS s, \"x.y\" AS t", set(), set(), set()),
])
def test_identifier_extraction_is_conservative(cypher, labels, rels, props):
    found = extract_identifiers(cypher)
    assert found == {"labels": labels, "rels": rels, "props": props}
