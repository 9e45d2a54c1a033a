"""A scripted OpenAI-compatible chat endpoint on loopback: an HTTP server, not a mock of
any code of ours, for tests of how the workflow routes what a model says.

Its replies are the test's script (a function of the request body), its model name is
`scripted-peer`, so every result it shapes is labelled `llm:scripted-peer`: never passed
off as a real model's. Every request body is kept for the test to assert on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.http_peer import LoopbackPeer, Reply

MODEL = "scripted-peer"

Script = Callable[[dict[str, Any]], dict[str, Any]]  # request body -> assistant message


class ScriptedPeer(LoopbackPeer):
    def __init__(self, script: Script) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.script = script
        super().__init__()

    def respond(self, request: BaseHTTPRequestHandler, body: bytes) -> Reply:
        doc = json.loads(body or b"{}")
        with self.lock:
            self.bodies.append(doc)
            message = self.script(doc)
        calls = message.get("tool_calls")
        reply = {"id": f"chatcmpl-{len(self.bodies)}", "object": "chat.completion", "created": 0,
                 "model": MODEL, "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                 "choices": [{"index": 0, "finish_reason": "tool_calls" if calls else "stop",
                              "message": {"role": "assistant", "content": message.get("content"),
                                          **({"tool_calls": calls} if calls else {})}}]}
        return 200, {}, json.dumps(reply).encode()


def tool_call(n: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
