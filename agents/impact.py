"""The impact assessor's deterministic work: blast radius, impacted assets, and the
response actions the what-if simulation ranks best.

impacted_assets, one rule for every alert (evals/IMPACT_RULE.md): when the activity is
real and unauthorised (true_positive), the alert's resolved hosts and the source host
the events attribute it to (the attacker's foothold is compromised too), the crown
jewels hosted on them, the crown jewels on the observed attack path, and — for
credential theft from the directory (DCSync) — the domain; otherwise nothing. The assessor
computes the list as if the alert were real; the report keeps it only for a true positive.
"""

from __future__ import annotations

from typing import Any

from agents.models import Claim, Evidence, ImpactFindings, RecommendedAction
from agents.reasoning.families import family_of
from agents.state import InvestigationState
from agents.toolkit import Toolkit
from graph.evidence import existing_keys
from graph.tools.base import ToolError
from graph.tools.guard import GuardError
from graph.whatif import rank

DIRECTORY_FAMILIES = {"dcsync", "credential_dump"}


def _stored(src: str, rel: str, dst: str) -> list[str]:
    """Traversal order -> stored direction: a data asset is reached from its host,
    but HostedOn is stored asset -> host."""
    return [dst, rel, src] if rel == "HostedOn" else [src, rel, dst]


def impacted_if_real(st: InvestigationState, roles: dict[str, list[str]], driver, database) -> tuple[list[str], list[Claim]]:
    ctx = st.context.entity_context if st.context else {}
    assets: list[str] = []
    claims: list[Claim] = []
    origin = st.context.origin if st.context else None
    hosts = list(roles["hosts"])
    if origin is not None and origin.host and origin.host != "INTERNET" \
            and "Computer" in ((ctx.get(origin.host) or {}).get("labels") or []):
        hosts.append(origin.host)
    for h in dict.fromkeys(hosts):
        assets.append(h)
        for x in (ctx.get(h) or {}).get("hosted") or []:
            if x.get("crown_jewel"):
                assets.append(x["key"])
                claims.append(Claim(text=f"crown jewel {x['key']} is hosted on {h}",
                                    evidence=[Evidence(edge=[x["key"], "HostedOn", h])], agent="impact_assessor"))
    a = st.alert or {}
    if family_of(a.get("techniques") or [], a.get("rule"), a.get("title")) in DIRECTORY_FAMILIES:
        for actor in roles["actors"]:
            dom = actor.rsplit("@", 1)[1] if "@" in actor else None
            if dom:
                assets.append(dom)
        for h in roles["hosts"]:
            dom = (ctx.get(h) or {}).get("properties", {}).get("domain")
            if dom:
                assets.append(str(dom).upper())
    if st.paths:
        for p in st.paths.observed:
            for k in p.nodes:
                if (ctx.get(k) or {}).get("core", {}).get("crown_jewel"):
                    assets.append(k)
    assets = list(dict.fromkeys(assets))
    # Only what the twin holds: a domain named by an account's suffix may not be loaded.
    present = existing_keys(driver, assets, database) if assets else set()
    return [a for a in assets if a in present], claims


def assess(st: InvestigationState, kit: Toolkit, roles: dict[str, list[str]]) -> ImpactFindings:
    origin = st.context.origin if st.context else None
    src = [k for k in ((origin.host, origin.account) if origin is not None else ()) if k and k != "INTERNET"]
    footholds = list(dict.fromkeys(roles["actors"] + src + roles["src"] + roles["hosts"]))[:3]
    blast: dict[str, Any] = {"crown_jewels": [], "tier0": [], "reachable_total": 0}
    claims: list[Claim] = []
    for f in footholds:
        try:
            out = kit.call("blast_radius", key=f, max_hops=4, as_of=st.as_of, examples=5)
        except (ToolError, GuardError):
            continue
        blast["reachable_total"] += out.reachable_total
        for cat in ("crown_jewels", "tier0"):
            c = out.categories.get(cat)
            if c and c.total:
                for ex in c.examples:
                    if ex.key not in blast[cat]:
                        blast[cat].append(ex.key)
                best = c.examples[0]
                claims.append(Claim(
                    text=f"from {f}, {c.total} {cat.replace('_', ' ')} are reachable (nearest {best.key} in {best.hops} hops)",
                    evidence=[Evidence(edge=_stored(best.nodes[i], best.edges[i], best.nodes[i + 1]))
                              for i in range(len(best.edges))] or [Evidence(node=best.key)],
                    agent="impact_assessor"))
    assets, asset_claims = impacted_if_real(st, roles, kit.driver, kit.database)
    kit.count_queries(1)
    claims += asset_claims
    actions = recommend(st, kit, footholds, blast)
    summary = (f"blast radius from {', '.join(footholds) or 'no foothold'}: {blast['reachable_total']} nodes, "
               f"{len(blast['crown_jewels'])} crown jewels, {len(blast['tier0'])} tier-0; "
               f"{len(assets)} assets at risk if real; {len(actions)} ranked actions")
    return ImpactFindings(summary=summary, impacted_assets=assets, blast=blast, actions=actions, claims=claims)


def recommend(st: InvestigationState, kit: Toolkit, footholds: list[str], blast: dict[str, Any]) -> list[RecommendedAction]:
    """Single actions ranked by the what-if simulation: attack paths removed from the
    footholds to what they threaten, least breakage first among ties."""
    target = (blast["crown_jewels"] or blast["tier0"] or [None])[0]
    if not target or not footholds:
        return []
    try:
        ranked = rank(kit.driver, kit.database, target=target, top=5, sources=footholds)
    except Exception as exc:  # ranking is advice: a failure must not sink the investigation
        kit.last_summary = f"what-if ranking failed: {exc}"
        return []
    kit.count_queries(len(ranked) * 2 + 2)
    out = []
    for r in ranked:
        d = r.model_dump() if hasattr(r, "model_dump") else dict(r)
        argv = d.get("argv") or [d.get("action", ""), d.get("target", "")]
        out.append(RecommendedAction(
            action=str(argv[0]), target=str(d.get("target") or (argv[1] if len(argv) > 1 else "")),
            args=[str(x) for x in argv[2:]], paths_removed=int(d.get("paths_removed") or 0),
            breaks=len(d.get("breaks") or []) if isinstance(d.get("breaks"), list) else int(d.get("breaks") or 0),
            why=f"removes {d.get('paths_removed', 0)} attack paths to {target}"))
    return out
