"""What a model says its own tool calls found is checked against the role's call log
and the twin (agents.grounding.verify_findings), and what-if runs through the toolkit
audited and counted. A real Toolkit on a real Neo4j twin; the "model" here is the test
naming findings, since the point is what the verifier keeps and drops."""

from __future__ import annotations

from agents.grounding import verify_findings
from agents.settings import AgentSettings
from agents.toolkit import Toolkit
from graph.tools.fixtures import T0, corp_twin

HD1, WS07, DC01 = "HELPDESK1@CORP.LOCAL", "WS07.CORP.LOCAL", "DC01.CORP.LOCAL"


def kit_for(twin, role: str) -> Toolkit:
    return Toolkit(twin.driver, twin.database, T0, role, tools=AgentSettings().tools_of(role))


def test_kept_only_what_the_named_call_returned_and_the_twin_has(twin):
    corp_twin(twin.driver, twin.database)
    kit = kit_for(twin, "context_gatherer")
    c1, _ = kit.model_call("entity_context", {"key": HD1})
    c2, view = kit.model_call("entity_context", '{"key": "TWIN_ID_1"}')  # invented by a tiny model
    c3, bad = kit.model_call("attack_paths", {"target": DC01})  # not this role's tool
    assert c1.ok and c2.ok is not None and not c3.ok and bad["error"]["type"] == "unknown_tool"
    assert WS07 in c1.strings
    judged = verify_findings(kit, "context_gatherer", [
        {"kind": "entity", "key": WS07, "call": "c1"},        # returned by c1, in the twin: kept
        {"kind": "entity", "key": WS07, "call": "c2"},        # c2 did not return it
        {"kind": "entity", "key": "TWIN_ID_1", "call": "c2"},  # the twin lacks it
        {"kind": "entity", "key": WS07, "call": "c9"},        # no such call
        {"kind": "entity", "key": WS07, "call": "c3"},        # a refused call backs nothing
        {"kind": "path", "nodes": [HD1, WS07], "call": "c1"},  # not a gatherer's kind
    ], scripted={HD1})
    kept = [(f.key, f.call) for f in judged if f.kept]
    assert kept == [(WS07, "c1")] and judged[0].new
    reasons = [f.reason for f in judged[1:]]
    assert "did not return" in reasons[0] or "not in the twin" in reasons[0]
    assert reasons[1].startswith(("call c2 did not return", "call c2 failed", "not in the twin"))
    assert "no call 'c9'" in reasons[2] and "failed" in reasons[3] and "not a kind" in reasons[4]
    assert all(f.reason for f in judged if not f.kept)


def test_a_path_is_kept_only_as_the_call_returned_it(twin):
    corp_twin(twin.driver, twin.database)
    kit = kit_for(twin, "path_hunter")
    rec, _ = kit.model_call("attack_paths", {"sources": [HD1]})
    assert rec.ok and rec.paths, "the fixture has a path from HELPDESK1"
    nodes = rec.paths[0][0]
    judged = verify_findings(kit, "path_hunter", [
        {"kind": "path", "nodes": nodes, "call": rec.id},
        {"kind": "path", "nodes": list(reversed(nodes)), "call": rec.id},
        {"kind": "path", "nodes": [*nodes[:-1], "DOMAIN ADMINS@FAKE.LOCAL"], "call": rec.id},
    ], scripted={">".join(nodes)})
    assert [f.kept for f in judged] == [True, False, False]
    assert not judged[0].new  # the scripted path hunter had it: confirmed, not new


def test_whatif_through_the_toolkit_is_audited_counted_and_leaves_the_twin_unchanged(twin):
    corp_twin(twin.driver, twin.database)
    before = twin.snapshot()
    kit = kit_for(twin, "impact_assessor")
    rec, view = kit.model_call("whatif_rank", {"target": "DOMAIN ADMINS@CORP.LOCAL", "sources": [HD1], "top": 3})
    assert rec.ok, view
    assert rec.actions and all(a.get("argv") for a in rec.actions)
    audited = kit.audit_records()
    assert audited and all(r.tool == "whatif_rank" for r in audited) and kit.query_count == len(audited)
    argv = list(rec.actions[0]["argv"])
    judged = verify_findings(kit, "impact_assessor", [
        {"kind": "action", "action": argv, "call": rec.id},
        {"kind": "action", "action": ["disable", "ADMINISTRATOR@CORP.LOCAL"], "call": rec.id},
    ], scripted=set())
    assert [f.kept for f in judged] == [True, False]
    bad, err = kit.model_call("whatif_simulate", {"action": ["format", "DC01"]})
    assert not bad.ok and err["error"]["type"] in ("invalid_arguments", "whatif_failed")
    assert twin.snapshot() == before
