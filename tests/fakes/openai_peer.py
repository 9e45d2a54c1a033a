"""A scripted OpenAI-compatible chat endpoint on loopback: an HTTP server, not a mock of
any code of ours, for tests of how the workflow routes what a model says.

Its replies are the test's script (a function of the request body), its model name is
`scripted-peer`, so every result it shapes is labelled `llm:scripted-peer`: never passed
off as a real model's. Every request body is kept for the test to assert on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "scripted-peer"

Script = Callable[[dict[str, Any]], dict[str, Any]]  # request body -> assistant message


class ScriptedPeer:
    def __init__(self, script: Script) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                with peer.lock:
                    peer.bodies.append(body)
                    message = script(body)
                calls = message.get("tool_calls")
                reply = {"id": f"chatcmpl-{len(peer.bodies)}", "object": "chat.completion", "created": 0,
                         "model": MODEL, "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                         "choices": [{"index": 0, "finish_reason": "tool_calls" if calls else "stop",
                                      "message": {"role": "assistant", "content": message.get("content"),
                                                  **({"tool_calls": calls} if calls else {})}}]}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def tool_call(n: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
