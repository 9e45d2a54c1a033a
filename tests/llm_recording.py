"""Recording and replaying the OpenAI-compatible traffic of the LLM analyst.

Replay (the default, CI): vcrpy serves the cassettes in tests/cassettes/llm; no network.
Record (TWINSIGHT_RECORD=1): requests go to the real local model (README in the
cassette folder) through `FaultProxy`, which forwards everything unchanged except the
faults a test asks for — a 429, malformed tool-call arguments, a non-JSON answer —
and marks every response it altered with the header `x-twinsight-injected`, so a
cassette never passes an injected reply off as the model's.
"""

from __future__ import annotations

import json
import os
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import vcr

from evals.replay import cassette_vcr as shared_vcr
from tests.fakes.http_peer import LoopbackPeer, Reply

CASSETTES = Path(__file__).parent / "cassettes" / "llm"
RECORD = os.environ.get("TWINSIGHT_RECORD") == "1"
UPSTREAM = os.environ.get("TWINSIGHT_RECORD_URL", "http://127.0.0.1:8089")
MODEL = "smollm2-135m-instruct"


def cassette_vcr() -> vcr.VCR:
    return shared_vcr(CASSETTES, RECORD)


def strip_upstream(path: Path) -> None:
    """vcrpy also records the proxy's own forwarding request (it patches http.client in
    this process): keep only what the client saw, i.e. drop the proxy->model hop."""
    import yaml

    doc = yaml.safe_load(path.read_text())
    keep = [i for i in doc["interactions"] if not i["request"]["uri"].startswith(UPSTREAM)]
    if len(keep) != len(doc["interactions"]):
        doc["interactions"] = keep
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


class FaultProxy(LoopbackPeer):
    """Forwards to the real model; `faults[n]` alters the n-th request's response (1-based)."""

    methods = ("GET", "POST")

    def __init__(self, faults: dict[int, str] | None = None) -> None:
        self.faults = dict(faults or {})
        self.count = 0
        super().__init__()

    def respond(self, request: BaseHTTPRequestHandler, body: bytes) -> Reply:
        with self.lock:
            self.count += 1
            n = self.count
        fault = self.faults.get(n)
        if fault == "429":
            payload = json.dumps({"error": {"message": "rate limited (injected by the test proxy)",
                                            "type": "rate_limit"}}).encode()
            return 429, {"retry-after": "0", "x-twinsight-injected": "429"}, payload
        req = urllib.request.Request(UPSTREAM + request.path, data=body or None, method=request.command,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=900) as resp:
            data, status = resp.read(), resp.status
        headers = {}
        if fault in ("malformed-tool-arguments", "invalid-json"):
            doc = json.loads(data)
            msg = doc["choices"][0]["message"]
            if fault == "malformed-tool-arguments" and msg.get("tool_calls"):
                args = msg["tool_calls"][0]["function"]["arguments"]
                msg["tool_calls"][0]["function"]["arguments"] = args[: max(1, len(args) // 2)]
            elif fault == "invalid-json":
                msg["content"] = "Sure! Here is my verdict: it looks bad (no JSON, injected by the test proxy)"
            data = json.dumps(doc).encode()
            headers["x-twinsight-injected"] = fault
        return status, headers, data
