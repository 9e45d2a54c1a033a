"""The evaluation's metrics as pure functions of scenarios and results (no Neo4j): the
source-attribution recall of contract section 6 and how the report shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.metrics import aggregate, score_scenario, source_attribution
from evals.report import write_report
from evals.scenario import Expect, Scenario
from tests.conftest import validate_contract

REPO = Path(__file__).resolve().parents[1]


def scenario(sid: str, verdict: str = "true_positive", **expect) -> Scenario:
    return Scenario(id=sid, title=sid, folder=Path("."), twin=[Path("twin")], alert=Path("alert.json"),
                    expect=Expect(verdict=verdict, **expect))


def result(entities: list[str], paths: list[list[str]], verdict: str = "true_positive") -> dict:
    return {"verdict": verdict, "entities": [{"key": k, "labels": []} for k in entities],
            "attack_paths": [{"nodes": p, "edges": ["X"] * (len(p) - 1), "kind": "observed"} for p in paths]}


def row(scn: Scenario, res: dict | None) -> dict:
    return score_scenario(scn, res, {"claims": 0, "ungrounded_claims": 0}, 0.1, None if res else "failed")


def test_a_source_counts_only_named_as_entity_and_on_a_path():
    res = result(["WS07.CORP.LOCAL", "HELPDESK1@CORP.LOCAL", "DC01.CORP.LOCAL"],
                 [["HELPDESK1@CORP.LOCAL", "DC01.CORP.LOCAL"], ["INTERNET", "WEB01.CORP.LOCAL", "DC01.CORP.LOCAL"]])
    # WS07: an entity on no path; HELPDESK1: both; INTERNET: on a path, no entity.
    assert source_attribution(["WS07.CORP.LOCAL", "HELPDESK1@CORP.LOCAL", "INTERNET"], res) == \
        (["HELPDESK1@CORP.LOCAL"], ["WS07.CORP.LOCAL", "INTERNET"])
    assert source_attribution(["DC01.CORP.LOCAL"], res) == (["DC01.CORP.LOCAL"], [])
    assert source_attribution([], res) == ([], [])
    assert source_attribution(None, res) is None
    assert source_attribution(["DC01.CORP.LOCAL"], {}) == ([], ["DC01.CORP.LOCAL"])


def test_per_scenario_rows_carry_expected_found_and_missed():
    scn = scenario("a", source=["WS07.CORP.LOCAL", "HELPDESK1@CORP.LOCAL"], entities=["HELPDESK1@CORP.LOCAL"])
    r = row(scn, result(["HELPDESK1@CORP.LOCAL"], [["HELPDESK1@CORP.LOCAL", "CORP.LOCAL"]]))
    assert (r["source_expected"], r["source_found"], r["source_missed"]) == (2, 1, ["WS07.CORP.LOCAL"])
    none = row(scenario("b"), result(["HELPDESK1@CORP.LOCAL"], [["HELPDESK1@CORP.LOCAL", "CORP.LOCAL"]]))
    assert (none["source_expected"], none["source_found"], none["source_missed"]) == (None, None, None)
    failed = row(scn, None)  # a run that produced nothing found nothing
    assert (failed["source_expected"], failed["source_found"], failed["source_missed"]) == \
        (2, 0, ["WS07.CORP.LOCAL", "HELPDESK1@CORP.LOCAL"])


def test_recall_is_pooled_over_the_keys_of_scenarios_that_list_a_source():
    rows = [
        # 1 of 2 keys
        row(scenario("a", source=["WS07.CORP.LOCAL", "HELPDESK1@CORP.LOCAL"]),
            result(["HELPDESK1@CORP.LOCAL", "WS07.CORP.LOCAL"], [["HELPDESK1@CORP.LOCAL", "DC01.CORP.LOCAL"]])),
        # 0 of 1 key: named, but on no path
        row(scenario("b", "benign_positive", source=["APP03.CORP.LOCAL"]),
            result(["APP03.CORP.LOCAL"], [], verdict="benign_positive")),
        # 2 of 2 keys
        row(scenario("c", "false_positive", source=["WS09.CORP.LOCAL", "EPEREZ@CORP.LOCAL"]),
            result(["WS09.CORP.LOCAL", "EPEREZ@CORP.LOCAL"], [["WS09.CORP.LOCAL", "EPEREZ@CORP.LOCAL", "DB01.CORP.LOCAL"]],
                   verdict="false_positive")),
        # no source listed: whatever it names does not count either way
        row(scenario("d", "false_positive"), result(["X"], [["X", "Y"]], verdict="false_positive")),
        row(scenario("e", "false_positive", source=[]), result([], [], verdict="false_positive")),
    ]
    m = aggregate(rows)
    assert m["source_attribution_recall"] == pytest.approx(3 / 5, abs=1e-4)  # pooled, not the mean of 1/2, 0, 1
    assert m["triage_accuracy"] == 1.0  # the other metrics are untouched
    only_unlisted = aggregate([rows[3], rows[4]])
    assert only_unlisted["source_attribution_recall"] is None  # undefined, not a perfect score


def test_metrics_with_the_new_field_fit_the_contract_schema():
    scn = scenario("a", source=["WS07.CORP.LOCAL"])
    for rows in ([row(scn, result(["WS07.CORP.LOCAL"], [["WS07.CORP.LOCAL", "DC01.CORP.LOCAL"]]))],
                 [row(scenario("b"), result([], []))]):
        validate_contract("metrics", json.loads(json.dumps(aggregate(rows))))


def test_the_report_shows_the_recall_and_what_each_scenario_missed(tmp_path):
    rows = [row(scenario("scn-a", source=["WS07.CORP.LOCAL", "HELPDESK1@CORP.LOCAL"]),
                result(["HELPDESK1@CORP.LOCAL"], [["HELPDESK1@CORP.LOCAL", "DC01.CORP.LOCAL"]])),
            row(scenario("scn-b", "false_positive"), result([], [], verdict="false_positive"))]
    m = {**aggregate(rows), "analyst": "test", "mode": "offline"}
    write_report(m, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "| source_attribution_recall | 0.5 |" in md
    [line_a] = [x for x in md.splitlines() if x.startswith("| scn-a |")]
    assert "| 1/2 (missed WS07.CORP.LOCAL) |" in line_a
    assert "source_attribution_recall" in (tmp_path / "report.html").read_text()
    assert "source_attribution_recall" in (tmp_path / "charts" / "metrics.svg").read_text()
    undefined = {**aggregate([rows[1]]), "analyst": "test", "mode": "offline"}
    write_report(undefined, tmp_path)
    assert "| source_attribution_recall | n/a |" in (tmp_path / "report.md").read_text()
    assert "source_attribution_recall" not in (tmp_path / "charts" / "metrics.svg").read_text()
