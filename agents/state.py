"""The workflow's typed state: what each agent reads and writes, with reducers for
the fields that parallel agents (path hunter, impact assessor) both touch."""

from __future__ import annotations

import operator
from typing import Annotated, Any

from pydantic import BaseModel, Field

from agents.models import (
    Budget,
    Claim,
    ContextFindings,
    Decision,
    EntityRef,
    FollowUp,
    ImpactFindings,
    Mention,
    PathFindings,
    RoleRun,
    ToolCallRecord,
    Usage,
)


def add_usage(a: Usage | None, b: Usage | None) -> Usage:
    return (a or Usage()).add(b or Usage())


def merge_markers(a: list[str] | None, b: list[str] | None) -> list[str]:
    """Injection markers from the alert (intake) and the twin (every stage, the parallel
    ones included), each once."""
    return list(dict.fromkeys([*(a or []), *(b or [])]))[:30]


def merge_roles(a: dict[str, RoleRun] | None, b: dict[str, RoleRun] | None) -> dict[str, RoleRun]:
    """Per-role records: parallel roles write their own keys; a role's later pass (a
    follow-up, the verifier's dropped-claim count) adds to its record."""
    out = dict(a or {})
    for k, v in (b or {}).items():
        out[k] = out[k].merge(v) if k in out else v
    return out


class InvestigationState(BaseModel):
    investigation_id: str
    alert_doc: dict[str, Any]
    respond: bool = False
    budget: Budget = Field(default_factory=Budget)
    started_at: float = 0.0

    # intake
    alert: dict[str, Any] | None = None  # graph.alert_model.ParsedAlert, dumped
    as_of: int | None = None
    mentions: list[Mention] = Field(default_factory=list)
    entities: list[EntityRef] = Field(default_factory=list)
    absent: list[str] = Field(default_factory=list)
    injection: Annotated[list[str], merge_markers] = Field(default_factory=list)

    # agents
    context: ContextFindings | None = None
    paths: PathFindings | None = None
    impact: ImpactFindings | None = None
    decision: Decision | None = None
    verified_claims: list[Claim] = Field(default_factory=list)
    dropped_claims: list[Claim] = Field(default_factory=list)
    status: str = "running"
    review_reasons: Annotated[list[str], operator.add] = Field(default_factory=list)
    approvals: dict[str, dict[str, Any]] = Field(default_factory=dict)
    result: dict[str, Any] | None = None

    # the lead's questions back to the specialists (agents/workflow.py): the one waiting
    # for its answer, and every one asked and answered, in order
    asking: FollowUp | None = None
    followups: Annotated[list[FollowUp], operator.add] = Field(default_factory=list)

    # what each role did (model-driven runs; agents.llm_analyst)
    roles: Annotated[dict[str, RoleRun], merge_roles] = Field(default_factory=dict)

    # accumulated by every agent
    usage: Annotated[Usage, add_usage] = Field(default_factory=Usage)
    audit: Annotated[list[ToolCallRecord], operator.add] = Field(default_factory=list)
    notes: Annotated[list[str], operator.add] = Field(default_factory=list)
    stages_done: Annotated[list[str], operator.add] = Field(default_factory=list)
