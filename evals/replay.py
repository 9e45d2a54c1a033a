"""Recorded LLM traffic for evaluation runs and tests: vcrpy cassettes, no network on replay.

Requests are matched on method, path and a hash of the whole request body, normalised
(JSON keys sorted, whitespace dropped): the prompt, the fenced data, the tool schemas
offered and every earlier turn are part of the match, so a changed prompt is a cassette
miss, never a stale answer replayed to a request it was not given. Agents that run in
parallel may interleave; each request's body is its own, so order does not matter.
A miss stops the run loudly (agents.llm.CassetteMiss): it is not retried, and no
fallback hides it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import vcr


def body_key(body: bytes | str | None) -> str:
    """sha256 of the body as canonical JSON (the raw bytes when it is not JSON)."""
    raw = body.encode() if isinstance(body, str) else (body or b"")
    try:
        canon = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, TypeError):
        canon = raw
    return hashlib.sha256(canon).hexdigest()


def agent_of(body: bytes | str | None) -> str:
    """The role that sent a request (the first line of its first user message): for messages."""
    try:
        doc = json.loads(body or b"{}")
    except (ValueError, TypeError):
        return ""
    msgs = doc.get("messages") or []
    first_user = next((m.get("content") or "" for m in msgs if m.get("role") == "user"), "")
    return first_user.splitlines()[0] if first_user else ""


def _body_matcher(r1, r2) -> None:
    a, b = body_key(r1.body), body_key(r2.body)
    assert a == b, f"body {a[:12]} ({agent_of(r1.body)!r}) != {b[:12]} ({agent_of(r2.body)!r})"


def cassette_vcr(folder: Path, record: bool) -> vcr.VCR:
    v = vcr.VCR(
        cassette_library_dir=str(folder),
        record_mode="once" if record else "none",  # record only what is missing
        match_on=["method", "path", "body_hash"],
        filter_headers=[("authorization", "REDACTED"), ("api-key", "REDACTED"), ("openai-organization", None),
                        ("cookie", None), ("set-cookie", None)],
        decode_compressed_response=True,
    )
    v.register_matcher("body_hash", _body_matcher)
    return v
