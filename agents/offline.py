"""The offline analyst: the same tools as the LLM, decided by explicit rules.

It is the default when no API key is set and the baseline every LLM run is compared
with. It never reads free text (titles, descriptions, command lines) to decide, so
instructions planted in data cannot move it. Its rules: agents/rules.py and RULES.md.
"""

from __future__ import annotations

from typing import Any

from agents import impact as impact_rules
from agents.intake import run_intake
from agents.models import (
    AttackPath,
    Claim,
    ContextFindings,
    Decision,
    Evidence,
    ImpactFindings,
    PathFindings,
    RecommendedAction,
    Usage,
)
from agents.rules import FAMILY_EVENTS, FAMILY_TECHNIQUE, Facts, decide, family_of
from agents.state import InvestigationState
from agents.toolkit import Toolkit

MAX_CONTEXT = 6


def _roles(st: InvestigationState) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"actors": [], "hosts": [], "src": [], "dst": []}
    for e in st.entities:
        labels = set(e.labels)
        if "User" in labels or (e.role == "user" and "Computer" in labels):
            out["actors"].append(e.key)
        if "Computer" in labels and e.role != "user":
            out["hosts"].append(e.key)
            if e.role in ("src_ip", "src_host", "source"):
                out["src"].append(e.key)
            elif e.role in ("dst_ip", "dst_host", "target", "host", "host_ip"):
                out["dst"].append(e.key)
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}


def family(st: InvestigationState) -> str:
    a = st.alert or {}
    return family_of(a.get("techniques") or [], a.get("rule"), a.get("title"))


class OfflineAnalyst:
    label = "offline-rules"

    def intake(self, st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
        return run_intake(st, kit)

    # -- context gatherer ----------------------------------------------------------------
    def gather_context(self, st: InvestigationState, kit: Toolkit) -> tuple[ContextFindings, Usage]:
        contexts: dict[str, dict[str, Any]] = {}
        claims: list[Claim] = []
        for ent in st.entities[:MAX_CONTEXT]:
            ctx = kit.call("entity_context", key=ent.key, as_of=st.as_of).model_dump(mode="json")
            contexts[ent.key] = ctx
            claims.extend(_context_claims(ent.key, ctx))
        fam = family(st)
        roles = _roles(st)
        eids, want_conns = FAMILY_EVENTS.get(fam, ([], False))
        keys_h = roles["hosts"]
        keys_u = roles["actors"]
        events: list[dict[str, Any]] = []
        if keys_h or keys_u or fam in ("spray",):
            found = kit.call("find_events", hosts=keys_h if fam not in ("spray", "asrep") else [],
                             users=keys_u if fam not in ("spray", "asrep", "exploit", "exfil", "persistence") else [],
                             event_ids=eids, window_s=3600, as_of=st.as_of, limit=300)
            events = [e.model_dump(mode="json") for e in found.events]
            # Users an event names (targets of a spray, ticket services) need context too.
        connections: list[dict[str, Any]] = []
        if want_conns:
            for h in keys_h[:4]:
                for kwargs in ({"dst": h}, {"src": h}):
                    out = kit.call("find_connections", window_s=3600, as_of=st.as_of, limit=50, **kwargs)
                    connections.extend(c.model_dump(mode="json") for c in out.connections)
        for e in events:
            for k in [*(e.get("by") or []), *(e.get("targets") or []), e.get("from_host")]:
                if k and k not in contexts and len(contexts) < MAX_CONTEXT + 6:
                    contexts[k] = kit.call("entity_context", key=k, as_of=st.as_of).model_dump(mode="json")
        for c in connections:
            for k in (c.get("src"), c.get("dst")):
                if k and k != "INTERNET" and k not in contexts and len(contexts) < MAX_CONTEXT + 6:
                    contexts[k] = kit.call("entity_context", key=k, as_of=st.as_of).model_dump(mode="json")
        summary = (f"{len(st.entities)} entities resolved ({', '.join(e.key for e in st.entities[:4])}); "
                   f"{len(st.absent)} names absent; family {fam}; {len(events)} events and "
                   f"{len(connections)} connections around the alert")
        kit.last_summary = summary
        return ContextFindings(summary=summary, entity_context=contexts,
                               events=events + [{"_connection": True, **c} for c in connections],
                               claims=claims), Usage()

    # -- path hunter ---------------------------------------------------------------------
    def hunt_paths(self, st: InvestigationState, kit: Toolkit) -> tuple[PathFindings, Usage]:
        from agents.paths import hunt

        found = hunt(st, kit, _roles(st))
        kit.last_summary = found.summary
        return found, Usage()

    # -- impact assessor -----------------------------------------------------------------
    def assess_impact(self, st: InvestigationState, kit: Toolkit) -> tuple[ImpactFindings, Usage]:
        found = impact_rules.assess(st, kit, _roles(st))
        kit.last_summary = found.summary
        return found, Usage()

    # -- lead analyst --------------------------------------------------------------------
    def decide(self, st: InvestigationState, kit: Toolkit) -> tuple[Decision, Usage]:
        return rule_decision(st), Usage()


def facts_from_state(st: InvestigationState) -> Facts:
    roles = _roles(st)
    ctx = st.context.entity_context if st.context else {}
    evs = [e for e in (st.context.events if st.context else []) if not e.get("_connection")]
    conns = [e for e in (st.context.events if st.context else []) if e.get("_connection")]
    named = sum(1 for m in st.mentions if m.role in ("host", "user", "src_host", "dst_host"))
    return Facts(family=family(st), actors=roles["actors"], hosts=roles["hosts"], src_hosts=roles["src"],
                 dst_hosts=roles["dst"], context=ctx, absent=st.absent, named_hosts_or_users=named,
                 events=evs, connections=conns)


def rule_decision(st: InvestigationState) -> Decision:
    f = facts_from_state(st)
    finding = decide(f)
    alert = st.alert or {}
    techniques = [t for t in alert.get("techniques") or []] or ([FAMILY_TECHNIQUE[f.family]] if f.family in FAMILY_TECHNIQUE else [])
    severity = _severity(finding.verdict, st)
    actions: list[RecommendedAction] = []
    if finding.verdict == "true_positive" and st.impact:
        actions = list(st.impact.actions)
    return Decision(verdict=finding.verdict, severity=severity, confidence=finding.confidence,
                    techniques=techniques, reasons=finding.reasons, claims=finding.claims,
                    recommended_actions=actions, decided_by=OfflineAnalyst.label, rule=finding.rule)


def _severity(verdict: str, st: InvestigationState) -> str:
    if verdict == "false_positive":
        return "informational"
    if verdict == "benign_positive":
        return "low"
    reach = st.impact.blast if st.impact else {}
    if reach.get("tier0") or reach.get("crown_jewels"):
        return "critical" if reach.get("tier0") else "high"
    return "high" if family(st) in ("dcsync", "exfil", "exploit") else "medium"


def _context_claims(key: str, ctx: dict[str, Any]) -> list[Claim]:
    out: list[Claim] = []
    if not ctx.get("found"):
        return out
    core = ctx.get("core") or {}
    labels = [x for x in ctx.get("labels") or [] if x not in ("Twin", "Base")]
    desc = f"{key} is a {'/'.join(labels) or 'node'}"
    if core.get("criticality"):
        desc += f" of {core['criticality']} criticality"
    if core.get("crown_jewel"):
        desc += ", a crown jewel"
    out.append(Claim(text=desc, evidence=[Evidence(node=key)], agent="context_gatherer"))
    for g in (ctx.get("member_of") or [])[:3]:
        if g.get("depth") == 1:
            out.append(Claim(text=f"{key} is a member of {g['key']}", evidence=[Evidence(edge=[key, "MemberOf", g["key"]])],
                             agent="context_gatherer"))
    return out


_ = AttackPath  # re-exported for analysts building paths
