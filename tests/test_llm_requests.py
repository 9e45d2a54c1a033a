"""What the LLM client sends, seen on the wire: Retry-After honoured against a local
HTTP peer (a fake OpenAI-compatible endpoint: an HTTP server, not a mock of any code of
ours), and replay matching the whole request body, so a prompt change is a cassette
miss that stops the run instead of replaying a stale answer."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
import yaml

from agents.llm import CassetteMiss, LLMClient
from agents.settings import LLMSettings
from evals.replay import body_key, cassette_vcr
from tests.fakes.http_peer import LoopbackPeer, Reply

REPO = Path(__file__).resolve().parents[1]
EVAL_CASSETTES = REPO / "evals" / "cassettes" / "smollm2-135m-instruct"

COMPLETION = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "{}"}}],
              "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


class RateLimitedPeer(LoopbackPeer):
    """Answers 429 with `Retry-After: <after>` to the first request, then a completion."""

    def __init__(self, after: str) -> None:
        self.seen: list[float] = []
        self.after = after
        super().__init__()

    def respond(self, request: BaseHTTPRequestHandler, body: bytes) -> Reply:
        self.seen.append(time.monotonic())
        if len(self.seen) == 1:
            return 429, {"retry-after": self.after}, json.dumps({"error": {"message": "slow down"}}).encode()
        return 200, {}, json.dumps(COMPLETION).encode()


def test_retry_after_is_honoured():
    peer = RateLimitedPeer("2")
    try:
        sent: list[bytes] = []
        http = httpx.Client(event_hooks={"request": [lambda r: sent.append(r.read())]})
        client = LLMClient(LLMSettings(api_key="k", base_url=peer.url, model="m", max_retries=2), http_client=http)
        reply = client.complete([{"role": "user", "content": "hi"}], max_tokens=5)
    finally:
        peer.close()
    assert reply.content == "{}" and client.retries == 1
    assert len(peer.seen) == 2 and sent[0] == sent[1]
    # Our own backoff alone waits at most 1 s before the first retry: 2 s is the server's.
    assert peer.seen[1] - peer.seen[0] >= 1.9


def _recorded(name: str) -> tuple[Path, dict]:
    path = EVAL_CASSETTES / f"{name}.yaml"
    if not path.exists():
        pytest.fail(f"{path} is missing (evals/cassettes README)")
    return path, json.loads(yaml.safe_load(path.read_text())["interactions"][0]["request"]["body"])


def test_body_key_ignores_key_order_and_whitespace_only():
    a = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    assert body_key(json.dumps(a)) == body_key(json.dumps(a, indent=2, sort_keys=True)[::1])
    b = {"model": "m", "messages": [{"role": "user", "content": "x "}]}
    assert body_key(json.dumps(a)) != body_key(json.dumps(b))


def test_replay_answers_the_recorded_request_and_a_changed_prompt_is_a_miss(tmp_path):
    path, body = _recorded("corp-acl-password-reset")
    settings = LLMSettings(api_key="replay-no-key", base_url="http://127.0.0.1:8089/v1", model=body["model"],
                           structured="json_object_schema", max_retries=2)
    client = LLMClient(settings)
    with cassette_vcr(path.parent, record=False).use_cassette(path.name):
        got = client.client.chat.completions.create(**body)  # the very request that was recorded
    recorded = json.loads(yaml.safe_load(path.read_text())["interactions"][0]["response"]["body"]["string"])
    want = recorded["choices"][0]["message"]
    assert got.choices[0].message.content == want.get("content")
    assert [c.function.arguments for c in got.choices[0].message.tool_calls or []] == \
        [c["function"]["arguments"] for c in want.get("tool_calls") or []]
    changed = json.loads(json.dumps(body["messages"]))
    changed[1]["content"] = changed[1]["content"].replace("Your task", "Your job", 1)
    with cassette_vcr(path.parent, record=False).use_cassette(path.name), pytest.raises(CassetteMiss):
        client.complete(changed, max_tokens=body.get("max_tokens", 400))
    assert client.retries == 0, "a cassette miss is not retried as if it were an outage"
