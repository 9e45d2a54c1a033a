"""The OpenAI analyst, replayed from cassettes recorded against a real local model
(SmolLM2-135M-Instruct on llama.cpp's OpenAI-compatible server; see
tests/cassettes/llm/README.md). Injected faults are marked in the cassettes.

Assertions on requests are on what the code sends now (an httpx event hook on the
OpenAI client's transport sees every request before vcrpy answers it), never on the
request bodies stored in the cassettes; replay matches the whole body (evals/replay.py),
so a request the code no longer sends cannot be answered from a stale recording."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from agents.investigate_cmd import load_alert
from agents.llm import LLMClient
from agents.llm_analyst import LLMAnalyst
from agents.models import Budget
from agents.prompts import load
from agents.runtime import TwinsightService
from agents.settings import AgentSettings, LLMSettings
from graph.evidence import check_items, existing_keys
from graph.tools.fixtures import corp_twin
from tests.llm_recording import CASSETTES, MODEL, RECORD, FaultProxy, cassette_vcr, strip_upstream

ALERTS = Path(__file__).parent / "data" / "alerts"


def _cassette(name: str) -> Path:
    path = CASSETTES / f"{name}.yaml"
    if not RECORD and not path.exists():
        pytest.fail(f"cassette {path} is missing: record it (tests/cassettes/llm/README.md)")
    return path


@pytest.fixture
def corp(twin):
    corp_twin(twin.driver, twin.database)
    return twin


class Sent:
    """Every request the OpenAI client sends, as parsed JSON bodies (an httpx event hook)."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []

    def hook(self, request: httpx.Request) -> None:
        if request.url.path.endswith("/chat/completions"):
            self.bodies.append(json.loads(request.read() or b"{}"))

    def role_of(self, body: dict) -> str:
        first = next((m.get("content") or "" for m in body["messages"] if m.get("role") == "user"), "")
        return next((r for r in ("context_gatherer", "path_hunter", "impact_assessor", "lead_analyst")
                     if first.startswith(load(r).splitlines()[0])), "?")


def run_llm(corp, tmp_path, cassette: str, alert: str, *, faults=None, roles="context_gatherer,lead_analyst",
            rounds=1):
    proxy = FaultProxy(faults) if RECORD else None
    llm = LLMSettings(api_key="sk-local-not-a-secret", base_url=proxy.url if proxy else "http://127.0.0.1:8089/v1",
                      model=MODEL, structured="json_object_schema", timeout_s=900, max_retries=2)
    # A time budget the slow recording machine cannot reach: a stage skipped for time while
    # recording would be a request the (fast) replay sends and the cassette does not have.
    settings = AgentSettings(llm=llm, roles=frozenset(roles.split(",")), tool_rounds=rounds,
                             budget=Budget(max_seconds=7200))
    sent = Sent()
    client = LLMClient(llm, http_client=httpx.Client(event_hooks={"request": [sent.hook]}, timeout=900))
    svc = TwinsightService(corp.driver, corp.database, state_dir=tmp_path, analyst=LLMAnalyst(client),
                           settings=settings)
    try:
        with cassette_vcr().use_cassette(str(_cassette(cassette))):
            out = svc.investigate(load_alert(ALERTS / alert))
    finally:
        if proxy:
            proxy.close()
            strip_upstream(_cassette(cassette))
    assert out.status in ("complete", "needs_human_review"), out.error
    assert "LLM unavailable" not in out.result["decided_by"], out.result["decided_by"]
    return out.result, client, sent, settings


def recorded(cassette: str) -> list[dict]:
    return yaml.safe_load(_cassette(cassette).read_text())["interactions"]


ALL_ROLES = "context_gatherer,path_hunter,impact_assessor,lead_analyst"


def test_tool_calls_and_every_kept_claim_is_grounded(corp, tmp_path):
    r, _, sent, _ = run_llm(corp, tmp_path, "dcsync_tool_calls", "dcsync_helpdesk1.ocsf.json", roles=ALL_ROLES,
                            rounds=2)
    assert r["usage"]["llm_calls"] == len(sent.bodies) >= 4 and r["usage"]["prompt_tokens"] > 0
    assert r["decided_by"].startswith(("llm:" + MODEL, "offline-rules (fallback"))
    replies = [json.loads(i["response"]["body"]["string"]) for i in recorded("dcsync_tool_calls")]
    assert any(rep["choices"][0]["message"].get("tool_calls") for rep in replies), "the model called tools"
    items = [e for c in r["claims"] for e in c["evidence"]]
    assert all(check_items(corp.driver, items, corp.database))


def test_each_role_is_offered_its_own_tools_and_the_lead_none(corp, tmp_path):
    _, _, sent, settings = run_llm(corp, tmp_path, "dcsync_tool_calls", "dcsync_helpdesk1.ocsf.json",
                                   roles=ALL_ROLES, rounds=2)
    offered: dict[str, set[str]] = {}
    for body in sent.bodies:
        role = sent.role_of(body)
        names = {t["function"]["name"] for t in body.get("tools") or []}
        if names:
            offered.setdefault(role, set()).update(names)
            assert names == set(settings.tools_of(role)), (role, names)
        else:
            assert "response_format" in body  # a request without tools asks for the final answer
    assert offered == {r: set(settings.tools_of(r)) for r in ("context_gatherer", "path_hunter", "impact_assessor")}
    assert "observed_path" in offered["path_hunter"]
    assert {"whatif_simulate", "whatif_rank"} <= offered["impact_assessor"]


def test_a_429_is_retried_then_succeeds(corp, tmp_path):
    r, client, sent, _ = run_llm(corp, tmp_path, "rate_limited", "dcsync_helpdesk1.ocsf.json", faults={1: "429"})
    statuses = [i["response"]["status"]["code"] for i in recorded("rate_limited")]
    assert statuses[0] == 429 and 200 in statuses[1:]
    assert client.retries >= 1 and sent.bodies[0] == sent.bodies[1]  # the same request, sent again
    assert r["verdict"] in ("true_positive", "benign_positive", "false_positive")


def test_malformed_tool_arguments_come_back_as_an_error_and_the_loop_goes_on(corp, tmp_path):
    r, _, sent, _ = run_llm(corp, tmp_path, "malformed_tool_args", "dcsync_helpdesk1.ocsf.json",
                            faults={1: "malformed-tool-arguments"})
    inter = recorded("malformed_tool_args")
    injected = [i for i in inter if (i["response"].get("headers") or {}).get("x-twinsight-injected")]
    assert injected, "the fault is marked in the cassette"
    results = [m["content"] for m in sent.bodies[1]["messages"] if m.get("role") == "tool"]
    assert results and "invalid_arguments" in results[0]
    assert r["alert_id"] == "ALERT-TEST-DCSYNC"


def test_an_answer_that_is_not_json_gets_one_repair_request(corp, tmp_path):
    # Request 1 is the context gatherer's tool round, 2 its answer; 3 is the lead analyst's.
    r, _, sent, _ = run_llm(corp, tmp_path, "invalid_json", "dcsync_helpdesk1.ocsf.json",
                            faults={3: "invalid-json"}, rounds=1)
    repair_head = load("repair").split("{error}")[0]
    asked = [b for b in sent.bodies if any(repair_head in (m.get("content") or "") for m in b["messages"])]
    assert len(asked) == 1, "exactly one repair request"
    msgs = asked[0]["messages"]
    assert msgs[-1]["role"] == "user" and msgs[-1]["content"].startswith(repair_head)
    assert msgs[-2]["role"] == "assistant" and "no JSON, injected" in msgs[-2]["content"]  # the bad answer, quoted back
    assert sent.role_of(asked[0]) == "lead_analyst"
    assert r["verdict"] in ("true_positive", "benign_positive", "false_positive")


def test_keys_the_model_invents_never_reach_the_result(corp, tmp_path):
    r, _, _, _ = run_llm(corp, tmp_path, "dcsync_tool_calls", "dcsync_helpdesk1.ocsf.json", roles=ALL_ROLES,
                         rounds=2)
    named = {e["key"] for e in r["entities"]} | set(r["impacted_assets"])
    named |= {k for p in r["attack_paths"] for k in p["nodes"]}
    named |= {e["node"] for c in r["claims"] for e in c["evidence"] if "node" in e}
    assert existing_keys(corp.driver, named, corp.database) == named
    for c in r["dropped_claims"]:
        assert not c["grounded"]
    # What the model passed as keys in its tool calls (it invents them: "twin_id", ...).
    invented = set()
    for i in recorded("dcsync_tool_calls"):
        rep = json.loads(i["response"]["body"]["string"])
        for call in rep["choices"][0]["message"].get("tool_calls") or []:
            try:
                args = json.loads(call["function"]["arguments"])
            except ValueError:
                continue
            invented |= {v for v in args.values() if isinstance(v, str)}
    fake = invented - existing_keys(corp.driver, invented, corp.database)
    assert not fake & named, "no invented key is named in the result"


def test_prompt_injection_in_the_alert_reaches_the_model_only_fenced(corp, tmp_path):
    r, _, sent, _ = run_llm(corp, tmp_path, "prompt_injection", "dcsync_bob_injection.ecs.json")
    assert r["injection_suspected"]
    assert r["verdict"] == "true_positive"
    planted = "IGNORE ALL PREVIOUS"
    carrying = [m["content"] for b in sent.bodies for m in b["messages"] if planted in (m.get("content") or "")]
    assert carrying, "the alert's text reaches the model"
    for text in carrying:
        for at in [i for i in range(len(text)) if text.startswith(planted, i)]:
            opened = text.rfind('<data source="', 0, at)
            closed = text.rfind("</data>", 0, at)
            assert opened > closed, "every occurrence of the planted text is inside a data fence"
