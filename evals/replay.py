"""Recorded LLM traffic for evaluation runs and tests: vcrpy cassettes, no network on replay.

Requests are matched by method, path and the agent that sent them (the first line of
its first user message), in order: agents that run in parallel may interleave their
calls differently from one run to the next, each agent's own calls never do.
"""

from __future__ import annotations

import json
from pathlib import Path

import vcr


def agent_of(body: bytes | str | None) -> str:
    try:
        doc = json.loads(body or b"{}")
    except (ValueError, TypeError):
        return ""
    msgs = doc.get("messages") or []
    first_user = next((m.get("content") or "" for m in msgs if m.get("role") == "user"), "")
    return first_user.splitlines()[0] if first_user else ""


def _agent_matcher(r1, r2) -> None:
    a, b = agent_of(r1.body), agent_of(r2.body)
    assert a == b, f"{a!r} != {b!r}"


def cassette_vcr(folder: Path, record: bool) -> vcr.VCR:
    v = vcr.VCR(
        cassette_library_dir=str(folder),
        record_mode="once" if record else "none",  # record only what is missing
        match_on=["method", "path", "agent"],
        filter_headers=[("authorization", "REDACTED"), ("api-key", "REDACTED"), ("openai-organization", None),
                        ("cookie", None), ("set-cookie", None)],
        decode_compressed_response=True,
    )
    v.register_matcher("agent", _agent_matcher)
    return v
