"""The investigation service as front ends (CLI, chat-ops bot) use it.

Front ends never touch the workflow's internals: they start an investigation, follow
its progress, read its result, and approve or deny the response actions it paused on.
The implementation (`TwinsightService`) lives in agents/runtime.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


@dataclass
class Progress:
    """One streamed step of a running investigation (for live progress in a thread)."""

    investigation_id: str
    stage: str  # intake | context_gatherer | path_hunter | impact_assessor | lead_analyst | grounding_verifier | approval | report
    message: str


@dataclass
class PendingAction:
    """A response action the workflow will not carry out without a human's approval."""

    action_id: str  # stable id a human types: `approve <action_id>`
    investigation_id: str
    action: str  # e.g. "disable", "isolate", "remove-member"
    target: str  # twin key
    paths_removed: int = 0
    reason: str = ""


@dataclass
class InvestigationOutcome:
    investigation_id: str
    status: Literal["complete", "awaiting_approval", "needs_human_review", "failed"]
    result: dict[str, Any] | None  # the contract section 5 document (plus extra fields)
    report_markdown: str | None = None
    pending: list[PendingAction] = field(default_factory=list)
    error: str | None = None


class InvestigationService(Protocol):
    def investigate(
        self,
        alert: dict[str, Any],
        *,
        investigation_id: str | None = None,
        respond: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> InvestigationOutcome:
        """Run (or resume, when investigation_id names an unfinished one) an investigation."""

    def find_alert(self, alert_id: str) -> dict[str, Any] | None:
        """An alert already in the twin (ingested OCSF/ECS), by its id, as the raw document."""

    def decide(self, action_id: str, approved: bool, by: str) -> InvestigationOutcome:
        """Approve or deny a pending response action; resumes the paused workflow."""

    def pending(self) -> list[PendingAction]:
        """Response actions waiting for a decision (survives restarts: checkpointed)."""

    def paths(self, source: str, target: str | None = None) -> dict[str, Any]:
        """Attack paths from a key (to crown jewels / tier 0 when target is None)."""

    def whatif(self, argv: list[str]) -> dict[str, Any]:
        """A what-if action as on the CLI (`isolate WEB01.CORP.LOCAL`): contract section 7 JSON."""

    def status(self) -> dict[str, Any]:
        """Twin size and server version, analyst in use, investigations in flight."""
