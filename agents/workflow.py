"""The investigation as a LangGraph StateGraph.

intake -> context_gatherer -> (Send) path_hunter || impact_assessor -> lead_analyst
       [-> follow_up -> lead_analyst, while the lead asks, at most `followup_rounds`]
       -> grounding_verifier -> approval (interrupt, only when response is requested)
       -> report

Agents reach the twin only through the toolkit (typed, read-only tools), reason
through an Analyst (offline rules or an LLM: same interface), and every stage is
checkpointed so an interrupted investigation resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send, interrupt

from agents.grounding import verify_claims
from agents.models import ContextFindings, Decision, FollowUp, ImpactFindings, PathFindings, Usage
from agents.report import build_result
from agents.settings import SPECIALISTS, AgentSettings, settings_of
from agents.state import InvestigationState
from agents.toolkit import Toolkit


class BudgetExceeded(RuntimeError):
    """An investigation used up its call, token or time budget."""


class Analyst(Protocol):
    """Reasoning behind each agent. Implementations: agents.offline.OfflineAnalyst,
    agents.llm_analyst.LLMAnalyst."""

    label: str

    def intake(self, st: InvestigationState, kit: Toolkit) -> dict[str, Any]: ...
    def gather_context(self, st: InvestigationState, kit: Toolkit) -> tuple[ContextFindings, Usage]: ...
    def hunt_paths(self, st: InvestigationState, kit: Toolkit) -> tuple[PathFindings, Usage]: ...
    def assess_impact(self, st: InvestigationState, kit: Toolkit) -> tuple[ImpactFindings, Usage]: ...
    def decide(self, st: InvestigationState, kit: Toolkit) -> tuple[Decision, Usage]: ...
    def follow_up(self, st: InvestigationState, kit: Toolkit, ask: FollowUp) -> tuple[dict[str, Any], FollowUp, Usage]: ...


class Ledger(Protocol):
    """Where a response handler's call is claimed before it runs (agents.runtime keeps it
    in the checkpoint database, so it outlives the process)."""

    def once(self, action_id: str, record: dict[str, Any],
             handler: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]: ...


class MemoryLedger:
    """A ledger for one process (graphs built without a service, tests)."""

    def __init__(self) -> None:
        self.done: dict[str, dict[str, Any]] = {}

    def once(self, action_id: str, record: dict[str, Any],
             handler: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        if action_id not in self.done:
            self.done[action_id] = {"executed": None, "note": "the handler did not answer"}  # claimed first
            try:
                self.done[action_id] = handler(record)
            except Exception as exc:  # reported, not retried behind the approver's back
                self.done[action_id] = {"executed": None, "error": f"{type(exc).__name__}: {exc}"[:300]}
        return self.done[action_id]


@dataclass
class Runtime:
    """What nodes need but state cannot carry (it is checkpointed): the twin's driver,
    the toolkit factory and the analyst."""

    make_toolkit: Callable[[InvestigationState, str], Toolkit]
    analyst: Analyst
    responder: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    fallback: Analyst | None = None  # decides when the analyst cannot (budget, broken output)
    fault: Callable[[str], None] | None = None  # tests inject crashes between stages
    ledger: Ledger = field(default_factory=MemoryLedger)  # one handler call per approved action


def pending_actions(st: InvestigationState) -> list[dict[str, Any]]:
    """The decision's response actions as approval items, each with a stable id."""
    return [
        {"action_id": f"{st.investigation_id}:{i}", "action": a.action, "target": a.target,
         "args": a.args, "paths_removed": a.paths_removed, "reason": a.why}
        for i, a in enumerate(st.decision.recommended_actions if st.decision else [])
    ]


def _next_undecided(st: InvestigationState) -> dict[str, Any] | None:
    return next((a for a in pending_actions(st) if a["action_id"] not in st.approvals), None)


def _progress(stage: str, message: str) -> None:
    try:
        writer = get_stream_writer()
    except Exception:  # outside a streaming run
        return
    writer({"stage": stage, "message": message})


def check_budget(st: InvestigationState, usage: Usage | None = None) -> None:
    used = st.usage.add(usage or Usage())
    b = st.budget
    if used.llm_calls > b.max_llm_calls:
        raise BudgetExceeded(f"LLM call budget exhausted ({used.llm_calls} > {b.max_llm_calls})")
    if used.prompt_tokens + used.completion_tokens > b.max_tokens:
        raise BudgetExceeded(f"token budget exhausted ({used.prompt_tokens + used.completion_tokens} > {b.max_tokens})")
    if used.cypher_queries > b.max_cypher:
        raise BudgetExceeded(f"Cypher budget exhausted ({used.cypher_queries} > {b.max_cypher})")
    if st.started_at and time.time() - st.started_at > b.max_seconds:
        raise BudgetExceeded(f"time budget exhausted ({b.max_seconds:.0f}s)")


# Stages that close an investigation: they spend no model call, and a spent budget must
# not leave an investigation unverified or without its report (it stopped there before).
UNBUDGETED = ("grounding_verifier", "approval", "report")


def grant(st: InvestigationState, ask: FollowUp | None, settings: AgentSettings) -> tuple[FollowUp | None, str]:
    """Whether the lead's question is sent: to a specialist, within `followup_rounds`,
    not one already asked of that role, and only while the budget still holds the
    specialist's loop and the lead's second decision (else the lead's verdict stands)."""
    if ask is None:
        return None, ""
    question = " ".join(ask.question.split())[:400]
    if ask.role not in SPECIALISTS or not question:
        return None, "not sent: the question names no specialist or is empty"
    if sum(f.sent for f in st.followups) >= settings.followup_rounds:
        return None, f"not sent: {settings.followup_rounds} round(s) used"
    if any(f.sent and f.role == ask.role and f.question.lower() == question.lower() for f in st.followups):
        return None, f"not sent: {ask.role} was already asked that"
    need = settings.tool_rounds + 4  # the specialist's rounds and answer (+repair), the lead's answer
    if st.usage.llm_calls + need > st.budget.max_llm_calls:
        return None, f"not sent: the LLM call budget cannot hold it ({need} more calls)"
    return ask.model_copy(update={"round": sum(f.sent for f in st.followups) + 1, "question": question}), ""


def build_graph(rt: Runtime) -> StateGraph:
    def stage(name: str, fn: Callable[[InvestigationState, Toolkit], dict[str, Any]]):
        def node(st: InvestigationState, config: RunnableConfig) -> dict[str, Any]:
            if rt.fault:
                rt.fault(name)
            _progress(name, "started")
            kit = rt.make_toolkit(st, name)
            kit.settings = settings_of(config)
            try:
                if name not in UNBUDGETED:
                    check_budget(st)
                update = fn(st, kit)
            except BudgetExceeded as exc:
                update = {"notes": [f"{name}: {exc}"], "review_reasons": [str(exc)]}
                if name == "lead_analyst" and rt.fallback is not None:
                    # No verdict without a decision: the rules decide, and say so.
                    decision, _ = rt.fallback.decide(st, kit)
                    decision.decided_by = f"{decision.decided_by} (fallback: {exc})"
                    update["decision"] = decision
            update.setdefault("usage", Usage())
            update["usage"] = update["usage"].add(Usage(cypher_queries=kit.query_count))
            update["audit"] = kit.audit_records()
            update["injection"] = [*update.get("injection", []), *kit.injection]
            update["stages_done"] = [name]
            if kit.role_run is not None:
                update["roles"] = {kit.role_run.role or name: kit.role_run}
            if name == "follow_up":
                update["asking"] = None  # answered, or given up on: never asked twice
            elif name == "lead_analyst":
                update["asking"], refused = grant(st, kit.ask, kit.settings)
                if refused and kit.ask is not None:  # kept, with why: the report shows what was not asked
                    update["followups"] = [kit.ask.model_copy(update={"sent": False, "answer": refused})]
            _progress(name, kit.last_summary or "done")
            return update

        node.__name__ = name
        return node

    def intake(st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
        return rt.analyst.intake(st, kit)

    def context_gatherer(st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
        found, usage = rt.analyst.gather_context(st, kit)
        update: dict[str, Any] = {"context": found, "usage": usage}
        have = {e.key for e in st.entities}
        extra = [e for e in found.attributed if e.key not in have]
        if extra:
            update["entities"] = [*st.entities, *extra]
        return update

    def path_hunter(st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
        found, usage = rt.analyst.hunt_paths(st, kit)
        return {"paths": found, "usage": usage}

    def impact_assessor(st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
        found, usage = rt.analyst.assess_impact(st, kit)
        return {"impact": found, "usage": usage}

    def lead_analyst(st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
        decision, usage = rt.analyst.decide(st, kit)
        return {"decision": decision, "usage": usage}

    def follow_up(st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
        """The specialist the lead asked answers with its own tools; its verified findings
        replace its role's findings, and the lead decides again."""
        if st.asking is None:
            return {}
        update, answered, usage = rt.analyst.follow_up(st, kit, st.asking)
        return {**update, "followups": [answered], "usage": usage}

    def grounding_verifier(st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
        return verify_claims(st, kit)

    def approval(st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
        """Pause for a human before one response action; resume with their decision.

        One action per pass, and the graph comes back here while one is undecided:
        LangGraph re-runs a node from its top on every resume, so a node that asked for
        N decisions in a row ran the first one's handler N times. Here a pass holds one
        interrupt, and the handler runs through the ledger (at most once per action id,
        across resumes and a process restart that lands inside the handler)."""
        item = _next_undecided(st)
        if item is None:
            return {}
        answer = interrupt({"investigation_id": st.investigation_id, **item})
        answer = answer if isinstance(answer, dict) else {"approved": False, "note": "malformed decision"}
        record = {**item, "approved": bool(answer.get("approved")), "by": str(answer.get("by", ""))}
        if record["approved"] and rt.responder:
            record["response"] = rt.ledger.once(item["action_id"], record, rt.responder)
        return {"approvals": {**st.approvals, item["action_id"]: record}}

    def report(st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
        return {"result": build_result(st)}

    g = StateGraph(InvestigationState)
    for name, fn in (
        ("intake", intake), ("context_gatherer", context_gatherer), ("path_hunter", path_hunter),
        ("impact_assessor", impact_assessor), ("lead_analyst", lead_analyst), ("follow_up", follow_up),
        ("grounding_verifier", grounding_verifier), ("approval", approval), ("report", report),
    ):
        g.add_node(name, stage(name, fn))
    g.add_edge(START, "intake")
    g.add_edge("intake", "context_gatherer")
    g.add_conditional_edges(
        "context_gatherer",
        lambda st: [Send("path_hunter", st), Send("impact_assessor", st)],
        ["path_hunter", "impact_assessor"],
    )
    g.add_edge("path_hunter", "lead_analyst")
    g.add_edge("impact_assessor", "lead_analyst")
    g.add_conditional_edges(
        "lead_analyst", lambda st: "follow_up" if st.asking is not None else "grounding_verifier",
        ["follow_up", "grounding_verifier"])
    g.add_edge("follow_up", "lead_analyst")
    g.add_conditional_edges(
        "grounding_verifier",
        lambda st: "approval" if st.respond and st.decision and st.decision.recommended_actions else "report",
        ["approval", "report"],
    )
    g.add_conditional_edges(
        "approval", lambda st: "approval" if _next_undecided(st) is not None else "report", ["approval", "report"])
    g.add_edge("report", END)
    return g
