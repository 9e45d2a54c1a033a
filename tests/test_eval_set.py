"""The scenario set is sound (schema, decidability guards) and the offline analyst does
not regress on it: the CI gate of issue step 7."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from evals.runner import run_eval
from evals.scenario import ScenarioError, discover, load_scenario
from graph.alert_model import parse_alert

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "evals" / "scenarios"
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


def test_offline_analyst_meets_the_committed_baseline(driver, neo4j_settings, tmp_path):
    """The CI gate: every tracked metric at least as good as evals/baseline/offline.json,
    and no ungrounded claim at all."""
    baseline = json.loads(BASELINE.read_text())
    root = SCENARIOS
    m = run_eval(driver, neo4j_settings.database, root, tmp_path / "eval", llm="offline")
    assert m["errors"] == 0, [r for r in m["per_scenario"] if r["error"]][:3]
    assert m["hallucination_rate"] == 0.0 and m["entity_hallucination_rate"] == 0.0
    for k in ("triage_accuracy", "macro_f1", "tp_recall", "entity_recall", "path_recall", "impact_jaccard"):
        assert m[k] >= baseline[k] - 1e-9, (k, m[k], baseline[k])
    assert m["fpr"] <= baseline["fpr"] + 1e-9
    assert m["decoy_citations"] <= baseline["decoy_citations"]
    metrics_schema = REPO.parent / "shared" / "spec" / "metrics.schema.json"
    if metrics_schema.exists():
        import jsonschema

        jsonschema.validate(json.loads((tmp_path / "eval" / "metrics.json").read_text()),
                            json.loads(metrics_schema.read_text()))


def test_discover_rejects_duplicate_ids(tmp_path):
    for name in ("a", "b"):
        d = tmp_path / name
        d.mkdir()
        (d / "alert.json").write_text("{}")
        (d / "scenario.yaml").write_text("id: same\ntitle: t\ntwin: [alert.json]\nalert: alert.json\nexpect: {verdict: true_positive}\n")
    with pytest.raises(ScenarioError, match="not unique"):
        discover(tmp_path)
