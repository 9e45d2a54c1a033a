"""The scenario sets are sound (schema, decidability guards) and the offline analyst does
not regress on any of them: the CI gate. Three sets, reported apart: the own set (written
with the rules), the independent one (written from a brief, never from the rules) and
the real one (alerts written from public OTRF captures)."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from evals.runner import run_eval
from evals.scenario import ScenarioError, discover, load_scenario
from graph.alert_model import parse_alert
from tests.conftest import validate_contract

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "evals" / "scenarios"
INDEPENDENT = REPO / "evals" / "independent"
REAL = REPO / "evals" / "real"
BASELINE = REPO / "evals" / "baseline" / "offline.json"
SHARED = REPO.parent / "shared" / "data" / "real"


def scenarios():
    out = []
    for p in sorted(SCENARIOS.rglob("scenario.yaml")):
        try:
            out.append(load_scenario(p.parent))
        except ScenarioError:
            if "real-" in p.parent.name and not SHARED.exists():
                continue  # real-data scenarios need ../shared beside the repo
            raise
    return out


def test_the_set_is_large_varied_and_valid():
    scns = scenarios()
    assert len(scns) >= 60
    verdicts = Counter(s.expect.verdict for s in scns)
    assert set(verdicts) == {"true_positive", "benign_positive", "false_positive"}
    assert min(verdicts.values()) / len(scns) >= 0.2, verdicts
    assert len({tuple(s.twin_signature) for s in scns}) >= 2
    bases = {sig for s in scns for sig in s.twin_signature if "_base" in sig}
    assert len(bases) >= 2, "at least two synthetic enterprises"
    assert all(s.why.strip() for s in scns), "every scenario says why its label holds"
    tags = Counter(t for s in scns for t in s.tags)
    for family in ("dcsync", "kerberoast", "asrep", "spray", "smb", "rdp", "winrm", "exploit", "acl", "persist", "exfil"):
        assert tags[family] >= 3, family
    assert tags["prompt-injection"] >= 2
    assert any(s.expect.must_not_cite for s in scns), "decoys with near-identical names"


def test_real_data_scenarios_are_present():
    if not SHARED.exists():
        pytest.skip("../shared/data/real is absent: the two real-data scenarios cannot run")
    ids = {s.id for s in scenarios()}
    assert {"real-mordor-dcsync", "real-esc1-dcsync"} <= ids


def _features(s) -> dict[str, object]:
    alert = parse_alert(json.loads(s.alert.read_text()))
    has_proc = False
    for p in s.events:
        files = [p] if p.is_file() else list(p.rglob("*"))
        for f in files:
            if f.is_file() and f.suffix == ".jsonl":
                has_proc |= any(json.loads(line).get("EventID") in (4688, 1) for line in f.read_text().splitlines() if line)
    feats: dict[str, object] = {"process_events": has_proc, "severity": alert.severity, "format": alert.format,
                                "has_events": bool(s.events)}
    for w in set(re.findall(r"[a-z0-9$-]+", alert.title.lower())):
        feats[f"title:{w}"] = True
    return feats


def test_no_single_surface_feature_predicts_the_verdict():
    scns = scenarios()
    feats = [_features(s) for s in scns]
    names = sorted({k for f in feats for k in f})
    worst = ("", 0.0)
    for name in names:
        by_value: dict[object, Counter] = defaultdict(Counter)
        for s, f in zip(scns, feats, strict=True):
            by_value[f.get(name, False)][s.expect.verdict] += 1
        acc = sum(c.most_common(1)[0][1] for c in by_value.values()) / len(scns)
        worst = max(worst, (name, acc), key=lambda x: x[1])
    assert worst[1] <= 0.55, f"the one-feature rule on {worst[0]!r} scores {worst[1]:.2f}"


def test_the_independent_set_covers_every_family_with_look_alikes_and_misfires():
    scns = discover(INDEPENDENT)
    assert len(scns) >= 60
    verdicts = Counter(s.expect.verdict for s in scns)
    assert set(verdicts) == {"true_positive", "benign_positive", "false_positive"}
    assert min(verdicts.values()) / len(scns) >= 0.2, verdicts
    assert all(s.why.strip() for s in scns)
    assert sum(bool(s.expect.source) for s in scns) >= len(scns) // 2
    assert (INDEPENDENT / "BRIEF.md").exists(), "the brief its author was given is committed"


def test_the_real_set_names_a_source_for_every_attack():
    if not SHARED.exists():
        pytest.skip("../shared/data/real is absent: the OTRF captures the real set reads are not there")
    scns = discover(REAL)
    attacks = [s for s in scns if s.expect.verdict == "true_positive"]
    assert len(attacks) >= 8 and all(s.expect.source for s in attacks)
    assert {s.expect.verdict for s in scns} == {"true_positive", "benign_positive", "false_positive"}
    assert (REAL / "BRIEF.md").exists()


GATED = ("triage_accuracy", "macro_f1", "tp_recall", "entity_recall", "path_recall", "impact_jaccard",
         "source_attribution_recall")
# attack_paths breaks ties between equally short paths by their content (graph/tools/paths.py),
# but blast_radius and choke_points still take one shortest path per reached node in storage
# order, so the example path behind a node can change between loads of a twin. Metrics read
# from paths get one scenario of slack; verdict metrics get none.
PATH_READ = {"path_recall": "path_hit", "entity_recall": "entities_expected",
             "source_attribution_recall": "source_expected", "impact_jaccard": "impact_jaccard"}
DECOY_SLACK = 1


def _slack(rows: list[dict], name: str, metric: str) -> float:
    """One scenario's worth of a path-read metric on this set: 1 / the scenarios it is
    computed over (those with an expectation for it)."""
    field = PATH_READ.get(metric)
    if field is None:
        return 0.0
    n = sum(1 for r in rows if r.get("set") == name and r.get(field) not in (None, 0, []))
    return 1.0 / max(1, n)


@pytest.mark.slow  # every scenario of the three sets, investigated
def test_offline_analyst_meets_the_committed_baseline_on_every_set(driver, neo4j_settings, tmp_path):
    """The CI gate: on each set, every tracked metric at least as good as
    evals/baseline/offline.json says, and no ungrounded claim or unknown key at all."""
    baseline = json.loads(BASELINE.read_text())["sets"]
    sets = [SCENARIOS, INDEPENDENT] + ([REAL] if SHARED.exists() else [])
    m = run_eval(driver, neo4j_settings.database, sets, tmp_path / "eval", llm="offline")
    assert m["errors"] == 0, [r for r in m["per_scenario"] if r["error"]][:3]
    assert m["hallucination_rate"] == 0.0 and m["entity_hallucination_rate"] == 0.0
    for name, got in m["sets"].items():
        want = baseline[name]
        for k in GATED:
            if want.get(k) is not None:
                assert (got.get(k) or 0.0) >= want[k] - _slack(m["per_scenario"], name, k) - 1e-9, (name, k, got.get(k), want[k])
        assert got["fpr"] <= want["fpr"] + 1e-9, (name, "fpr", got["fpr"], want["fpr"])
        assert got["decoy_citations"] <= want["decoy_citations"] + DECOY_SLACK, (name, got["decoy_citations"])
    validate_contract("metrics", json.loads((tmp_path / "eval" / "metrics.json").read_text()))


def test_discover_rejects_duplicate_ids(tmp_path):
    for name in ("a", "b"):
        d = tmp_path / name
        d.mkdir()
        (d / "alert.json").write_text("{}")
        (d / "scenario.yaml").write_text("id: same\ntitle: t\ntwin: [alert.json]\nalert: alert.json\nexpect: {verdict: true_positive}\n")
    with pytest.raises(ScenarioError, match="not unique"):
        discover(tmp_path)
