"""The evaluation's metrics, exactly as contract section 6 defines them.

Grounding is re-checked here against Neo4j (graph.evidence), while the scenario's twin
is loaded; an agent's own `grounded` flags are never read.
"""

from __future__ import annotations

import statistics
from typing import Annotated, Any

import neo4j
from pydantic import BaseModel, ConfigDict, Field

from agents.models import Verdict
from graph.evidence import check_items, existing_keys

VERDICTS = ("true_positive", "benign_positive", "false_positive")

Rate = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]
Amount = Annotated[float, Field(ge=0)]


class ScenarioScore(BaseModel):
    """One row of `per_scenario`: what score_scenario found for one scenario."""

    model_config = ConfigDict(extra="allow")

    id: str
    title: str
    expected: Verdict
    verdict: Verdict | None  # None: the run produced no result
    correct: bool
    status: str | None
    decided_by: str | None
    rule: str | None
    entities_expected: Count
    entities_found: Count
    paths_found: Count
    path_hit: bool | None  # None: the scenario lists no attack_path
    impact_jaccard: Rate | None  # None: the scenario lists no impacted_assets
    decoys_cited: list[str]
    claims: Count
    ungrounded_claims: Count
    raw_claims: Count
    raw_ungrounded: Count
    keys_named: Count
    keys_missing: list[str]
    llm_calls: Count
    tokens: Count
    cost_usd: Amount
    seconds: Amount
    error: str | None
    tags: list[str]
    source_expected: Count | None  # None: the scenario names no source
    source_found: Count | None
    source_missed: list[str] | None
    roles: dict[str, dict[str, Any]] = Field(default_factory=dict)  # role_rows()
    followups: Count = 0
    set: str | None = None  # the scenario set, added by the runner


class SetMetrics(BaseModel):
    """Contract section 6's metrics over a group of scenarios (one set, or all of them)."""

    model_config = ConfigDict(extra="allow")

    scenarios: Count
    triage_accuracy: Rate
    macro_f1: Rate
    tp_recall: Rate
    fpr: Rate
    entity_recall: Rate
    path_recall: Rate
    impact_jaccard: Rate
    hallucination_rate: Rate
    entity_hallucination_rate: Rate
    decoy_citations: Count
    source_attribution_recall: Rate | None  # None: no scenario lists a source
    llm_calls_per_alert: Amount
    tokens_per_alert: Amount
    cost_usd_per_alert: Amount
    seconds_p50: Amount
    seconds_p95: Amount
    # extra: what the verifier removed, re-checked here (pre-verifier hallucination)
    raw_claim_hallucination_rate: Rate
    roles: dict[str, RoleMetrics] = Field(default_factory=dict)  # per role, per alert
    followups_per_alert: Amount = 0.0  # the lead's questions sent back to a specialist
    errors: Count
    confusion: dict[str, dict[str, int]]  # expected -> predicted ("None": no result) -> count


class Metrics(SetMetrics):
    """OUT/metrics.json. aggregate() fills the scores; the runner adds the fields after
    `per_scenario` (left out of aggregate()'s dump until it sets them)."""

    model_config = ConfigDict(title="Twinsight evaluation metrics (OUT/metrics.json of twinsight eval run)")

    per_scenario: list[ScenarioScore]
    sets: dict[str, SetMetrics] = Field(default_factory=dict)  # each set on its own, several sets run
    mode: str = ""  # offline | openai | replay
    analyst: str = ""
    wall_seconds: Amount = 0.0
    twin_load_seconds: Amount = 0.0
    twins_loaded: Count = 0
    skipped: list[str] = Field(default_factory=list)  # scenarios over data absent here


def named_keys(result: dict) -> set[str]:
    """Every key a result names outside `absent` items."""
    keys = {e.get("key") for e in result.get("entities", [])}
    keys |= {k for p in result.get("attack_paths", []) for k in p.get("nodes", [])}
    keys |= set(result.get("impacted_assets", []))
    keys |= {a.get("target") for a in result.get("recommended_actions", [])}
    for c in result.get("claims", []):
        for e in c.get("evidence", []):
            if "node" in e:
                keys.add(e["node"])
            elif "edge" in e and isinstance(e["edge"], list) and len(e["edge"]) == 3:
                keys.update((e["edge"][0], e["edge"][2]))
    return {k for k in keys if isinstance(k, str)}


def involved_keys(result: dict) -> set[str]:
    """Keys a result names as involved: entities, attack paths, impacted assets."""
    keys = {e.get("key") for e in result.get("entities", [])}
    keys |= {k for p in result.get("attack_paths", []) for k in p.get("nodes", [])}
    keys |= set(result.get("impacted_assets", []))
    return {k for k in keys if isinstance(k, str)}


def verify_result(driver: neo4j.Driver, database: str | None, result: dict) -> dict[str, Any]:
    """Grounding facts of one result, checked against the twin as loaded now."""
    claims = result.get("claims", [])
    items = [e for c in claims for e in c.get("evidence", [])]
    holds = check_items(driver, items, database) if items else []
    ungrounded, i = 0, 0
    for c in claims:
        n = len(c.get("evidence", []))
        if n == 0 or not all(holds[i:i + n]):
            ungrounded += 1
        i += n
    dropped = result.get("dropped_claims", []) or []
    d_items = [e for c in dropped for e in c.get("evidence", [])]
    d_holds = check_items(driver, d_items, database) if d_items else []
    d_bad, j = 0, 0
    for c in dropped:
        n = len(c.get("evidence", []))
        if n == 0 or not all(d_holds[j:j + n]):
            d_bad += 1
        j += n
    keys = named_keys(result)
    present = existing_keys(driver, keys, database)
    return {"claims": len(claims), "ungrounded_claims": ungrounded,
            "keys_named": len(keys), "keys_missing": sorted(keys - present),
            "raw_claims": len(claims) + len(dropped), "raw_ungrounded": ungrounded + d_bad}


def source_attribution(expected: list[str] | None, result: dict) -> tuple[list[str], list[str]] | None:
    """(found, missed) of the expected source keys: a key is found when the result names
    it among its `entities` AND on at least one of its `attack_paths` - naming where an
    activity came from is not enough without tying it to the path it took. None when
    the scenario lists no source."""
    if expected is None:
        return None
    ents = {e.get("key") for e in result.get("entities", [])}
    on_path = {k for p in result.get("attack_paths", []) for k in p.get("nodes", [])}
    found = [k for k in expected if k in ents and k in on_path]
    return found, [k for k in expected if k not in found]


def _is_subsequence(want: list[str], have: list[str]) -> bool:
    it = iter(have)
    return all(any(x == y for y in it) for x in want)


def score_scenario(scn, result: dict | None, check: dict | None, seconds: float, error: str | None) -> dict[str, Any]:
    exp = scn.expect
    res = result or {}
    verdict = res.get("verdict")
    ents = {e.get("key") for e in res.get("entities", [])}
    row: dict[str, Any] = {
        "id": scn.id, "title": scn.title, "expected": exp.verdict, "verdict": verdict,
        "correct": verdict == exp.verdict, "status": res.get("status", "failed" if error else None),
        "decided_by": res.get("decided_by"), "rule": res.get("rule"),
        "entities_expected": len(exp.entities), "entities_found": len(set(exp.entities) & ents),
        "paths_found": len(res.get("attack_paths", [])),
        "path_hit": None, "impact_jaccard": None,
        "decoys_cited": sorted(set(exp.must_not_cite) & involved_keys(res)),
        "claims": (check or {}).get("claims", 0), "ungrounded_claims": (check or {}).get("ungrounded_claims", 0),
        "raw_claims": (check or {}).get("raw_claims", 0), "raw_ungrounded": (check or {}).get("raw_ungrounded", 0),
        "keys_named": (check or {}).get("keys_named", 0), "keys_missing": (check or {}).get("keys_missing", []),
        "llm_calls": res.get("usage", {}).get("llm_calls", 0),
        "tokens": res.get("usage", {}).get("prompt_tokens", 0) + res.get("usage", {}).get("completion_tokens", 0),
        "cost_usd": res.get("usage", {}).get("cost_usd", 0.0),
        "seconds": round(seconds, 3), "error": error, "tags": scn.tags,
        "roles": role_rows(res),
        "followups": sum(1 for f in res.get("followups") or [] if f.get("sent")),
    }
    src = source_attribution(exp.source, res)
    row["source_expected"] = None if src is None else len(exp.source)
    row["source_found"] = None if src is None else len(src[0])
    row["source_missed"] = None if src is None else src[1]
    if exp.attack_path:
        row["path_hit"] = any(_is_subsequence(exp.attack_path, p.get("nodes", [])) for p in res.get("attack_paths", []))
    if exp.impacted_assets is not None:
        a, b = set(exp.impacted_assets), set(res.get("impacted_assets", []))
        row["impact_jaccard"] = 1.0 if not a and not b else len(a & b) / len(a | b)
    return row


ROLES = ("context_gatherer", "path_hunter", "impact_assessor", "lead_analyst")


class RoleMetrics(BaseModel):
    """One role over a run, per alert (the rules' run and a model's side by side): what it
    called, what the model cost, and how much of its findings the model's own calls found."""

    alerts: Count
    tool_calls_per_alert: Amount  # every twin read the role made (script and model)
    twin_ms_per_alert: Amount
    # The rest only where a model played the role (None in the rules' run):
    model_tool_calls_per_alert: Amount | None = None  # of those calls, the model's own
    llm_calls_per_alert: Amount | None = None
    tokens_per_alert: Amount | None = None
    model_seconds_per_alert: Amount | None = None
    findings_per_alert: Amount | None = None
    from_model_share: Rate | None = None  # share of the role's findings only the model's calls found
    confirmed: Count | None = None  # items the model named that the script found too
    dropped: Count | None = None  # items the model named that the verifier dropped
    claims_dropped: Count | None = None
    fallbacks: Count | None = None  # runs where the model's output was unusable and the script stood alone
    followups_answered: Count | None = None  # the lead's questions this role answered


def role_rows(result: dict) -> dict[str, dict[str, Any]]:
    """Per role, from one result: its twin reads (the audit) and, in a model-driven run,
    its RoleRun (`roles`) and the lead's follow-ups it answered."""
    out: dict[str, dict[str, Any]] = {}
    for a in result.get("audit") or []:
        r = out.setdefault(str(a.get("agent")), {"tool_calls": 0, "twin_ms": 0.0})
        r["tool_calls"] += 1
        r["twin_ms"] += float(a.get("ms") or 0.0)
    for role, run in (result.get("roles") or {}).items():
        r = out.setdefault(role, {"tool_calls": 0, "twin_ms": 0.0})
        r.update({k: run.get(k, 0) for k in ("llm_calls", "prompt_tokens", "completion_tokens", "seconds",
                                             "tool_calls", "findings", "from_model", "confirmed", "dropped",
                                             "claims_dropped")} | {"model_tool_calls": run.get("tool_calls", 0),
                                                                   "tool_calls": r["tool_calls"]})
        r["fallback"] = str(run.get("decided_by", "")).startswith("offline-rules (fallback")
    for f in result.get("followups") or []:
        if f.get("sent"):
            r = out.setdefault(str(f.get("role")), {"tool_calls": 0, "twin_ms": 0.0})
            r["followups"] = r.get("followups", 0) + 1
    return {k: v for k, v in out.items() if k in ROLES}


def aggregate_roles(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    n = sum(1 for r in rows if not r.get("error"))
    out: dict[str, dict[str, Any]] = {}
    for role in ROLES:
        got = [r["roles"][role] for r in rows if role in (r.get("roles") or {})]
        if not got or not n:
            continue

        def total(k: str, got: list[dict[str, Any]] = got) -> float:
            return sum(float(g.get(k) or 0) for g in got)

        findings = total("findings")
        base = RoleMetrics(alerts=len(got), tool_calls_per_alert=round(total("tool_calls") / n, 2),
                           twin_ms_per_alert=round(total("twin_ms") / n, 1))
        if not any("llm_calls" in g for g in got):  # no model in this role: the script's reads only
            out[role] = base.model_dump()
            continue
        out[role] = RoleMetrics(
            **base.model_dump(include={"alerts", "tool_calls_per_alert", "twin_ms_per_alert"}),
            model_tool_calls_per_alert=round(total("model_tool_calls") / n, 2),
            llm_calls_per_alert=round(total("llm_calls") / n, 2),
            tokens_per_alert=round((total("prompt_tokens") + total("completion_tokens")) / n, 1),
            model_seconds_per_alert=round(total("seconds") / n, 2),
            findings_per_alert=round(findings / n, 2),
            from_model_share=round(total("from_model") / findings, 4) if findings else 0.0,
            confirmed=int(total("confirmed")), dropped=int(total("dropped")),
            claims_dropped=int(total("claims_dropped")),
            fallbacks=sum(1 for g in got if g.get("fallback")),
            followups_answered=int(total("followups")),
        ).model_dump()
    return out


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's Metrics, dumped: the runner adds its own fields to the dict."""
    n = len(rows)
    f1s = []
    for v in VERDICTS:
        tp = sum(r["verdict"] == v and r["expected"] == v for r in rows)
        fp = sum(r["verdict"] == v and r["expected"] != v for r in rows)
        fn = sum(r["verdict"] != v and r["expected"] == v for r in rows)
        f1s.append(1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn))
    tps = [r for r in rows if r["expected"] == "true_positive"]
    nontp = [r for r in rows if r["expected"] != "true_positive"]
    paths = [r for r in rows if r["path_hit"] is not None]
    impacts = [r["impact_jaccard"] for r in rows if r["impact_jaccard"] is not None]
    claims = sum(r["claims"] for r in rows)
    keys = sum(r["keys_named"] for r in rows)
    ent_exp = sum(r["entities_expected"] for r in rows)
    secs = [r["seconds"] for r in rows]
    confusion = {e: {p: sum(r["expected"] == e and r["verdict"] == p for r in rows) for p in (*VERDICTS, None)}
                 for e in VERDICTS}
    raw_claims = sum(r["raw_claims"] for r in rows)
    # Pooled over the keys of the scenarios that list a source; none listed: undefined.
    src_exp = sum(r.get("source_expected") or 0 for r in rows)
    src_found = sum(r.get("source_found") or 0 for r in rows)
    metrics = Metrics(**{
        "scenarios": n,
        "triage_accuracy": round(sum(r["correct"] for r in rows) / n, 4) if n else 0.0,
        "macro_f1": round(statistics.fmean(f1s), 4),
        "tp_recall": round(sum(r["verdict"] == "true_positive" for r in tps) / len(tps), 4) if tps else 0.0,
        "fpr": round(sum(r["verdict"] == "true_positive" for r in nontp) / len(nontp), 4) if nontp else 0.0,
        "entity_recall": round(sum(r["entities_found"] for r in rows) / ent_exp, 4) if ent_exp else 1.0,
        "path_recall": round(sum(bool(r["path_hit"]) for r in paths) / len(paths), 4) if paths else 0.0,
        "impact_jaccard": round(statistics.fmean(impacts), 4) if impacts else 0.0,
        "hallucination_rate": round(sum(r["ungrounded_claims"] for r in rows) / claims, 4) if claims else 0.0,
        "entity_hallucination_rate": round(sum(len(r["keys_missing"]) for r in rows) / keys, 4) if keys else 0.0,
        "decoy_citations": sum(len(r["decoys_cited"]) for r in rows),
        "source_attribution_recall": round(src_found / src_exp, 4) if src_exp else None,
        "llm_calls_per_alert": round(sum(r["llm_calls"] for r in rows) / n, 3) if n else 0.0,
        "tokens_per_alert": round(sum(r["tokens"] for r in rows) / n, 1) if n else 0.0,
        "cost_usd_per_alert": round(sum(r["cost_usd"] for r in rows) / n, 6) if n else 0.0,
        "seconds_p50": round(_pct(secs, 0.5), 3),
        "seconds_p95": round(_pct(secs, 0.95), 3),
        # extra: what the verifier removed, re-checked here (pre-verifier hallucination)
        "raw_claim_hallucination_rate": round(sum(r["raw_ungrounded"] for r in rows) / raw_claims, 4) if raw_claims else 0.0,
        "roles": aggregate_roles(rows),
        "followups_per_alert": round(sum(r.get("followups", 0) for r in rows) / n, 3) if n else 0.0,
        "errors": sum(1 for r in rows if r["error"]),
        "confusion": {e: {str(p): c for p, c in row.items()} for e, row in confusion.items()},
        "per_scenario": rows,
    })
    return metrics.model_dump(exclude_unset=True)
