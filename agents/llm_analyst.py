"""The LLM analyst: each specialist a model-driven loop with its own tools.

Each role is seeded with a compact briefing of what its scripted implementation (the
offline analyst) found, offered only its own tools (agents/settings.py `ROLE_TOOLS`:
the what-if ones through the toolkit's audited door), and answers in a typed JSON
object naming what its calls found, each item citing the call id that returned it.
The grounding verifier keeps only items that call returned and the twin holds; those
are merged into the findings, the rest dropped and counted (`RoleRun`). Alert and twin
text reach the model only fenced as data. A role whose output is unusable keeps the
scripted findings alone and says so in its `decided_by`; a verdict the lead cannot give
in valid form falls back to the rules, never passing a scripted reply off as the model's.
"""

from __future__ import annotations

import json
import time
from typing import Any

import openai
from pydantic import BaseModel, Field, ValidationError

from agents.grounding import verify_findings
from agents.llm import LLMClient, parse_json_object
from agents.models import (
    AttackPath,
    Claim,
    ContextFindings,
    Decision,
    EntityRef,
    Evidence,
    FollowUp,
    ImpactFindings,
    ModelFinding,
    PathFindings,
    RecommendedAction,
    RoleRun,
    Usage,
)
from agents.offline import OfflineAnalyst, rule_decision
from agents.prompts import fence, load, system_prompt
from agents.state import InvestigationState
from agents.toolkit import Toolkit


class EvidenceOut(BaseModel):
    node: str | None = None
    edge: list[str] | None = None
    absent: str | None = None


class ClaimOut(BaseModel):
    text: str
    evidence: list[EvidenceOut] = Field(default_factory=list)


class FoundOut(BaseModel):
    """One thing the model says a call of its own returned (checked by grounding)."""

    kind: str = ""
    key: str | None = None
    nodes: list[str] | None = None
    action: list[str] | None = None
    call: str = ""


class AgentReport(BaseModel):
    summary: str = ""
    found: list[FoundOut] = Field(default_factory=list)
    claims: list[ClaimOut] = Field(default_factory=list)


class AskOut(BaseModel):
    """A question the lead sends back to one specialist (agents/workflow.py grants it)."""

    role: str = ""
    question: str = ""


class LeadDecision(BaseModel):
    verdict: str
    severity: str = "medium"
    confidence: float = 0.5
    techniques: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    claims: list[ClaimOut] = Field(default_factory=list)
    ask: AskOut | None = None


class LLMOutputError(ValueError):
    """The model's answer could not be used even after a repair request. `usage` keeps
    what the failed attempt cost: a fallback verdict still reports the calls it took."""

    def __init__(self, message: str, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.usage = usage or Usage()


def _claims(out: list[ClaimOut], agent: str, decisive: bool = False) -> list[Claim]:
    claims = []
    for c in out[:20]:
        ev = []
        for e in c.evidence[:10]:
            try:
                ev.append(Evidence(**e.model_dump()))
            except ValidationError:
                continue  # malformed item: the claim may end up with no evidence -> dropped
        claims.append(Claim(text=str(c.text)[:500], evidence=ev, agent=f"{agent} (llm)", decisive=decisive))
    return claims


class LLMAnalyst:
    def __init__(self, llm: LLMClient) -> None:
        self.llm = llm
        self.base = OfflineAnalyst()
        self.label = llm.label

    # -- the loop ------------------------------------------------------------------------
    def _run(self, role: str, st: InvestigationState, kit: Toolkit, briefing: str,
             out_model: type[BaseModel], task: str = "") -> tuple[BaseModel, Usage]:
        usage = Usage()
        budget = st.budget
        settings = kit.settings
        own = settings.tools_of(role)  # the role's own tools, and only those
        kit.tools = own
        tools = kit.tool_schemas(own) if own else None
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system_prompt()},
            {"role": "user", "content": load(role) + ("\n\n" + load(task) if task else "") + "\n\n" + briefing},
        ]

        def spent() -> bool:
            u = st.usage.add(usage)
            return (u.llm_calls + 1 > budget.max_llm_calls
                    or u.prompt_tokens + u.completion_tokens > budget.max_tokens)

        def complete(**kw):
            try:
                reply = self.llm.complete(messages, **kw)
                kit.llm_seconds += reply.seconds  # per stage: parallel roles share this analyst
                return reply
            except openai.OpenAIError as exc:  # retries exhausted: fall back, and say so
                raise LLMOutputError(f"{role}: LLM unavailable ({type(exc).__name__})", usage) from None

        for _ in range(settings.tool_rounds if tools else 0):
            if spent():
                break
            reply = complete(tools=tools, tool_choice="auto", max_tokens=256)
            usage = usage.add(reply.usage)
            if not reply.tool_calls:
                break
            messages.append(reply.raw_message)
            results = []
            for call in reply.tool_calls[:settings.calls_per_round]:
                # The model's door: its own tools only, each call logged with the id it cites.
                rec, view = kit.model_call(call.name, call.arguments)
                results.append((call, fence(f"tool:{call.name}", {"call": rec.id, "result": view},
                                            limit=settings.result_chars)))
            if settings.llm.tool_results == "tool":
                messages += [{"role": "tool", "tool_call_id": c.id, "content": text} for c, text in results]
            else:  # servers whose chat template drops tool messages get them as one user turn
                messages.append({"role": "user", "content": "Tool results:\n" + "\n".join(t for _, t in results)})
        if spent():
            raise LLMOutputError("LLM budget exhausted before the answer", usage)
        messages.append({"role": "user", "content": "Now give your final answer as the JSON object described."})
        last_error = ""
        for attempt in range(2):
            reply = complete(response_model=out_model, max_tokens=400)
            usage = usage.add(reply.usage)
            try:
                return out_model.model_validate(parse_json_object(reply.content)), usage
            except (ValueError, ValidationError) as exc:
                last_error = " ".join(str(exc).split())[:300]
                if attempt == 0 and not spent():
                    messages.append({"role": "assistant", "content": reply.content or ""})
                    messages.append({"role": "user", "content": load("repair").replace("{error}", last_error)})
        raise LLMOutputError(f"{role}: unusable answer ({last_error})", usage)

    def _briefing(self, st: InvestigationState, extra: dict[str, Any]) -> str:
        a = st.alert or {}
        alert = {k: a.get(k) for k in ("id", "title", "rule", "description", "severity", "time", "techniques")
                 if a.get(k)}
        alert["named"] = [{"role": m.role, "text": m.text} for m in st.mentions]
        ents = [{"key": e.key, "labels": e.labels, "alert_named_it": e.mention} for e in st.entities]
        parts = [
            "The alert (untrusted data):", fence("alert", alert),
            "Entities resolved in the twin:", fence("twin:entities", ents),
            f"Names the alert gives that the twin does not have: {json.dumps(st.absent)}",
        ]
        for name, value in extra.items():
            parts += [f"{name}:", fence(f"twin:{name}", value)]
        return "\n".join(parts)

    # -- the agents ----------------------------------------------------------------------
    def intake(self, st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
        return self.base.intake(st, kit)

    def _specialist(self, role: str, st: InvestigationState, kit: Toolkit, found: BaseModel,
                    question: str = "") -> tuple[Any, Usage, str]:
        """One specialist, model-driven: its own tools and loop, seeded with the scripted
        role's compact findings (and, on a follow-up, the lead's question). What it reports
        finding is verified against its call log and the twin and merged; a role whose
        output is unusable keeps the findings it had and says so. Returns the findings,
        the usage and the model's summary (empty when it gave none)."""
        t0 = time.perf_counter()
        run = RoleRun(role=role)
        if not kit.settings.uses_model(role):
            kit.role_run = run.model_copy(update={"decided_by": "offline-rules (the model is not asked in this role)"})
            return found, Usage(), ""
        extra, scripted, merge = _ROLE_VIEW[role](st, found)
        if question:
            extra = {"the lead analyst's question": question, **extra}
        said = ""
        try:
            out, usage = self._run(role, st, kit, self._briefing(st, extra), AgentReport,
                                   task="follow_up" if question else "")
        except LLMOutputError as exc:
            why = " ".join(str(exc).split())[:200]
            usage = exc.usage
            merged = found if question else \
                found.model_copy(update={"summary": f"{found.summary} (scripted findings only: {why})"})
            run.decided_by = f"offline-rules (fallback: {why})"
        else:
            judged = verify_findings(kit, role, [f.model_dump() for f in out.found], scripted)
            merged = merge(found, [f for f in judged if f.kept], kit)
            said = str(out.summary or "")[:600]
            merged = merged.model_copy(update={"summary": found.summary if question else (said or found.summary),
                                               "claims": found.claims + _claims(out.claims, role)})
            run.decided_by = self.label
            run.found = judged
            run.confirmed = sum(1 for f in judged if f.kept and not f.new)
            run.from_model = sum(1 for f in judged if f.kept and f.new)
            run.dropped = sum(1 for f in judged if not f.kept)
        run.llm_calls, run.prompt_tokens, run.completion_tokens = usage.llm_calls, usage.prompt_tokens, usage.completion_tokens
        run.seconds = round(kit.llm_seconds, 3)
        run.wall_seconds = round(time.perf_counter() - t0, 3)
        run.calls = [c.public() for c in kit.calls]
        run.tool_calls = len(kit.calls)
        run.tool_errors = sum(1 for c in kit.calls if not c.ok)
        run.findings = _count_findings(role, merged)
        kit.role_run = run
        return merged, usage, said

    def gather_context(self, st: InvestigationState, kit: Toolkit) -> tuple[ContextFindings, Usage]:
        found, usage, _ = self._specialist("context_gatherer", st, kit, self.base.gather_context(st, kit)[0])
        return found, usage

    def hunt_paths(self, st: InvestigationState, kit: Toolkit) -> tuple[PathFindings, Usage]:
        found, usage, _ = self._specialist("path_hunter", st, kit, self.base.hunt_paths(st, kit)[0])
        return found, usage

    def assess_impact(self, st: InvestigationState, kit: Toolkit) -> tuple[ImpactFindings, Usage]:
        found, usage, _ = self._specialist("impact_assessor", st, kit, self.base.assess_impact(st, kit)[0])
        return found, usage

    def follow_up(self, st: InvestigationState, kit: Toolkit, ask: FollowUp) -> tuple[dict[str, Any], FollowUp, Usage]:
        """The lead's question, answered by the specialist it names with its own tools:
        what it finds and the verifier keeps joins that role's findings."""
        field, empty = _ROLE_FINDINGS[ask.role]
        have = getattr(st, field) or empty()
        found, usage, said = self._specialist(ask.role, st, kit, have, question=ask.question)
        run = kit.role_run or RoleRun(role=ask.role)
        answer = said or ("no answer from the model; its findings stand as they were"
                          if run.decided_by.startswith("offline-rules") else "the model gave no summary")
        return {field: found}, ask.model_copy(update={
            "answer": answer, "decided_by": run.decided_by, "found": run.from_model, "dropped": run.dropped}), usage

    def decide(self, st: InvestigationState, kit: Toolkit) -> tuple[Decision, Usage]:
        findings = {
            "context": {"summary": st.context.summary if st.context else "",
                        "events": [_compact_event(e) for e in (st.context.events if st.context else [])[:8]]},
            "paths": {"summary": st.paths.summary if st.paths else "",
                      "paths": [{"nodes": p.nodes, "edges": p.edges} for p in (st.paths.paths if st.paths else [])[:3]],
                      "observed": [{"nodes": p.nodes, "edges": p.edges} for p in (st.paths.observed if st.paths else [])[:2]]},
            "impact": {"summary": st.impact.summary if st.impact else "",
                       "impacted_assets": st.impact.impacted_assets if st.impact else []},
        }
        baseline = rule_decision(st)
        findings["the three questions, answered from the twin"] = [
            {"question": a.question, "status": a.status, "summary": a.summary, "open": a.status in _OPEN}
            for a in baseline.answers]
        if any(f.sent for f in st.followups):
            findings["your earlier questions and the specialists' answers"] = [
                {"asked": f.role, "question": f.question, "answer": f.answer, "new findings": f.found}
                for f in st.followups if f.sent]
        t0 = time.perf_counter()
        decision, usage, ask = self._decide(st, kit, findings, baseline)
        if ask is not None and ask.question.strip():
            kit.ask = FollowUp(round=sum(f.sent for f in st.followups) + 1, role=_role_named(ask.role), question=ask.question,
                               asked_by=decision.decided_by) if _role_named(ask.role) else None
        kit.role_run = RoleRun(role="lead_analyst", decided_by=decision.decided_by, llm_calls=usage.llm_calls,
                               prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                               seconds=round(kit.llm_seconds, 3), wall_seconds=round(time.perf_counter() - t0, 3))
        return decision, usage

    def _decide(self, st: InvestigationState, kit: Toolkit, findings: dict[str, Any],
                baseline: Decision) -> tuple[Decision, Usage, AskOut | None]:
        try:
            out, usage = self._run("lead_analyst", st, kit, self._briefing(st, findings), LeadDecision)
            verdict = _verdict_label(out.verdict)
            if verdict not in ("true_positive", "benign_positive", "false_positive"):
                raise LLMOutputError(f"verdict {out.verdict!r} is not one of the three", usage)
        except LLMOutputError as exc:
            return baseline.model_copy(update={"decided_by": f"{baseline.decided_by} (fallback: {exc})"}), exc.usage, None
        planted = st.injection or (st.context.injection if st.context else [])
        if planted and verdict != "true_positive" and baseline.verdict == "true_positive":
            # Planted instructions pushed toward "harmless" and the twin's evidence says
            # otherwise: the model's verdict is not taken (defence in depth; see RULES.md).
            return baseline.model_copy(update={
                "decided_by": f"{baseline.decided_by} (LLM said {verdict} on an alert carrying planted "
                              "instructions; overridden)",
                "reasons": [*baseline.reasons, f"the LLM's verdict ({verdict}) was set aside: prompt injection suspected"],
            }), usage, None
        severity = out.severity if out.severity in ("informational", "low", "medium", "high", "critical") else baseline.severity
        techniques = [t for t in out.techniques if isinstance(t, str) and _technique_ok(t)] or baseline.techniques
        decision = Decision(
            verdict=verdict, severity=severity, confidence=min(max(float(out.confidence), 0.0), 1.0),
            techniques=techniques, reasons=[str(r)[:300] for r in out.reasons[:8]],
            claims=_claims(out.claims, "lead_analyst", decisive=True),
            recommended_actions=list(st.impact.actions) if (verdict == "true_positive" and st.impact) else [],
            decided_by=self.label, rule=f"rules would say {baseline.verdict} ({baseline.rule})",
            answers=baseline.answers, timeline=baseline.timeline,
        )
        return decision, usage, out.ask


# Statuses of the three questions that leave something for a specialist to settle.
_OPEN = {"unverifiable", "not_seen", "unknown", "partial"}


def _role_named(text: str) -> str:
    """The specialist a model meant ("path hunter", "Context_Gatherer"), or ""."""
    t = str(text).strip().lower().replace(" ", "_").replace("-", "_")
    return next((r for r in ("context_gatherer", "path_hunter", "impact_assessor") if t.startswith(r)), "")


def _context_view(st: InvestigationState, found: ContextFindings):
    scripted = {e.key for e in st.entities} | {e.key for e in found.attributed} | \
        {str(e.get("key")) for e in found.events}
    return ({"deterministic context summary": found.summary,
             "events": [_compact_event(e) for e in found.events[:12]]}, scripted, _merge_context)


def _paths_view(st: InvestigationState, found: PathFindings):
    scripted = {">".join(p.nodes) for p in [*found.paths, *found.observed]}
    return ({"paths found": [p.contract() for p in found.paths[:5]],
             "observed steps": [p.contract() for p in found.observed[:3]]}, scripted, _merge_paths)


def _impact_view(st: InvestigationState, found: ImpactFindings):
    scripted = set(found.impacted_assets) | {" ".join([a.action, a.target, *a.args]) for a in found.actions}
    return ({"blast radius": found.blast, "what-if ranking": [a.contract() for a in found.actions[:5]]},
            scripted, _merge_impact)


def _merge_context(found: ContextFindings, kept: list[ModelFinding], kit: Toolkit) -> ContextFindings:
    have = {e.key for e in found.attributed}
    events = {str(e.get("key")) for e in found.events}
    attributed, new_events = list(found.attributed), list(found.events)
    for f in kept:
        if f.kind == "entity" and f.key not in have:
            attributed.append(EntityRef(key=f.key or "", role="related", found_by=f"context_gatherer:{f.call}"))
            have.add(f.key or "")
        elif f.kind == "event" and f.key not in events:
            doc = _dict_with_key(kit.call_of(f.call), f.key or "")
            if doc is not None:
                new_events.append({**doc, "found_by": f"context_gatherer:{f.call}"})
                events.add(f.key or "")
    return found.model_copy(update={"attributed": attributed, "events": new_events})


def _merge_paths(found: PathFindings, kept: list[ModelFinding], kit: Toolkit) -> PathFindings:
    have = {tuple(p.nodes) for p in [*found.paths, *found.observed]}
    paths, observed = list(found.paths), list(found.observed)
    for f in kept:
        rec = kit.call_of(f.call)
        match = next((p for p in (rec.paths if rec else []) if p[0] == f.nodes), None)
        if match is None or tuple(match[0]) in have:
            continue
        kind = match[2] if match[2] in ("to_crown_jewel", "from_entry_point", "observed") else \
            ("observed" if rec and rec.tool == "observed_path" else "to_crown_jewel")
        (observed if kind == "observed" else paths).append(AttackPath(nodes=match[0], edges=match[1], kind=kind))
        have.add(tuple(match[0]))
    return found.model_copy(update={"paths": paths, "observed": observed})


def _merge_impact(found: ImpactFindings, kept: list[ModelFinding], kit: Toolkit) -> ImpactFindings:
    assets, actions = list(found.impacted_assets), list(found.actions)
    have = {(a.action, a.target, tuple(a.args)) for a in actions}
    for f in kept:
        if f.kind == "asset" and f.key and f.key not in assets:
            assets.append(f.key)
        elif f.kind == "action" and f.action and len(f.action) >= 2:
            rec = kit.call_of(f.call)
            got = next((a for a in (rec.actions if rec else []) if list(a.get("argv") or []) == f.action), {})
            ident = (f.action[0], f.action[1], tuple(f.action[2:]))
            if ident not in have:
                actions.append(RecommendedAction(action=f.action[0], target=f.action[1], args=f.action[2:],
                                                 paths_removed=int(got.get("paths_removed") or 0),
                                                 why=f"the impact assessor's what-if ({f.call})"))
                have.add(ident)
    return found.model_copy(update={"impacted_assets": assets, "actions": actions})


# Per specialist: what its briefing shows, what its script found (to tell new from
# confirmed), and how kept items join its findings; and where its findings live in state.
_ROLE_VIEW = {"context_gatherer": _context_view, "path_hunter": _paths_view, "impact_assessor": _impact_view}
_ROLE_FINDINGS = {"context_gatherer": ("context", ContextFindings), "path_hunter": ("paths", PathFindings),
                  "impact_assessor": ("impact", ImpactFindings)}


def _dict_with_key(rec: Any, key: str) -> dict | None:
    """The object in a call's full result whose `key` is `key` (an event, an entity)."""
    if rec is None or rec.result is None:
        return None
    stack: list[Any] = [rec.result.model_dump(mode="json")]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if v.get("key") == key:
                return v
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def _count_findings(role: str, found: Any) -> int:
    if role == "context_gatherer":
        return len(found.attributed) + len(found.events)
    if role == "path_hunter":
        return len(found.paths) + len(found.observed)
    return len(found.impacted_assets) + len(found.actions)


def _verdict_label(text: str) -> str:
    """The label a model meant: small models echo the prompt's definition after it
    (`true_positive": malicious ...`), so the label must lead the string."""
    t = str(text).strip().lower().replace(" ", "_").replace("-", "_")
    for label in ("true_positive", "benign_positive", "false_positive"):
        if t.startswith(label):
            return label
    return t


def _compact_event(e: dict) -> dict:
    keep = ("key", "event_id", "time", "host", "by", "targets", "from_host", "logon_type", "ticket_encryption",
            "src", "dst", "ports", "bytes", "kinds")
    return {k: e[k] for k in keep if e.get(k) not in (None, [], "")}


def _technique_ok(t: str) -> bool:
    import re

    return bool(re.match(r"^T\d{4}(\.\d{3})?$", t))
