"""The lead analyst asks back: a bounded follow-up to one specialist, answered with that
specialist's own tools, merged into its findings, and the lead decides again.

The model side is a scripted OpenAI-compatible endpoint on loopback (tests/fakes/
openai_peer.py, labelled `llm:scripted-peer`), so the routing is tested on what the
workflow sends and does; the twin is the real Neo4j (the `corp` fixture). What a real
local model does with the same prompts is in the recorded evaluation (evals/cassettes).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from agents.investigate_cmd import load_alert
from agents.llm import LLMClient
from agents.llm_analyst import LLMAnalyst
from agents.models import Budget
from agents.prompts import load
from agents.runtime import TwinsightService
from agents.settings import AgentSettings, LLMSettings
from tests.fakes.openai_peer import MODEL, ScriptedPeer, tool_call

ALERT = Path(__file__).parent / "data" / "alerts" / "dcsync_helpdesk1.ocsf.json"
ROLES = ("context_gatherer", "path_hunter", "impact_assessor", "lead_analyst")


def role_of(body: dict) -> str:
    first = next((m.get("content") or "" for m in body["messages"] if m.get("role") == "user"), "")
    return next((r for r in ROLES if first.startswith(load(r).splitlines()[0])), "?")


def is_follow_up(body: dict) -> bool:
    first = next((m.get("content") or "" for m in body["messages"] if m.get("role") == "user"), "")
    return load("follow_up").splitlines()[0] in first


def fenced(body: dict, source: str) -> str | None:
    """The text of a `<data source=...>` block the request carries, or None."""
    text = "\n".join(m.get("content") or "" for m in body["messages"])
    m = re.search(rf'<data source="{re.escape(source)}">\n(.*?)\n</data>', text, re.S)
    return m.group(1) if m else None


class Script:
    """The lead asks `questions` in turn (one per decision, while any are left); the
    context gatherer, on a follow-up, calls entity_context on the first resolved entity
    and names one key that call returned and one it did not."""

    def __init__(self, questions: list[tuple[str, str]]) -> None:
        self.questions = list(questions)
        self.named: list[str] = []

    def __call__(self, body: dict) -> dict:
        role = role_of(body)
        if body.get("tools"):
            if role == "context_gatherer" and is_follow_up(body) and body["messages"][-1]["role"] == "user" \
                    and "Tool results" not in body["messages"][-1]["content"] and not any(
                        m.get("role") == "tool" for m in body["messages"]):
                ents = json.loads(fenced(body, "twin:entities") or "[]")
                return {"tool_calls": [tool_call(1, "entity_context", {"key": ents[0]["key"]})]}
            return {"content": "no tool needed"}
        if role == "lead_analyst":
            ask = None
            if self.questions:
                r, q = self.questions.pop(0)
                ask = {"role": r, "question": q}
            return {"content": json.dumps({"verdict": "true_positive", "severity": "high", "confidence": 0.8,
                                           "techniques": ["T1003.006"], "reasons": ["scripted"], "claims": [],
                                           "ask": ask})}
        if is_follow_up(body) and role == "context_gatherer":
            results = "\n".join(m.get("content") or "" for m in body["messages"] if m.get("role") == "tool")
            call = re.search(r'"call": "(c\d+)"', results)
            ents = {e["key"] for e in json.loads(fenced(body, "twin:entities") or "[]")}
            fresh = next((k for k in re.findall(r'"key": "([^"]+)"', results)
                          if k not in ents and not k.startswith(("EVT:", "ALERT"))), None)
            self.named = [k for k in (fresh, "EVIL@NOWHERE.LOCAL") if k]
            found = [{"kind": "entity", "key": k, "call": call.group(1) if call else "c9"} for k in self.named]
            return {"content": json.dumps({"summary": "helpdesk1's context, looked up", "found": found, "claims": []})}
        return {"content": json.dumps({"summary": f"{role} scripted", "found": [], "claims": []})}


def investigate(corp, tmp_path, script: Script, *, roles=ROLES, followups=2, budget: Budget | None = None):
    peer = ScriptedPeer(script)
    try:
        llm = LLMSettings(api_key="sk-test", base_url=peer.url, model=MODEL, structured="json_object_schema",
                          max_retries=0, tool_results="tool")
        settings = AgentSettings(llm=llm, roles=frozenset(roles), tool_rounds=2, followup_rounds=followups,
                                 **({"budget": budget} if budget else {}))
        svc = TwinsightService(corp.driver, corp.database, state_dir=tmp_path,
                               analyst=LLMAnalyst(LLMClient(llm)), settings=settings)
        out = svc.investigate(load_alert(ALERT))
    finally:
        peer.close()
    assert out.status in ("complete", "needs_human_review"), out.error
    return out.result, peer.bodies


def test_the_lead_asks_and_the_named_specialist_answers_with_its_own_tools(corp, tmp_path):
    script = Script([("context gatherer", "Which groups give helpdesk1 replication rights?")])
    r, bodies = investigate(corp, tmp_path, script)
    order = [(role_of(b), is_follow_up(b)) for b in bodies]
    first_lead = order.index(("lead_analyst", False))
    asked = [i for i, o in enumerate(order) if o == ("context_gatherer", True)]
    leads = [i for i, o in enumerate(order) if o[0] == "lead_analyst"]
    # lead -> the gatherer (its own tools, its loop, the follow-up task) -> the lead again
    assert asked and asked[0] > first_lead and len(leads) == 2 and leads[1] > asked[-1]
    q = bodies[asked[0]]
    assert {t["function"]["name"] for t in q["tools"]} == set(AgentSettings().tools_of("context_gatherer"))
    assert fenced(q, "twin:the lead analyst's question") == \
        "Which groups give helpdesk1 replication rights?"  # the question travels as data
    assert any(m.get("role") == "tool" for m in bodies[asked[-1]]["messages"]), "its own call's result came back"
    # the lead's second decision sees the answer
    again = json.loads(fenced(bodies[leads[1]], "twin:your earlier questions and the specialists' answers"))
    assert again[0]["asked"] == "context_gatherer" and again[0]["answer"] == "helpdesk1's context, looked up"
    [f] = r["followups"]
    assert f["role"] == "context_gatherer" and f["round"] == 1 and f["decided_by"] == f"llm:{MODEL}"
    assert f["asked_by"] == f"llm:{MODEL}" and f["dropped"] == 1  # the invented key
    new = [k for k in script.named if k != "EVIL@NOWHERE.LOCAL"]
    assert f["found"] == len(new)
    ctx_run = r["roles"]["context_gatherer"]
    assert any(c["tool"] == "entity_context" for c in ctx_run["calls"])
    assert "EVIL@NOWHERE.LOCAL" not in {e["key"] for e in r["entities"]}
    assert r["decided_by"] == f"llm:{MODEL}"
    assert "The lead's follow-up questions" not in json.dumps(r)  # markdown only


def test_follow_ups_are_bounded_by_the_rounds_and_never_repeat(corp, tmp_path):
    script = Script([("path_hunter", "Is there an observed path to DC01?"),
                     ("path_hunter", "Is there an observed path to DC01?"),  # a repeat: not sent
                     ("impact_assessor", "What does isolating DC01 cut?"),
                     ("context_gatherer", "Anything else?")])
    r, bodies = investigate(corp, tmp_path, script, followups=2)
    leads = [b for b in bodies if role_of(b) == "lead_analyst"]
    # round 1 sent; the repeat not sent, and kept with why (the lead's second verdict stands)
    assert [(f["role"], f["sent"]) for f in r["followups"]] == [("path_hunter", True), ("path_hunter", False)]
    assert "already asked" in r["followups"][1]["answer"]
    assert len(leads) == 2


def test_rounds_stop_at_the_setting(corp, tmp_path):
    script = Script([("path_hunter", "q1"), ("impact_assessor", "q2"), ("context_gatherer", "q3"),
                     ("path_hunter", "q4")])
    r, bodies = investigate(corp, tmp_path, script, followups=2)
    assert [(f["question"], f["sent"]) for f in r["followups"]] == [("q1", True), ("q2", True), ("q3", False)]
    assert r["followups"][2]["answer"] == "not sent: 2 round(s) used"
    assert sum(role_of(b) == "lead_analyst" for b in bodies) == 3
    assert sum(is_follow_up(b) for b in bodies) >= 2


def test_no_follow_up_when_rounds_are_zero(corp, tmp_path):
    r, bodies = investigate(corp, tmp_path, Script([("path_hunter", "q1")]), followups=0)
    assert [f["sent"] for f in r["followups"]] == [False] and not any(is_follow_up(b) for b in bodies)
    assert sum(role_of(b) == "lead_analyst" for b in bodies) == 1


def test_a_role_the_model_does_not_play_answers_from_its_script(corp, tmp_path):
    r, bodies = investigate(corp, tmp_path, Script([("impact_assessor", "What would isolating DC01 cut?")]),
                            roles=("lead_analyst",))
    [f] = r["followups"]
    assert f["decided_by"].startswith("offline-rules") and f["found"] == 0
    assert {role_of(b) for b in bodies} == {"lead_analyst"}  # no specialist request was sent


def test_no_follow_up_the_budget_cannot_hold(corp, tmp_path):
    r, bodies = investigate(corp, tmp_path, Script([("path_hunter", "q1")]), roles=("lead_analyst",),
                            budget=Budget(max_llm_calls=3))
    [f] = r["followups"]
    assert not f["sent"] and "budget cannot hold it" in f["answer"]
    assert sum(role_of(b) == "lead_analyst" for b in bodies) == 1
