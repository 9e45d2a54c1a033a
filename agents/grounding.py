"""The grounding verifier: every claim's evidence is checked against Neo4j.

A claim is grounded when it has evidence and every item holds in the twin (the node
or edge exists; an `absent` name really is absent). Ungrounded claims are dropped
from the result (and listed as dropped); keys in paths, entities and impacted
assets that the twin lacks are removed. When the verdict rests on ungrounded claims
the confidence is halved and the investigation asks for human review.
"""

from __future__ import annotations

from typing import Any

from agents.models import AttackPath, Claim
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
    kit.last_summary = f"{len(verified)} claims grounded, {len(dropped)} dropped, {len(missing)} unknown keys removed"
    return update


def _paths(st: InvestigationState) -> list[AttackPath]:
    return [*(st.paths.paths if st.paths else []), *(st.paths.observed if st.paths else [])]
