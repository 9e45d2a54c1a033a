"""The grounding verifier: every claim's evidence is checked against Neo4j.

A claim is grounded when it has evidence and every item holds in the twin (the node
or edge exists; an `absent` name really is absent). Ungrounded claims are dropped
from the result (and listed as dropped); keys in paths, entities and impacted
assets that the twin lacks are removed. When the verdict rests on ungrounded claims
the confidence is halved and the investigation asks for human review.

`verify_findings` judges what a model says its own tool calls found against the call
log (agents.toolkit) and the twin: what it cannot back is dropped and counted.
"""

from __future__ import annotations

from typing import Any

from agents.models import AttackPath, Claim, ModelFinding, RoleRun
from agents.state import InvestigationState
from agents.toolkit import Toolkit
from graph.evidence import check_items, existing_keys


def _all_claims(st: InvestigationState) -> list[Claim]:
    claims: list[Claim] = []
    for part in (st.context, st.paths, st.impact, st.decision):
        if part is not None:
            claims.extend(part.claims)
    return claims


def verify_claims(st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
    claims = _all_claims(st)
    items = [e.item() for c in claims for e in c.evidence]
    holds = check_items(kit.driver, items, kit.database) if items else []
    kit.count_queries(3)
    verified, dropped = [], []
    i = 0
    for c in claims:
        n = len(c.evidence)
        ok = n > 0 and all(holds[i:i + n])
        i += n
        checked = c.model_copy(update={"grounded": ok})
        (verified if ok else dropped).append(checked)

    # Keys the result will name outside claims must exist too.
    named = {e.key for e in st.entities}
    for p in _paths(st):
        named.update(p.nodes)
    if st.impact:
        named.update(st.impact.impacted_assets)
    if st.decision:
        named.update(a.target for a in st.decision.recommended_actions)
    present = existing_keys(kit.driver, named, kit.database)
    kit.count_queries(1)
    missing = sorted(named - present)

    update: dict[str, Any] = {"verified_claims": verified, "dropped_claims": dropped}
    reasons: list[str] = []
    decision = st.decision
    if decision is not None:
        decisive = [c for c in decision.claims if c.decisive] or decision.claims
        decisive_ok = [c for c in verified if c in [d.model_copy(update={"grounded": True}) for d in decisive]]
        if decisive and not decisive_ok:
            reasons.append("the verdict rests on claims the twin does not support")
        if missing:
            reasons.append(f"the result named keys the twin lacks: {', '.join(missing[:5])}")
        if reasons:
            update["decision"] = decision.model_copy(update={"confidence": round(decision.confidence * 0.5, 3)})
    if missing:
        update["notes"] = [f"grounding_verifier: removed unknown keys {missing[:10]}"]
        update["entities"] = [e for e in st.entities if e.key in present]
        if st.paths:
            update["paths"] = st.paths.model_copy(update={
                "paths": [p for p in st.paths.paths if set(p.nodes) <= present],
                "observed": [p for p in st.paths.observed if set(p.nodes) <= present],
            })
        if st.impact:
            update["impact"] = st.impact.model_copy(update={
                "impacted_assets": [k for k in st.impact.impacted_assets if k in present]})
    if reasons:
        update["review_reasons"] = reasons
    if st.roles:  # a model-driven run: each role's claims the twin did not back, counted
        per_role: dict[str, int] = {}
        for c in dropped:
            role = c.agent.split(" ", 1)[0]
            if role in st.roles:
                per_role[role] = per_role.get(role, 0) + 1
        update["roles"] = {r: RoleRun(role=r, claims_dropped=n) for r, n in per_role.items()}
    kit.last_summary = f"{len(verified)} claims grounded, {len(dropped)} dropped, {len(missing)} unknown keys removed"
    return update


def _paths(st: InvestigationState) -> list[AttackPath]:
    return [*(st.paths.paths if st.paths else []), *(st.paths.observed if st.paths else [])]


def verify_findings(kit: Toolkit, role: str, items: list[dict[str, Any]], scripted: set[str]) -> list[ModelFinding]:
    """Judge what a model says its own tool calls found: kept only when the call it names
    (in the toolkit's call log) succeeded and returned that very item, and the twin has
    every key in it. `scripted`: what the scripted implementation found (its keys, and
    paths as "a>b>c"), so a kept item is marked new only when the model alone found it."""
    out: list[ModelFinding] = []
    for raw in items[:30]:
        kind = str(raw.get("kind") or "").strip().lower()
        key = raw.get("key") if isinstance(raw.get("key"), str) else None
        nodes = [str(n) for n in raw["nodes"]] if isinstance(raw.get("nodes"), list) else None
        action = [str(a) for a in raw["action"]] if isinstance(raw.get("action"), list) else None
        f = ModelFinding(kind=kind or "?", key=key, nodes=nodes, action=action, call=str(raw.get("call") or ""))
        rec = kit.call_of(f.call)
        if kind not in FINDING_KINDS.get(role, ()):
            f.reason = f"not a kind this role reports ({', '.join(FINDING_KINDS.get(role, ())) or 'none'})"
        elif rec is None:
            f.reason = f"no call {f.call!r} in the role's call log"
        elif not rec.ok:
            f.reason = f"call {rec.id} failed"
        elif kind == "path":
            match = next((p for p in rec.paths if nodes and p[0] == nodes), None)
            f.reason = "" if match else f"call {rec.id} returned no path with these nodes"
        elif kind == "action":
            match = next((a for a in rec.actions if action and list(a.get("argv") or []) == action), None)
            f.reason = "" if match else f"call {rec.id} returned no such action"
            if match:
                f.key = str(match["argv"][1]) if len(match["argv"]) > 1 else None
        elif not key:
            f.reason = "no key"
        elif key not in rec.strings:
            f.reason = f"call {rec.id} did not return {key!r}"
        out.append(f)
    candidates = [f for f in out if not f.reason]
    keys = {k for f in candidates for k in ([f.key] if f.key else []) + (f.nodes or [])}
    present = existing_keys(kit.driver, keys, kit.database) if keys else set()
    kit.count_queries(1 if keys else 0)
    for f in candidates:
        needed = ([f.key] if f.key else []) + (f.nodes or [])
        lacking = [k for k in needed if k not in present]
        if lacking:
            f.reason = f"not in the twin: {lacking[0]}"
            continue
        f.kept = True
        ident = ">".join(f.nodes) if f.nodes else (" ".join(f.action) if f.action else f.key)
        f.new = ident not in scripted
    return out


# What each specialist reports as its own findings.
FINDING_KINDS: dict[str, tuple[str, ...]] = {
    "context_gatherer": ("entity", "event"),
    "path_hunter": ("path",),
    "impact_assessor": ("asset", "action"),
}
