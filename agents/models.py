"""The investigation's typed pieces: what agents hand each other and what comes out.

The output document is contract section 5 (`Investigation.contract()`); every other
field here is ours and travels as extra fields the contract welcomes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

Verdict = Literal["true_positive", "benign_positive", "false_positive"]
Severity = Literal["informational", "low", "medium", "high", "critical"]
PathKind = Literal["to_crown_jewel", "from_entry_point", "observed"]
SEVERITIES: tuple[str, ...] = ("informational", "low", "medium", "high", "critical")


class Evidence(BaseModel):
    """Exactly one of: a node key, an edge triple [src key, TYPE, dst key], or a name
    the twin does not have (`absent`)."""

    node: str | None = None
    edge: list[str] | None = Field(default=None, min_length=3, max_length=3)
    absent: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Evidence:
        if sum(x is not None for x in (self.node, self.edge, self.absent)) != 1:
            raise ValueError("evidence must hold exactly one of node, edge, absent")
        return self

    def item(self) -> dict:
        return self.model_dump(exclude_none=True)


class Claim(BaseModel):
    text: str
    evidence: list[Evidence] = Field(default_factory=list)
    agent: str = ""  # who made it
    grounded: bool | None = None  # set by the verifier, never by the claimant
    decisive: bool = False  # the verdict rests on it

    def contract(self) -> dict:
        return {"text": self.text, "evidence": [e.item() for e in self.evidence],
                "agent": self.agent, "grounded": self.grounded}


class AttackPath(BaseModel):
    nodes: list[str]
    edges: list[str]
    kind: PathKind
    cost: float | None = None
    times: list[int | None] | None = None  # observed paths: when each step happened
    # The observed path continued from where it ended to crown jewels / tier 0: where the
    # attacker goes next. Reported only for a true positive (a benign activity leads nowhere).
    onward: bool = False

    def contract(self) -> dict:
        d = {"nodes": self.nodes, "edges": self.edges, "kind": self.kind}
        if self.cost is not None:
            d["cost"] = self.cost
        if self.times is not None:
            d["times"] = self.times
        return d


class EntityRef(BaseModel):
    key: str
    labels: list[str] = Field(default_factory=list)
    role: str = ""  # host | user | src_ip | ... as the alert named it
    mention: str = ""  # the alert's own text for it
    found_by: str = ""  # set when a model's tool call found it (agent, call id), not the alert or the rules


class Mention(BaseModel):
    """A name the alert gives, and what the twin made of it."""

    role: str
    text: str
    resolved: str | None = None
    candidates: list[str] = Field(default_factory=list)
    reason: str = ""


class RecommendedAction(BaseModel):
    action: str  # whatif verb: isolate, disable, remove-member, remove-edge, patch, update, block
    target: str
    args: list[str] = Field(default_factory=list)
    paths_removed: int = 0
    breaks: int = 0
    why: str = ""

    def contract(self) -> dict:
        return {"action": self.action, "target": self.target, "paths_removed": self.paths_removed,
                "args": self.args, "breaks": self.breaks, "why": self.why}


class Usage(BaseModel):
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cypher_queries: int = 0

    def add(self, other: Usage) -> Usage:
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in Usage.model_fields})


class Budget(BaseModel):
    """Carried in state and enforced before every LLM call and tool call."""

    max_llm_calls: int = 24
    max_tokens: int = 120_000
    max_seconds: float = 180.0
    max_cypher: int = 200


class ToolCallRecord(BaseModel):
    agent: str
    tool: str
    params: dict[str, Any] = Field(default_factory=dict)
    query: str = ""
    rows: int = 0
    ms: float = 0.0
    error: str | None = None


QuestionName = Literal["happened", "expected", "origin"]


class Answer(BaseModel):
    """One of the three questions every alert is asked (agents/RULES.md), answered with
    the claims that back it. `status` is the question's own vocabulary:
    happened: corroborated | contradicted | not_seen | unverifiable | absent;
    expected: authorised | routine | not_authorised | not_applicable;
    origin: attributed | partial | unknown."""

    question: QuestionName
    status: str
    summary: str
    claims: list[Claim] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)


class TimelineEntry(BaseModel):
    """One event the verdict rests on, as the analyst would list it."""

    time: str | None
    timestamp: int | None
    host: str | None = None
    account: str | None = None
    what: str
    key: str | None = None  # the event (or alert) key


class Origin(BaseModel):
    """Where the activity came from (question 3)."""

    host: str | None = None
    account: str | None = None
    ip: str | None = None
    chain: list[dict[str, Any]] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)


class ContextFindings(BaseModel):
    summary: str = ""
    entity_context: dict[str, dict[str, Any]] = Field(default_factory=dict)
    events: list[dict[str, Any]] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    family: str = ""
    history: dict[str, Any] = Field(default_factory=dict)  # what earlier days show (event_history)
    origin: Origin | None = None
    injection: list[str] = Field(default_factory=list)  # instruction-like text found in twin fields
    attributed: list[EntityRef] = Field(default_factory=list)  # source host/account the events show
    resolved: dict[str, str] = Field(default_factory=dict)  # names in documentation and events -> twin keys


class PathFindings(BaseModel):
    summary: str = ""
    paths: list[AttackPath] = Field(default_factory=list)
    observed: list[AttackPath] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)


class ImpactFindings(BaseModel):
    summary: str = ""
    impacted_assets: list[str] = Field(default_factory=list)
    blast: dict[str, Any] = Field(default_factory=dict)
    actions: list[RecommendedAction] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)


class Decision(BaseModel):
    verdict: Verdict
    severity: Severity
    confidence: float = Field(ge=0.0, le=1.0)
    techniques: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    recommended_actions: list[RecommendedAction] = Field(default_factory=list)
    decided_by: str = ""  # "offline-rules" or "llm:<model>" — never a scripted reply labelled as a model's
    rule: str = ""  # the row of the decision table that fired, when rules decided
    answers: list[Answer] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    # hosts the alert named as the source that the telemetry shows were not (a misfire's
    # wrong attribution): not involved, so not listed among the result's entities
    misattributed: list[str] = Field(default_factory=list)



class ModelCall(BaseModel):
    """One tool call a model made (its id is what the model cites)."""

    id: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    ok: bool = False
    error: str | None = None
    ms: float = 0.0


class ModelFinding(BaseModel):
    """One thing a model said its tool calls found, as the grounding verifier judged it:
    kept (the call it names returned it and the twin has it) or dropped, with why."""

    kind: str  # entity | event | path | asset | action
    key: str | None = None  # entity, event, asset; an action's target
    nodes: list[str] | None = None  # path, attacker side first
    action: list[str] | None = None  # what-if words
    role: str | None = None  # an entity's part: source_host, source_account, actor, target, related
    call: str = ""
    kept: bool = False
    new: bool = False  # kept, and the scripted implementation had not found it
    reason: str = ""


class FollowUp(BaseModel):
    """A question the lead analyst sent back to one specialist, and what came of it.

    The lead asks when the three answers leave something open that one specialist's
    tools could settle ("what connected to this host on 135 just before?"); the
    specialist answers with its own tools and loop, its verified findings join its
    role's findings, and the lead decides again. Bounded by `followup_rounds` and the
    budget (agents/workflow.py)."""

    round: int
    sent: bool = True  # False: the workflow did not send it (rounds used, a repeat, the budget); `answer` says why
    role: Literal["context_gatherer", "path_hunter", "impact_assessor"]
    question: str
    asked_by: str = ""  # the lead's decided_by (a model's label; the rules never ask)
    answer: str = ""  # the specialist's summary, or why there is none
    decided_by: str = ""  # who answered: llm:<model> | offline-rules (...)
    found: int = 0  # verified items the answer added to the role's findings
    dropped: int = 0  # items it named that the verifier dropped


class RoleRun(BaseModel):
    """What one role did in one investigation: the report's and the metrics' per-role view.
    Counts add up over the role's records (its own pass, then the verifier's count of its
    dropped claims)."""

    role: str
    decided_by: str = ""  # llm:<model> | offline-rules | offline-rules (fallback: why)
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0  # in the model (the role's own wall time is in `wall_seconds`)
    wall_seconds: float = 0.0
    tool_calls: int = 0  # the model's own calls
    tool_errors: int = 0
    findings: int = 0  # items in the role's findings (entities+events, paths, assets+actions)
    from_model: int = 0  # of those, found only by the model's own calls
    confirmed: int = 0  # items the model named that the scripted implementation found too
    dropped: int = 0  # items the model named that the verifier dropped
    claims_dropped: int = 0  # the role's claims the final verifier dropped
    calls: list[ModelCall] = Field(default_factory=list)
    found: list[ModelFinding] = Field(default_factory=list)

    def merge(self, other: RoleRun) -> RoleRun:
        d = self.model_dump()
        for k in ("llm_calls", "prompt_tokens", "completion_tokens", "tool_calls", "tool_errors", "findings",
                  "from_model", "confirmed", "dropped", "claims_dropped"):
            d[k] = getattr(self, k) + getattr(other, k)
        for k in ("seconds", "wall_seconds"):
            d[k] = round(getattr(self, k) + getattr(other, k), 3)
        if other.findings:
            d["findings"] = other.findings  # the latest pass counts the role's whole findings again
        d["decided_by"] = other.decided_by or self.decided_by
        d["calls"] = [*self.calls, *other.calls]
        d["found"] = [*self.found, *other.found]
        return RoleRun(**d)
