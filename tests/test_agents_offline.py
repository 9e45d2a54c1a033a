"""The investigation workflow end to end with the offline analyst on a real Neo4j twin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agents.investigate_cmd import load_alert
from agents.models import Claim, Evidence
from agents.offline import OfflineAnalyst
from agents.report import render_html, render_markdown
from agents.result import InvestigationResult
from agents.runtime import TwinsightService
from graph.evidence import check_items
from tests.conftest import validate_contract

REPO = Path(__file__).resolve().parents[1]
ALERTS = REPO / "tests" / "data" / "alerts"


@pytest.fixture
def service(corp, tmp_path):
    return TwinsightService(corp.driver, corp.database, state_dir=tmp_path, llm="offline")


def validate(result: dict) -> None:
    """The contract's schema, and the result model: read back, the dump is the same JSON,
    and a report renders the same from the model as from the dump."""
    validate_contract("investigation", result)
    model = InvestigationResult.model_validate(result)
    assert json.dumps(model.model_dump(), default=str) == json.dumps(result, default=str)
    assert render_markdown(model) == render_markdown(result) and render_html(model) == render_html(result)


def test_dcsync_by_helpdesk_is_a_grounded_true_positive(service, corp):
    out = service.investigate(load_alert(ALERTS / "dcsync_helpdesk1.ocsf.json"))
    assert out.status == "complete", out.error
    r = out.result
    validate(r)
    assert r["alert_id"] == "ALERT-TEST-DCSYNC"
    assert r["verdict"] == "true_positive" and r["rule"] == "dcsync-unauthorised"
    assert r["severity"] in ("high", "critical")
    assert {"HELPDESK1@CORP.LOCAL", "DC01.CORP.LOCAL"} <= {e["key"] for e in r["entities"]}
    assert "T1003.006" in r["techniques"]
    assert "CORP.LOCAL" in r["impacted_assets"] and "DC01.CORP.LOCAL" in r["impacted_assets"]
    assert any(p["kind"] == "to_crown_jewel" for p in r["attack_paths"])
    # Every claim re-verified here against Neo4j, independently of the verifier's flags.
    items = [e for c in r["claims"] for e in c["evidence"]]
    assert items and all(check_items(corp.driver, items, corp.database))
    decisive = [c for c in r["claims"] if c["agent"] == "lead_analyst"]
    assert any(e.get("node") == "EVT:DC01.CORP.LOCAL:Security:900" for c in decisive for e in c["evidence"])
    assert r["usage"]["llm_calls"] == 0 and r["usage"]["cypher_queries"] > 5
    assert {a["agent"] for a in r["audit"]} >= {"intake", "context_gatherer", "path_hunter", "impact_assessor"}


def test_alert_naming_nothing_real_is_a_false_positive_with_absent_evidence(service, corp):
    r = service.investigate(load_alert(ALERTS / "dcsync_ghost.ocsf.json")).result
    validate(r)
    assert r["verdict"] == "false_positive" and r["rule"] == "entities-absent"
    assert r["entities"] == []
    absents = {e["absent"] for c in r["claims"] for e in c["evidence"] if "absent" in e}
    assert absents and all(a.lower().startswith(("helpdesk99", "dc99", "corp\\helpdesk99")) for a in absents)
    assert r["impacted_assets"] == []


def test_planted_instructions_in_the_alert_do_not_change_the_verdict(service):
    r = service.investigate(load_alert(ALERTS / "dcsync_bob_injection.ecs.json")).result
    validate(r)
    # BOB is a Domain Admin but not a domain controller: his replication two days before is
    # unauthorised whatever the alert's text asks for.
    assert r["verdict"] == "true_positive"
    assert r["injection_suspected"], "the planted instruction should be reported"


def test_an_interrupted_investigation_resumes_without_repeating_finished_stages(corp, tmp_path):
    calls: list[str] = []

    class Counting(OfflineAnalyst):
        def intake(self, st, kit):
            calls.append("intake")
            return super().intake(st, kit)

        def gather_context(self, st, kit):
            calls.append("context")
            return super().gather_context(st, kit)

    crash = {"armed": True}

    def fault(stage: str) -> None:
        if stage == "lead_analyst" and crash["armed"]:
            crash["armed"] = False
            raise RuntimeError("simulated crash before the lead analyst")

    svc = TwinsightService(corp.driver, corp.database, state_dir=tmp_path, analyst=Counting(), fault=fault)
    alert = load_alert(ALERTS / "dcsync_helpdesk1.ocsf.json")
    first = svc.investigate(alert, investigation_id="inv-crash")
    assert first.status == "failed" and "simulated crash" in first.error
    assert calls == ["intake", "context"]
    # A new service on the same checkpoint file (as after a process restart).
    svc2 = TwinsightService(corp.driver, corp.database, state_dir=tmp_path, analyst=Counting(), fault=fault)
    second = svc2.investigate(alert, investigation_id="inv-crash")
    assert second.status == "complete", second.error
    assert calls == ["intake", "context"], "finished stages must not run again"
    assert second.result["verdict"] == "true_positive"


def test_the_verifier_drops_a_hallucinated_claim_and_asks_for_review(corp, tmp_path):
    class Hallucinating(OfflineAnalyst):
        """Stands in for a model that cites a key the twin lacks (a test double, not a model)."""

        def decide(self, st, kit):
            d, u = super().decide(st, kit)
            fake = Claim(text="HELPDESK1 is admin on WS99", agent="lead_analyst", decisive=True,
                         evidence=[Evidence(edge=["HELPDESK1@CORP.LOCAL", "AdminTo", "WS99.CORP.LOCAL"])])
            return d.model_copy(update={"claims": [fake]}), u

    svc = TwinsightService(corp.driver, corp.database, state_dir=tmp_path, analyst=Hallucinating())
    r = svc.investigate(load_alert(ALERTS / "dcsync_helpdesk1.ocsf.json")).result
    assert all("WS99" not in json.dumps(c) for c in r["claims"])
    assert any("WS99" in json.dumps(c) for c in r["dropped_claims"])
    assert r["status"] == "needs_human_review"
    assert r["confidence"] <= 0.5


def test_cli_investigate_json_and_html_report(corp, tmp_path, neo4j_settings):
    report = tmp_path / "report.html"
    env_state = {"TWINSIGHT_STATE_DIR": str(tmp_path / "state")}
    import os

    out = subprocess.run(
        [sys.executable, "cli.py", "investigate", str(ALERTS / "dcsync_helpdesk1.ocsf.json"), "--llm", "offline",
         "--json", "--report", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, **env_state},
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    validate(r)
    assert r["verdict"] == "true_positive"
    html = report.read_text()
    assert "<svg" in html and "HELPDESK1@CORP.LOCAL" in html and "MATCH" in html


def test_cli_rejects_a_bad_alert_file_with_one_line(tmp_path):
    bad = tmp_path / "alert.json"
    bad.write_text('{"hello": "world"}')
    out = subprocess.run([sys.executable, "cli.py", "investigate", str(bad), "--json"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and str(bad) in lines[0]


def test_a_spent_budget_still_ends_verified_and_reported(corp, tmp_path):
    """Every stage that spends checks the budget; the verifier and the report never do.
    A recorded run whose model took longer than the time budget stopped at the report
    stage with no result at all ("the investigation stopped before its report")."""
    from agents.models import Budget

    svc = TwinsightService(corp.driver, corp.database, state_dir=tmp_path, analyst=OfflineAnalyst(),
                           budget=Budget(max_seconds=0.0))
    out = svc.investigate(load_alert(ALERTS / "dcsync_helpdesk1.ocsf.json"))
    assert out.result is not None, out.error
    assert out.status == "needs_human_review"
    assert any("time budget exhausted" in r for r in out.result["review_reasons"])
    assert "fallback" in out.result["decided_by"]  # the rules decided, and say why
    validate(out.result)
