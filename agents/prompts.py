"""Prompts live as files in prompts/; this module loads them and fences untrusted text.

Fencing: alert fields, AD descriptions, SBOM fields and event text reach the model
only inside `<data source=...>` blocks, with anything that could close the fence
neutralised, so planted instructions stay data (see prompts/system.md, rule 2).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"

_FENCE = re.compile(r"</?\s*data\b[^>]*>", re.IGNORECASE)

# Phrases that try to talk to the model: flagged in results; never acted on. Shaped as
# instructions, so the standard texts of a directory do not trip them ("Backup Operators
# can override security restrictions", the "Act as part of the operating system" right).
INJECTION_PATTERNS = re.compile(
    r"(ignore (all |any )?(previous|prior|above) (instructions|rules)|disregard .{0,40}instructions|"
    r"you are now|system prompt|mark (this|it|the alert) as (benign|false|a false)|"
    r"verdict\s*[:=]\s*(benign|false)|classify (this|it) as|do not (report|escalate)|"
    r"new instructions|act as (an? |the )?(different |new |unrestricted )?(ai|assistant|model|analyst|system)\b|"
    r"override (your |the |all |any |previous |prior )?(instructions|rules|prompt|guidelines|verdict))",
    re.IGNORECASE,
)

@cache
def load(name: str) -> str:
    return (PROMPTS_DIR / f"{name}.md").read_text(encoding="utf-8")


def system_prompt() -> str:
    """The same for every agent (the role's task comes in the first user message), so
    the prompt prefix is shared across calls."""
    return load("system")


def fence(source: str, payload: object, limit: int = 12_000) -> str:
    """Untrusted content as a data block; text that could end the block is defused."""
    # One line of JSON: no model needs indentation to read it, and every token counts on a
    # small local model (measured: the context gatherer's first request 7,005 -> 6,784
    # prompt tokens; most of a request is the tool schemas and the data itself).
    text = payload if isinstance(payload, str) else json.dumps(payload, sort_keys=True, default=str)
    text = _FENCE.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)
    if len(text) > limit:
        text = text[:limit] + "\n[... truncated]"
    return f'<data source="{source}">\n{text}\n</data>'


def injection_markers(payload: object) -> list[str]:
    """Instruction-like phrases found in untrusted text (reported, never obeyed)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    return sorted({m.group(0).lower() for m in INJECTION_PATTERNS.finditer(text)})[:10]


def twin_injection_markers(value: object, source: str = "twin") -> list[str]:
    """Instruction-like phrases in what the twin returned (a tool result, a finding),
    each with the node it was read from: `ignore previous instructions (twin ALICE@CORP)`.

    Descriptions, inventory notes and tags, SBOM component text and names reach the
    rules and the model as tool results; a phrase planted there is flagged exactly like
    one in the alert (the investigation's `injection` list)."""
    found: dict[str, None] = {}

    def walk(v: object, node: str) -> None:
        if len(found) >= 10:
            return
        if hasattr(v, "model_dump"):
            v = v.model_dump(mode="json")  # type: ignore[union-attr]
        if isinstance(v, dict):
            key = v.get("key")
            here = key if isinstance(key, str) and key else node
            for k, x in v.items():
                walk(k, here)
                walk(x, here)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x, node)
        elif isinstance(v, str):
            for m in INJECTION_PATTERNS.finditer(v):
                found[f"{m.group(0).lower()} ({source} {node})" if node else f"{m.group(0).lower()} ({source})"] = None

    walk(value, "")
    return list(found)[:10]
