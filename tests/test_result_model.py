"""The investigation result is agents/result.py's model, and its dump is the JSON the
hand-assembled dict used to be: same keys, same order, same values, the same optional
keys left out. Stored results, `--json` and the bot all print that dump, so a field
that moves or a number that turns from 3 into 3.0 is a changed output."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from agents.models import (
    Answer,
    AttackPath,
    Claim,
    ContextFindings,
    Decision,
    EntityRef,
    Evidence,
    ImpactFindings,
    Mention,
    Origin,
    PathFindings,
    RecommendedAction,
    TimelineEntry,
    ToolCallRecord,
    Usage,
)
from agents.report import build_result, render_html, render_markdown, result_model
from agents.result import InvestigationResult, as_result
from agents.state import InvestigationState
from tests.conftest import validate_contract

HD1, WS07, DC01 = "HELPDESK1@CORP.LOCAL", "WS07.CORP.LOCAL", "DC01.CORP.LOCAL"
GRANT = Claim(text="HELPDESK1 can replicate the domain", agent="lead_analyst", grounded=True,
              evidence=[Evidence(edge=[HD1, "GetChangesAll", "CORP.LOCAL"]), Evidence(node=DC01)])


def state(verdict: str = "true_positive") -> InvestigationState:
    observed = AttackPath(nodes=[WS07, HD1, DC01], edges=["HasSession", "DCSync"], kind="observed",
                          times=[1700000000, None])
    onward = AttackPath(nodes=[DC01, "CORP.LOCAL"], edges=["DCFor"], kind="to_crown_jewel", cost=2.0)
    entry = AttackPath(nodes=["INTERNET", WS07], edges=["Exposes"], kind="from_entry_point", cost=1.0)
    return InvestigationState(
        investigation_id="inv-1", alert_doc={}, alert={"id": "ALERT-1"},
        entities=[EntityRef(key=HD1, labels=["User"], role="user", mention="helpdesk1"),
                  EntityRef(key="WS09.CORP.LOCAL", labels=["Computer"], role="host", mention="ws09")],
        mentions=[Mention(role="user", text="helpdesk1", resolved=HD1)],
        absent=["GHOST"], injection=["ignore previous instructions"],
        context=ContextFindings(summary="ctx", entity_context={DC01: {"labels": ["Twin", "Computer"]}},
                                origin=Origin(host=WS07, account=HD1)),
        paths=PathFindings(summary="paths", observed=[observed], paths=[onward, entry]),
        impact=ImpactFindings(summary="impact", impacted_assets=["CORP.LOCAL"]),
        decision=Decision(
            verdict=verdict, severity="high", confidence=0.91234, techniques=["T1003.006"],
            reasons=["replication from a helpdesk account"], decided_by="offline-rules", rule="dcsync",
            recommended_actions=[RecommendedAction(action="disable", target=HD1, paths_removed=3)],
            answers=[Answer(question="happened", status="corroborated", summary="seen", claims=[GRANT],
                            details={"events": 2, "chain": ["dropped from the result"]})],
            timeline=[TimelineEntry(time="2023-11-14T22:13:20Z", timestamp=1700000000, host=DC01,
                                    what="4662 replication")],
            misattributed=["WS09.CORP.LOCAL"]),
        verified_claims=[GRANT],
        dropped_claims=[Claim(text="made up", evidence=[Evidence(absent="NOPE")], grounded=False)],
        review_reasons=["low confidence"],
        approvals={"act-1": {"approved": True, "by": "U-ALICE"}},
        usage=Usage(llm_calls=1, prompt_tokens=10, completion_tokens=5, cost_usd=0.5, cypher_queries=7),
        audit=[ToolCallRecord(agent="context_gatherer", tool="entity_context", query="MATCH (n) RETURN n",
                              rows=1, ms=2.5)],
    )


def test_the_dump_is_the_json_the_report_always_wrote():
    got = build_result(state())
    want = {
        "alert_id": "ALERT-1", "verdict": "true_positive", "confidence": 0.912, "severity": "high",
        "entities": [{"key": HD1, "labels": ["User"], "role": "user", "mention": "helpdesk1"},
                     {"key": WS07, "labels": [], "role": "observed_path", "mention": ""},
                     {"key": DC01, "labels": ["Computer"], "role": "observed_path", "mention": ""}],
        "attack_paths": [
            {"nodes": [WS07, HD1, DC01], "edges": ["HasSession", "DCSync"], "kind": "observed",
             "times": [1700000000, None]},
            {"nodes": [DC01, "CORP.LOCAL"], "edges": ["DCFor"], "kind": "to_crown_jewel", "cost": 2.0},
            {"nodes": ["INTERNET", WS07], "edges": ["Exposes"], "kind": "from_entry_point", "cost": 1.0}],
        "impacted_assets": ["CORP.LOCAL"], "techniques": ["T1003.006"],
        "claims": [{"text": GRANT.text, "evidence": [{"edge": [HD1, "GetChangesAll", "CORP.LOCAL"]}, {"node": DC01}],
                    "agent": "lead_analyst", "grounded": True}],
        "recommended_actions": [{"action": "disable", "target": HD1, "paths_removed": 3, "args": [], "breaks": 0,
                                 "why": ""}],
        "usage": {"llm_calls": 1, "prompt_tokens": 10, "completion_tokens": 5, "cost_usd": 0.5,
                  "cypher_queries": 7},
        "seconds": 0.0, "investigation_id": "inv-1", "status": "needs_human_review",
        "review_reasons": ["low confidence"], "decided_by": "offline-rules", "rule": "dcsync",
        "reasons": ["replication from a helpdesk account"],
        "answers": [{"question": "happened", "status": "corroborated", "summary": "seen",
                     "evidence": [{"edge": [HD1, "GetChangesAll", "CORP.LOCAL"]}, {"node": DC01}],
                     "details": {"events": 2}}],
        "timeline": [{"time": "2023-11-14T22:13:20Z", "timestamp": 1700000000, "host": DC01, "account": None,
                      "what": "4662 replication", "key": None}],
        "source": {"host": WS07, "account": HD1, "ip": None, "chain": [], "evidence": []},
        "dropped_claims": [{"text": "made up", "evidence": [{"absent": "NOPE"}], "agent": "", "grounded": False}],
        "absent": ["GHOST"],
        "mentions": [{"role": "user", "text": "helpdesk1", "resolved": HD1, "candidates": [], "reason": ""}],
        "injection_suspected": ["ignore previous instructions"],
        "approvals": {"act-1": {"approved": True, "by": "U-ALICE"}},
        "audit": [{"agent": "context_gatherer", "tool": "entity_context", "params": {},
                   "query": "MATCH (n) RETURN n", "rows": 1, "ms": 2.5, "error": None}],
        "summaries": {"context": "ctx", "paths": "paths", "impact": "impact"},
    }
    # json.dumps, not ==: key order and 3 vs 3.0 are part of the output
    assert json.dumps(got) == json.dumps(want)
    validate_contract("investigation", got)


def test_a_benign_result_keeps_what_happened_not_where_an_attacker_could_go():
    got = build_result(state("benign_positive"))
    assert [p["kind"] for p in got["attack_paths"]] == ["observed", "from_entry_point"]
    assert got["impacted_assets"] == []


def test_a_stored_dump_reads_back_as_the_same_result_and_renders_the_same():
    model = result_model(state())
    dump = model.model_dump()
    assert as_result(dump) == model and as_result(model) is model
    assert json.dumps(as_result(json.loads(json.dumps(dump))).model_dump()) == json.dumps(dump)
    assert render_markdown(dump) == render_markdown(model)
    assert render_html(dump) == render_html(model)
    # an awaiting-approval partial (agents/runtime.py) and a field we do not know yet still read
    assert as_result({**dump, "status": "awaiting_approval", "later": 1}).model_dump()["later"] == 1


@pytest.mark.parametrize("change, field", [
    ({"verdict": "probably_bad"}, "verdict"),
    ({"confidence": 1.5}, "confidence"),
    ({"techniques": ["credential dumping"]}, "techniques.0"),
    ({"alert_id": ""}, "alert_id"),
    ({"usage": {"llm_calls": -1, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0,
                "cypher_queries": 0}}, "usage.llm_calls"),
    ({"claims": [{"text": "t", "evidence": [{"node": "A", "edge": ["A", "T", "B"]}]}]}, "claims.0.evidence.0"),
])
def test_a_result_outside_the_contract_is_refused_naming_the_field(change, field):
    dump = build_result(state())
    with pytest.raises(ValidationError) as err:
        InvestigationResult.model_validate({**dump, **change})
    assert any(".".join(map(str, e["loc"])).startswith(field) for e in err.value.errors()), err.value
