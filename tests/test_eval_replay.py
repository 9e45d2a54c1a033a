"""`eval run --llm replay`: the recorded run of the real local model is served from the
committed cassettes with no network (what CI uses), and scored like any other run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.runner import run_eval

REPO = Path(__file__).resolve().parents[1]
CASSETTES = REPO / "evals" / "cassettes" / "smollm2-135m-instruct"
# Whole-body replay needs the same requests: in the other recorded scenarios the path
# hunter's briefing depends on which of equally short paths Neo4j's SHORTEST k returns (the
# known tie defect), so a replay there may miss; these three replayed in every run (4 of 4).
IDS = ["corp-dcsync-dc-to-dc", "corp-dcsync-unknown-account", "corp-exfil-db-upload"]


def test_replay_of_the_recorded_model(driver, neo4j_settings, tmp_path):
    missing = [i for i in IDS if not (CASSETTES / f"{i}.yaml").exists()]
    if missing:
        pytest.fail(f"cassettes missing for {missing}: see {CASSETTES}/README.md")
    m = run_eval(driver, neo4j_settings.database, REPO / "evals" / "scenarios", tmp_path / "out",
                 llm="replay", cassettes=CASSETTES, only=IDS)
    assert m["scenarios"] == len(IDS) and m["errors"] == 0
    assert m["llm_calls_per_alert"] >= 1 and m["tokens_per_alert"] > 0
    assert m["hallucination_rate"] == 0.0  # re-verified by the evaluator against Neo4j
    for r in m["per_scenario"]:
        assert r["decided_by"].startswith(("llm:smollm2", "offline-rules (fallback", "offline-rules (LLM said"))
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert doc["mode"] == "replay"
