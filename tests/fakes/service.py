"""A scripted investigation service for the bot's tests (a test double, not the product).

`RecordingService` answers the InvestigationService protocol (agents/service.py) from a
script and records what the bot asked, so the bot's behaviour is tested without Neo4j or
an LLM. Its result is checked against the contract's model (agents/result.py), so the
double cannot drift from the shape the real service returns.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.result import InvestigationResult
from agents.service import InvestigationOutcome, PendingAction, Progress

STAGES = ("intake", "context_gatherer", "path_hunter", "impact_assessor", "lead_analyst", "grounding_verifier")


def _contract(result: dict[str, Any]) -> dict[str, Any]:
    """The scripted result, unchanged, once the contract's model has accepted it."""
    InvestigationResult.model_validate(result)
    return result


def _alert_subject(alert: dict[str, Any]) -> str:
    """The account an alert is about (OCSF actor.user.name or ECS user.name), for the script."""
    for path in (("actor", "user", "name"), ("user", "name"), ("user",)):
        node: Any = alert
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and node:
            return node.upper()
    return "UNKNOWN@CORP.LOCAL"


class RecordingService:
    """A TEST DOUBLE of the InvestigationService protocol — not the real service.

    It walks the workflow's stage names (reporting each through on_progress), answers a
    result shaped like contract section 5 built from the alert it was given, and, when
    asked to respond, pauses on one `disable` action until `decide`. `gate`, when set,
    holds every investigation at its first stage until the test releases it (for
    "help answers while an investigation runs" and restart tests). `store` persists
    pending actions and started investigations to a JSON file, as the real service's
    checkpoints would, so a second instance sees what the first left behind.
    """

    def __init__(
        self,
        *,
        step_delay: float = 0.0,
        gate: threading.Event | None = None,
        store: Path | None = None,
        fail: str | None = None,
    ):
        self.step_delay = step_delay
        self.gate = gate
        self.store = store
        self.fail = fail
        self.calls: list[tuple[Any, ...]] = []
        self.alerts: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._pending: dict[str, PendingAction] = {}
        self._started: dict[str, dict[str, Any]] = {}
        self._seq = 0
        if store is not None and store.exists():
            data = json.loads(store.read_text())
            self._pending = {k: PendingAction(**v) for k, v in data.get("pending", {}).items()}
            self._started = data.get("started", {})

    def _save(self) -> None:
        if self.store is not None:
            data = {"pending": {k: asdict(v) for k, v in self._pending.items()}, "started": self._started}
            self.store.write_text(json.dumps(data))

    def _record(self, *call: Any) -> None:
        with self._lock:
            self.calls.append(call)

    def called(self, name: str) -> list[tuple[Any, ...]]:
        with self._lock:
            return [c for c in self.calls if c[0] == name]

    def _result(self, alert: dict[str, Any], subject: str) -> dict[str, Any]:
        return _contract({
            "alert_id": str(alert.get("id") or alert.get("alert_id") or "pasted"),
            "verdict": "true_positive",
            "confidence": 0.87,
            "severity": "high",
            "entities": [{"key": subject, "labels": ["User"]}, {"key": "DC01.CORP.LOCAL", "labels": ["Computer"]}],
            "attack_paths": [
                {"nodes": ["WS07.CORP.LOCAL", subject, "CORP.LOCAL"], "edges": ["HasSession", "DCSync"], "kind": "observed"}
            ],
            "impacted_assets": ["CORP.LOCAL", "CUSTOMER-DB"],
            "techniques": ["T1003.006"],
            "claims": [{"text": f"{subject} can DCSync", "evidence": [{"edge": [subject, "DCSync", "CORP.LOCAL"]}]}],
            "recommended_actions": [{"action": "disable", "target": subject, "paths_removed": 2}],
            "usage": {"llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "cypher_queries": 3},
            "seconds": 0.1,
        })

    # --- the protocol ---

    def investigate(
        self,
        alert: dict[str, Any],
        *,
        investigation_id: str | None = None,
        respond: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> InvestigationOutcome:
        with self._lock:
            self._seq += 1
            inv_id = investigation_id or f"inv-rec-{self._seq}"
            resumed = inv_id in self._started
            self._started[inv_id] = {"alert": alert}
            self._save()
        self._record("investigate", inv_id, alert, respond, resumed)
        for i, stage in enumerate(STAGES):
            if on_progress is not None:
                on_progress(Progress(inv_id, stage, f"{stage} at work"))
            if i == 0 and self.gate is not None:
                self.gate.wait()
            if self.step_delay:
                time.sleep(self.step_delay)
        if self.fail:
            raise RuntimeError(self.fail)
        subject = _alert_subject(alert)
        result = self._result(alert, subject)
        report = f"# Investigation {inv_id}\n\nVerdict: true_positive\n\nSubject: {subject}\n"
        with self._lock:
            self._started.pop(inv_id, None)
            if respond:
                action = PendingAction(
                    action_id=f"{inv_id}-a1",
                    investigation_id=inv_id,
                    action="disable",
                    target=subject,
                    paths_removed=2,
                    reason="the account holds DCSync rights it should not",
                )
                self._pending[action.action_id] = action
                self._save()
                return InvestigationOutcome(inv_id, "awaiting_approval", result, report, [action])
            self._save()
        return InvestigationOutcome(inv_id, "complete", result, report)

    def find_alert(self, alert_id: str) -> dict[str, Any] | None:
        self._record("find_alert", alert_id)
        return self.alerts.get(alert_id)

    def decide(self, action_id: str, approved: bool, by: str) -> InvestigationOutcome:
        self._record("decide", action_id, approved, by)
        with self._lock:
            action = self._pending.pop(action_id, None)
            self._save()
        if action is None:
            raise KeyError(f"no pending action {action_id}")
        result = self._result({}, action.target)
        result["response"] = [{"action": action.action, "target": action.target, "approved": approved, "by": by}]
        word = "carried out" if approved else "not carried out"
        report = f"# Investigation {action.investigation_id}\n\n{action.action} {action.target}: {word} ({by})\n"
        return InvestigationOutcome(action.investigation_id, "complete", result, report)

    def pending(self) -> list[PendingAction]:
        with self._lock:
            return list(self._pending.values())

    def paths(self, source: str, target: str | None = None) -> dict[str, Any]:
        self._record("paths", source, target)
        end = target or "CORP.LOCAL"
        return {"source": source, "paths": [{"nodes": [source, end], "edges": ["AdminTo"]}]}

    def whatif(self, argv: list[str]) -> dict[str, Any]:
        self._record("whatif", list(argv))
        return {
            "action": " ".join(argv),
            "paths_before": 3,
            "paths_after": 1,
            "paths_removed": [{"nodes": ["WS07.CORP.LOCAL", argv[-1]], "edges": ["HasSession"]}] * 2,
            "vulns_gained": [],
            "vulns_lost": [],
            "breaks": [{"key": "APP-1", "reason": "needs a flow the change closes"}],
            "twin_unchanged": True,
        }

    def status(self) -> dict[str, Any]:
        self._record("status")
        return {"service": "RecordingService (test double)", "twin": {"nodes": 0, "relationships": 0}}


