"""The investigation result (contract section 5) as one model.

What `investigate --json`, MCP's `investigate`, the bot and the reports read is this
model's dump, and its JSON Schema (evals/spec/investigation.schema.json) is generated
from it, so the shape has a single definition. The contract's fields come first and are
required, with the contract's constraints; the extra fields follow with defaults, so a
result written before one of them existed still reads. Field order is the JSON's key
order: it is part of the output and must not move.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from agents.models import (
    Mention,
    Origin,
    PathKind,
    QuestionName,
    Severity,
    TimelineEntry,
    ToolCallRecord,
    Verdict,
)

Technique = Annotated[str, Field(pattern=r"^T[0-9]{4}(\.[0-9]{3})?$")]
Count = Annotated[int, Field(ge=0)]
# complete / needs_human_review come from the report; awaiting_approval is the runtime's
# partial result shown while a response action waits for its approver.
Status = Literal["complete", "needs_human_review", "awaiting_approval"]


class NodeItem(BaseModel):
    """Evidence that a node with this key exists."""

    model_config = ConfigDict(extra="forbid")
    node: str


class EdgeItem(BaseModel):
    """Evidence that the edge [src key, TYPE, dst key] exists."""

    model_config = ConfigDict(extra="forbid")
    edge: list[str] = Field(min_length=3, max_length=3)


class AbsentItem(BaseModel):
    """Evidence that the twin has no entity of this name."""

    model_config = ConfigDict(extra="forbid")
    absent: str


# Exactly one key per item: extra="forbid" makes the three shapes exclusive.
EvidenceItem = NodeItem | EdgeItem | AbsentItem


class ResultEntity(BaseModel):
    key: str
    labels: list[str]
    role: str = ""
    mention: str = ""


class ResultPath(BaseModel):
    """An attack path; `cost` and `times` appear only when the path has them."""

    nodes: list[str] = Field(min_length=1)
    edges: list[str]
    kind: PathKind
    # Left out, never written as null: `X | SkipJsonSchema[None]` keeps null out of the schema.
    cost: float | SkipJsonSchema[None] = Field(default=None, exclude_if=lambda v: v is None)
    times: list[int | None] | SkipJsonSchema[None] = Field(default=None, exclude_if=lambda v: v is None)


class ResultClaim(BaseModel):
    text: str
    evidence: list[EvidenceItem]
    agent: str = ""
    grounded: bool | None = None  # the verifier's finding; never the claimant's


class ResultAction(BaseModel):
    action: str
    target: str
    paths_removed: Count = 0
    args: list[str] = Field(default_factory=list)
    breaks: int = 0
    why: str = ""


class ResultUsage(BaseModel):
    """agents.models.Usage as the contract states it: all five, none below zero."""

    llm_calls: Count
    prompt_tokens: Count
    completion_tokens: Count
    cost_usd: float = Field(ge=0)
    cypher_queries: Count


class ResultAnswer(BaseModel):
    """One of the three questions (agents/RULES.md) with up to eight evidence items."""

    question: QuestionName
    status: str
    summary: str
    evidence: list[EvidenceItem] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)


class Summaries(BaseModel):
    context: str = ""
    paths: str = ""
    impact: str = ""


class InvestigationResult(BaseModel):
    """Contract section 5, then the extra fields the contract welcomes."""

    model_config = ConfigDict(extra="allow", title="Twinsight investigation result (twinsight investigate --json)")

    alert_id: str = Field(min_length=1)
    verdict: Verdict
    confidence: float = Field(ge=0, le=1)
    severity: Severity
    entities: list[ResultEntity]
    attack_paths: list[ResultPath]
    impacted_assets: list[str]
    techniques: list[Technique]
    claims: list[ResultClaim]
    recommended_actions: list[ResultAction]
    usage: ResultUsage
    seconds: float = Field(ge=0)
    # extra fields
    investigation_id: str = ""
    status: Status = "complete"
    review_reasons: list[str] = Field(default_factory=list)
    decided_by: str = ""  # "offline-rules" or "llm:<model>"
    rule: str = ""  # the decision table's row, when rules decided
    reasons: list[str] = Field(default_factory=list)
    answers: list[ResultAnswer] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    source: Origin | None = None
    dropped_claims: list[ResultClaim] = Field(default_factory=list)  # what the verifier removed
    absent: list[str] = Field(default_factory=list)
    mentions: list[Mention] = Field(default_factory=list)
    injection_suspected: list[str] = Field(default_factory=list)
    approvals: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # per-role view of a model-driven run; absent from the offline analyst's result
    roles: dict[str, dict[str, Any]] | SkipJsonSchema[None] = Field(default=None, exclude_if=lambda v: v is None)
    # the lead's questions back to the specialists and their answers (model-driven runs)
    followups: list[dict[str, Any]] | SkipJsonSchema[None] = Field(default=None, exclude_if=lambda v: v is None)
    audit: list[ToolCallRecord] = Field(default_factory=list)
    summaries: Summaries = Field(default_factory=Summaries)


def as_result(r: InvestigationResult | dict[str, Any]) -> InvestigationResult:
    """The model of a result given either way (a stored result is its dump)."""
    return r if isinstance(r, InvestigationResult) else InvestigationResult.model_validate(r)
