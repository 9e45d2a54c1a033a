"""The LLM analyst: a tool-calling loop per agent through the official OpenAI SDK.

Each agent gets the deterministic findings the offline analyst gathers with the same
tools (so a weak model still stands on real data), its own prompt from prompts/, the
tools its role needs (schemas generated from their types), and answers in a typed
JSON object. Alert and twin text reach it only fenced as data. Every claim it makes
goes through the grounding verifier; a verdict it cannot give in valid form falls back
to the rules and says so (`decided_by`), never passing a scripted reply off as its own.
"""

from __future__ import annotations

import json
import os
from typing import Any

import openai
from pydantic import BaseModel, Field, ValidationError

from agents.llm import LLMClient, parse_json_object
from agents.models import (
    Claim,
    ContextFindings,
    Decision,
    Evidence,
    ImpactFindings,
    PathFindings,
    Usage,
)
from agents.offline import OfflineAnalyst, rule_decision
from agents.prompts import fence, load, system_prompt
from agents.state import InvestigationState
from agents.toolkit import Toolkit

# One tool list for every agent, so the prompt prefix (system + tools) stays the same
# from call to call and servers with prefix caching (llama.cpp, vLLM) reuse it.
# Kept short: every schema is prompt tokens on every call (TWINSIGHT_LLM_TOOLS widens it).
DEFAULT_LLM_TOOLS = ["entity_context", "find_events", "attack_paths"]


def llm_tools() -> list[str]:
    raw = os.environ.get("TWINSIGHT_LLM_TOOLS")
    return [t.strip() for t in raw.split(",") if t.strip()] if raw else list(DEFAULT_LLM_TOOLS)
ALL_ROLES = ("context_gatherer", "path_hunter", "impact_assessor", "lead_analyst")


def llm_roles() -> set[str]:
    """Which agents reason with the LLM (TWINSIGHT_LLM_ROLES); the others keep the
    deterministic findings. The lead analyst always does: it gives the verdict."""
    raw = os.environ.get("TWINSIGHT_LLM_ROLES")
    roles = {r.strip() for r in raw.split(",") if r.strip()} if raw else set(ALL_ROLES)
    return (roles & set(ALL_ROLES)) | {"lead_analyst"}


def tool_rounds() -> int:
    return max(0, int(os.environ.get("TWINSIGHT_LLM_TOOL_ROUNDS", "3")))


class EvidenceOut(BaseModel):
    node: str | None = None
    edge: list[str] | None = None
    absent: str | None = None


class ClaimOut(BaseModel):
    text: str
    evidence: list[EvidenceOut] = Field(default_factory=list)


class AgentReport(BaseModel):
    summary: str = ""
    claims: list[ClaimOut] = Field(default_factory=list)


class LeadDecision(BaseModel):
    verdict: str
    severity: str = "medium"
    confidence: float = 0.5
    techniques: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    claims: list[ClaimOut] = Field(default_factory=list)


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
             out_model: type[BaseModel]) -> tuple[BaseModel, Usage]:
        usage = Usage()
        budget = st.budget
        tools = kit.tool_schemas(llm_tools()) if role != "lead_analyst" else None
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system_prompt()},
            {"role": "user", "content": load(role) + "\n\n" + briefing},
        ]

        def spent() -> bool:
            u = st.usage.add(usage)
            return (u.llm_calls + 1 > budget.max_llm_calls
                    or u.prompt_tokens + u.completion_tokens > budget.max_tokens)

        def complete(**kw):
            try:
                return self.llm.complete(messages, **kw)
            except openai.OpenAIError as exc:  # retries exhausted: fall back, and say so
                raise LLMOutputError(f"{role}: LLM unavailable ({type(exc).__name__})", usage) from None

        for _ in range(tool_rounds() if tools else 0):
            if spent():
                break
            reply = complete(tools=tools, tool_choice="auto", max_tokens=256)
            usage = usage.add(reply.usage)
            if not reply.tool_calls:
                break
            messages.append(reply.raw_message)
            for call in reply.tool_calls[:4]:
                result = kit.call_tool(call.name, call.arguments)
                messages.append({"role": "tool", "tool_call_id": call.id,
                                 "content": fence(f"tool:{call.name}", result, limit=6000)})
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

    def gather_context(self, st: InvestigationState, kit: Toolkit) -> tuple[ContextFindings, Usage]:
        found, _ = self.base.gather_context(st, kit)
        if "context_gatherer" not in llm_roles():
            return found, Usage()
        try:
            out, usage = self._run("context_gatherer", st, kit, self._briefing(st, {
                "deterministic context summary": found.summary,
                "events": [_compact_event(e) for e in found.events[:12]]}), AgentReport)
        except LLMOutputError as exc:
            return found.model_copy(update={"summary": f"{found.summary} (LLM: {exc})"}), exc.usage
        return found.model_copy(update={"summary": out.summary or found.summary,
                                        "claims": found.claims + _claims(out.claims, "context_gatherer")}), usage

    def hunt_paths(self, st: InvestigationState, kit: Toolkit) -> tuple[PathFindings, Usage]:
        found, _ = self.base.hunt_paths(st, kit)
        if "path_hunter" not in llm_roles():
            return found, Usage()
        try:
            out, usage = self._run("path_hunter", st, kit, self._briefing(st, {
                "paths found": [p.contract() for p in found.paths[:5]],
                "observed steps": [p.contract() for p in found.observed[:3]]}), AgentReport)
        except LLMOutputError as exc:
            return found.model_copy(update={"summary": f"{found.summary} (LLM: {exc})"}), exc.usage
        return found.model_copy(update={"summary": out.summary or found.summary,
                                        "claims": found.claims + _claims(out.claims, "path_hunter")}), usage

    def assess_impact(self, st: InvestigationState, kit: Toolkit) -> tuple[ImpactFindings, Usage]:
        found, _ = self.base.assess_impact(st, kit)
        if "impact_assessor" not in llm_roles():
            return found, Usage()
        try:
            out, usage = self._run("impact_assessor", st, kit, self._briefing(st, {
                "blast radius": found.blast, "what-if ranking": [a.contract() for a in found.actions[:5]]}),
                AgentReport)
        except LLMOutputError as exc:
            return found.model_copy(update={"summary": f"{found.summary} (LLM: {exc})"}), exc.usage
        return found.model_copy(update={"summary": out.summary or found.summary,
                                        "claims": found.claims + _claims(out.claims, "impact_assessor")}), usage

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
            {"question": a.question, "status": a.status, "summary": a.summary} for a in baseline.answers]
        try:
            out, usage = self._run("lead_analyst", st, kit, self._briefing(st, findings), LeadDecision)
            verdict = _verdict_label(out.verdict)
            if verdict not in ("true_positive", "benign_positive", "false_positive"):
                raise LLMOutputError(f"verdict {out.verdict!r} is not one of the three", usage)
        except LLMOutputError as exc:
            return baseline.model_copy(update={"decided_by": f"{baseline.decided_by} (fallback: {exc})"}), exc.usage
        planted = st.injection or (st.context.injection if st.context else [])
        if planted and verdict != "true_positive" and baseline.verdict == "true_positive":
            # Planted instructions pushed toward "harmless" and the twin's evidence says
            # otherwise: the model's verdict is not taken (defence in depth; see RULES.md).
            return baseline.model_copy(update={
                "decided_by": f"{baseline.decided_by} (LLM said {verdict} on an alert carrying planted "
                              "instructions; overridden)",
                "reasons": [*baseline.reasons, f"the LLM's verdict ({verdict}) was set aside: prompt injection suspected"],
            }), usage
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
        return decision, usage


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
