"""The OpenAI analyst, replayed from cassettes recorded against a real local model
(SmolLM2-135M-Instruct on llama.cpp's OpenAI-compatible server; see
tests/cassettes/llm/README.md). Injected faults are marked in the cassettes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agents.investigate_cmd import load_alert
from agents.llm import LLMClient, LLMSettings
from agents.llm_analyst import LLMAnalyst
from agents.runtime import TwinsightService
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


def run_llm(corp, tmp_path, monkeypatch, cassette: str, alert: str, *, faults=None, roles="context_gatherer,lead_analyst",
            rounds="1"):
    monkeypatch.setenv("TWINSIGHT_LLM_ROLES", roles)
    monkeypatch.setenv("TWINSIGHT_LLM_TOOL_ROUNDS", rounds)
    proxy = FaultProxy(faults) if RECORD else None
    settings = LLMSettings(api_key="sk-local-not-a-secret", base_url=proxy.url if proxy else "http://127.0.0.1:8089/v1",
                           model=MODEL, structured="json_object_schema", timeout_s=900, max_retries=2)
    client = LLMClient(settings)
    svc = TwinsightService(corp.driver, corp.database, state_dir=tmp_path, analyst=LLMAnalyst(client))
    try:
        with cassette_vcr().use_cassette(str(_cassette(cassette))):
            out = svc.investigate(load_alert(ALERTS / alert))
    finally:
        if proxy:
            proxy.close()
            strip_upstream(_cassette(cassette))
    assert out.status in ("complete", "needs_human_review"), out.error
    return out.result, client


def recorded(cassette: str) -> list[dict]:
    return yaml.safe_load(_cassette(cassette).read_text())["interactions"]


def test_tool_calls_and_every_kept_claim_is_grounded(corp, tmp_path, monkeypatch):
    r, _ = run_llm(corp, tmp_path, monkeypatch, "dcsync_tool_calls", "dcsync_helpdesk1.ocsf.json",
                   roles="context_gatherer,path_hunter,impact_assessor,lead_analyst", rounds="2")
    assert r["usage"]["llm_calls"] >= 4 and r["usage"]["prompt_tokens"] > 0
    assert r["decided_by"].startswith(("llm:" + MODEL, "offline-rules (fallback"))
    bodies = [json.loads(i["request"]["body"]) for i in recorded("dcsync_tool_calls")]
    assert any(b.get("tools") for b in bodies), "the tool schemas were offered"
    replies = [json.loads(i["response"]["body"]["string"]) for i in recorded("dcsync_tool_calls")]
    assert any(rep["choices"][0]["message"].get("tool_calls") for rep in replies), "the model called tools"
    items = [e for c in r["claims"] for e in c["evidence"]]
    assert all(check_items(corp.driver, items, corp.database))


def test_a_429_is_retried_then_succeeds(corp, tmp_path, monkeypatch):
    r, client = run_llm(corp, tmp_path, monkeypatch, "rate_limited", "dcsync_helpdesk1.ocsf.json", faults={1: "429"})
    statuses = [i["response"]["status"]["code"] for i in recorded("rate_limited")]
    assert statuses[0] == 429 and 200 in statuses[1:]
    assert client.retries >= 1
    assert r["verdict"] in ("true_positive", "benign_positive", "false_positive")


def test_malformed_tool_arguments_come_back_as_an_error_and_the_loop_goes_on(corp, tmp_path, monkeypatch):
    r, _ = run_llm(corp, tmp_path, monkeypatch, "malformed_tool_args", "dcsync_helpdesk1.ocsf.json",
                   faults={1: "malformed-tool-arguments"})
    inter = recorded("malformed_tool_args")
    injected = [i for i in inter if (i["response"].get("headers") or {}).get("x-twinsight-injected")]
    assert injected, "the fault is marked in the cassette"
    second = json.loads(inter[1]["request"]["body"])
    tool_msgs = [m for m in second["messages"] if m.get("role") == "tool"]
    assert tool_msgs and "invalid_arguments" in tool_msgs[0]["content"]
    assert r["alert_id"] == "ALERT-TEST-DCSYNC"


def test_an_answer_that_is_not_json_gets_one_repair_request(corp, tmp_path, monkeypatch):
    # Request 1 is the context gatherer's tool round, 2 its answer; 3 is the lead analyst's.
    r, _ = run_llm(corp, tmp_path, monkeypatch, "invalid_json", "dcsync_helpdesk1.ocsf.json",
                   faults={3: "invalid-json"}, rounds="1")
    inter = recorded("invalid_json")
    repair = [json.loads(i["request"]["body"]) for i in inter]
    assert any("could not be used" in (m.get("content") or "") for b in repair for m in b["messages"])
    assert r["verdict"] in ("true_positive", "benign_positive", "false_positive")


def test_keys_the_model_invents_never_reach_the_result(corp, tmp_path, monkeypatch):
    r, _ = run_llm(corp, tmp_path, monkeypatch, "dcsync_tool_calls", "dcsync_helpdesk1.ocsf.json",
                   roles="context_gatherer,path_hunter,impact_assessor,lead_analyst", rounds="2")
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
            invented |= {v for k, v in args.items() if k in ("key", "target") and isinstance(v, str)}
    fake = invented - existing_keys(corp.driver, invented, corp.database)
    assert fake, "the recorded model invented at least one key"
    assert not fake & named, "no invented key is named in the result"


def test_prompt_injection_in_the_alert_does_not_change_the_verdict(corp, tmp_path, monkeypatch):
    r, _ = run_llm(corp, tmp_path, monkeypatch, "prompt_injection", "dcsync_bob_injection.ecs.json")
    assert r["injection_suspected"]
    assert r["verdict"] == "true_positive"
    bodies = [json.loads(i["request"]["body"]) for i in recorded("prompt_injection")]
    alert_text = [m["content"] for b in bodies for m in b["messages"] if "IGNORE ALL PREVIOUS" in (m.get("content") or "")]
    assert alert_text and all('<data source="alert">' in t for t in alert_text), "alert text reaches the model fenced"
