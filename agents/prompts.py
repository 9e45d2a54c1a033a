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

# Phrases that try to talk to the model: flagged in results; never acted on.
INJECTION_PATTERNS = re.compile(
    r"(ignore (all |any )?(previous|prior|above) (instructions|rules)|disregard .{0,40}instructions|"
    r"you are now|system prompt|mark (this|it|the alert) as (benign|false|a false)|"
    r"verdict\s*[:=]\s*(benign|false)|classify (this|it) as|do not (report|escalate)|"
    r"new instructions|act as|override)",
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
    text = payload if isinstance(payload, str) else json.dumps(payload, sort_keys=True, default=str, indent=1)
    text = _FENCE.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)
    if len(text) > limit:
        text = text[:limit] + "\n[... truncated]"
    return f'<data source="{source}">\n{text}\n</data>'


def injection_markers(payload: object) -> list[str]:
    """Instruction-like phrases found in untrusted text (reported, never obeyed)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    return sorted({m.group(0).lower() for m in INJECTION_PATTERNS.finditer(text)})[:10]
