"""`eval run --llm replay`: the recorded run of the real local model is served from the
committed cassettes with no network (what CI uses), and scored like any other run.

Every recorded scenario is replayed, from the own, independent and real sets: replay
matches whole request bodies (evals/replay.py), so a prompt, a tool schema or a tool
result that changed since the recording - or a search that no longer answers the same way
on every load of the twin - is a `CassetteMiss` here, counted as an error."""

from __future__ import annotations

import json
from pathlib import Path

from evals.runner import run_eval

REPO = Path(__file__).resolve().parents[1]
CASSETTES = REPO / "evals" / "cassettes" / "smollm2-135m-instruct"
SETS = [REPO / "evals" / "scenarios", REPO / "evals" / "independent", REPO / "evals" / "real"]
SHARED = REPO.parent / "shared" / "data" / "real"


def _recorded() -> dict[str, Path]:
    """Each cassette's scenario id and the set it belongs to."""
    ids = {p.stem: None for p in sorted(CASSETTES.glob("*.yaml"))}
    found: dict[str, Path] = {}
    for s in SETS:
        for i in ids:
            if (s / i / "scenario.yaml").exists():
                found.setdefault(i, s)
    return found


def test_every_cassette_belongs_to_a_scenario_and_the_sets_are_covered():
    found = _recorded()
    stems = sorted(p.stem for p in CASSETTES.glob("*.yaml"))
    assert sorted(found) == stems, f"cassettes without a scenario: {sorted(set(stems) - set(found))}"
    assert len(stems) >= 12
    assert {s.name for s in found.values()} == {"scenarios", "independent", "real"}


def test_replay_of_the_recorded_model(driver, neo4j_settings, tmp_path):
    found = _recorded()
    if not SHARED.exists():  # the real set reads the OTRF captures in ../shared
        found = {i: s for i, s in found.items() if s.name != "real"}
    ids = sorted(found)
    m = run_eval(driver, neo4j_settings.database, sorted(set(found.values())), tmp_path / "out",
                 llm="replay", cassettes=CASSETTES, only=ids)
    errors = {r["id"]: r.get("error") for r in m["per_scenario"] if r.get("error")}
    assert not errors, errors
    assert m["scenarios"] == len(ids) and m["errors"] == 0
    assert m["llm_calls_per_alert"] >= 1 and m["tokens_per_alert"] > 0
    assert m["hallucination_rate"] == 0.0  # re-verified by the evaluator against Neo4j
    for r in m["per_scenario"]:
        assert r["decided_by"].startswith(("llm:smollm2", "offline-rules (fallback", "offline-rules (LLM said"))
    roles = m["roles"]
    assert set(roles) == {"context_gatherer", "path_hunter", "impact_assessor", "lead_analyst"}
    for name in ("context_gatherer", "path_hunter", "impact_assessor"):
        assert roles[name]["llm_calls_per_alert"] >= 1, name  # every specialist reasoned with the model
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert doc["mode"] == "replay"
