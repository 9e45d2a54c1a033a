"""Chat-sized views of service results: a summary a human reads in five seconds.

The full story goes in the attached Markdown report; a chat message carries only what
decides the next step (verdict, how sure, the top path, what is at risk, what to do).
Text here is plain with `code` spans, which both Slack mrkdwn and Matrix clients show
sensibly; the transports add their own structure (Block Kit, HTML) on top.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agents.service import InvestigationOutcome, PendingAction

MAX_LIST = 8


def clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def code(text: Any) -> str:
    # Backticks inside a key would end the span early; a prime is visually close.
    return f"`{str(text).replace('`', 'ʹ')}`"


def format_path(path: dict[str, Any]) -> str:
    """`A -[MemberOf]-> B -[DCSync]-> C`: edges[i] joins nodes[i] and nodes[i+1]."""
    nodes = [str(n) for n in path.get("nodes") or []]
    edges = [str(e) for e in path.get("edges") or []]
    if not nodes:
        return "(empty path)"
    parts = [code(nodes[0])]
    for i, node in enumerate(nodes[1:]):
        edge = edges[i] if i < len(edges) else "?"
        parts.append(f"-[{edge}]->")
        parts.append(code(node))
    return " ".join(parts)


def format_list(items: list[Any], limit: int = MAX_LIST) -> str:
    if not items:
        return "none"
    shown = ", ".join(code(i) for i in items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def format_action(action: dict[str, Any]) -> str:
    text = f"{action.get('action', '?')} {code(action.get('target', '?'))}"
    removed = action.get("paths_removed")
    if isinstance(removed, int) and removed:
        text += f" (removes {removed} path{'s' if removed != 1 else ''})"
    return text


@dataclass
class Summary:
    """What a transport turns into Block Kit or HTML; `text()` is the plain fallback."""

    investigation_id: str
    status: str
    headline: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    note: str | None = None

    def text(self) -> str:
        lines = [self.headline]
        lines += [f"• {label}: {value}" for label, value in self.fields]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


ANSWER_LABELS = {"happened": "Did it happen?", "expected": "Is it expected?", "origin": "Where from?"}
STATUS_NOTES = {
    "awaiting_approval": "⏸ Paused: response actions below wait for an approver.",
    "needs_human_review": "⚠ The grounding check could not confirm every claim: a human should review the report.",
}


def build_summary(outcome: InvestigationOutcome) -> Summary:
    result = outcome.result or {}
    verdict = result.get("verdict", "unknown")
    confidence = result.get("confidence")
    conf = f"{confidence:.2f}" if isinstance(confidence, int | float) else "?"
    headline = f"Investigation {code(outcome.investigation_id)}: *{verdict}* (confidence {conf})"
    fields: list[tuple[str, str]] = []
    # The three questions lead: what the verdict rests on, before what it implies.
    for a in result.get("answers") or []:
        if isinstance(a, dict) and a.get("question") in ANSWER_LABELS:
            fields.append((ANSWER_LABELS[a["question"]], f"{a.get('status', '?')}: {a.get('summary', '')}"))
    fields += [("Verdict", str(verdict)), ("Confidence", conf)]
    if result.get("severity"):
        fields.append(("Severity", str(result["severity"])))
    paths = [p for p in result.get("attack_paths") or [] if isinstance(p, dict)]
    if paths:
        top = format_path(paths[0])
        if len(paths) > 1:
            top += f" (+{len(paths) - 1} more)"
        fields.append(("Top path", top))
    else:
        fields.append(("Top path", "none found"))
    fields.append(("Impacted assets", format_list(list(result.get("impacted_assets") or []))))
    actions = [a for a in result.get("recommended_actions") or [] if isinstance(a, dict)]
    fields.append(
        ("Recommended actions", "; ".join(format_action(a) for a in actions[:MAX_LIST]) if actions else "none")
    )
    if result.get("techniques"):
        fields.append(("Techniques", format_list(list(result["techniques"]))))
    usage = result.get("usage") or {}
    seconds = result.get("seconds")
    if usage or seconds is not None:
        cost = []
        if isinstance(seconds, int | float):
            cost.append(f"{seconds:.1f} s")
        if usage.get("llm_calls") is not None:
            cost.append(f"{usage['llm_calls']} LLM calls")
        if isinstance(usage.get("cost_usd"), int | float):
            cost.append(f"${usage['cost_usd']:.4f}")
        if cost:
            fields.append(("Cost", ", ".join(cost)))
    return Summary(
        investigation_id=outcome.investigation_id,
        status=outcome.status,
        headline=headline,
        fields=[(label, clip(value, 900)) for label, value in fields],
        note=STATUS_NOTES.get(outcome.status),
    )


def report_markdown(outcome: InvestigationOutcome) -> str:
    """The service's report, or (when it wrote none) the result document itself."""
    if outcome.report_markdown:
        return outcome.report_markdown
    body = json.dumps(outcome.result or {}, indent=2, sort_keys=True, default=str)
    return f"# Investigation {outcome.investigation_id}\n\nStatus: {outcome.status}\n\n```json\n{body}\n```\n"


def pending_text(action: PendingAction) -> str:
    text = f"Response action {code(action.action_id)}: {action.action} {code(action.target)}"
    if action.paths_removed:
        text += f", removes {action.paths_removed} attack path{'s' if action.paths_removed != 1 else ''}"
    if action.reason:
        text += f". Why: {clip(action.reason, 400)}"
    return text


def render_status(status: dict[str, Any], extra: dict[str, Any]) -> str:
    lines = ["Twinsight status"]
    for key, value in list(status.items()) + list(extra.items()):
        if isinstance(value, dict):
            inner = ", ".join(f"{k}={v}" for k, v in value.items())
            lines.append(f"• {key}: {clip(inner, 300)}")
        elif isinstance(value, list):
            lines.append(f"• {key}: {clip(', '.join(map(str, value)) or 'none', 300)}")
        else:
            lines.append(f"• {key}: {clip(value, 300)}")
    return "\n".join(lines)


def render_paths(source: str, target: str | None, result: dict[str, Any], limit: int = 5) -> str:
    where = f"{code(source)} → {code(target)}" if target else f"{code(source)} → crown jewels / tier 0"
    paths = [p for p in result.get("paths") or result.get("attack_paths") or [] if isinstance(p, dict)]
    lines = [f"Attack paths {where}: {len(paths)}"]
    for i, path in enumerate(paths[:limit], 1):
        lines.append(f"{i}. {format_path(path)}")
    if len(paths) > limit:
        lines.append(f"(+{len(paths) - limit} more in the attached JSON)")
    for key, value in result.items():
        if key not in ("paths", "attack_paths") and isinstance(value, str | int | float | bool):
            lines.append(f"• {key}: {clip(value, 200)}")
    return "\n".join(lines)


def render_whatif(result: dict[str, Any], limit: int = 5) -> str:
    lines = [f"What-if {code(result.get('action', '?'))}"]
    before, after = result.get("paths_before"), result.get("paths_after")
    lines.append(f"• attack paths to crown jewels: {before} → {after}")
    removed = result.get("paths_removed") or []
    if isinstance(removed, list):
        lines.append(f"• paths removed: {len(removed)}")
        for path in removed[:limit]:
            if isinstance(path, dict):
                lines.append(f"   {format_path(path)}")
    if "ranking" in result and isinstance(result["ranking"], list):
        for i, row in enumerate(result["ranking"][:limit], 1):
            if isinstance(row, dict):
                lines.append(f"{i}. {code(row.get('action', '?'))}: removes {row.get('paths_removed', '?')}")
    lines.append(f"• vulnerabilities gained: {format_list(list(result.get('vulns_gained') or []))}")
    lines.append(f"• vulnerabilities lost: {format_list(list(result.get('vulns_lost') or []))}")
    breaks = [b for b in result.get("breaks") or [] if isinstance(b, dict)]
    lines.append(f"• breaks: {len(breaks)}")
    for b in breaks[:limit]:
        lines.append(f"   {code(b.get('key', '?'))}: {clip(b.get('reason', ''), 200)}")
    if "twin_unchanged" in result:
        lines.append(f"• twin unchanged after rollback: {result['twin_unchanged']}")
    return "\n".join(lines)
