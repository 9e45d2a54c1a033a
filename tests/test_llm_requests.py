"""What the LLM client sends, seen on the wire: Retry-After honoured against a local
HTTP peer (a fake OpenAI-compatible endpoint: an HTTP server, not a mock of any code of
ours)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from agents.llm import LLMClient
from agents.settings import LLMSettings

COMPLETION = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "{}"}}],
              "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


class RateLimitedPeer:
    """Answers 429 with `Retry-After: <after>` to the first request, then a completion."""

    def __init__(self, after: str) -> None:
        self.seen: list[float] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                peer.seen.append(time.monotonic())
                first = len(peer.seen) == 1
                data = json.dumps({"error": {"message": "slow down"}} if first else COMPLETION).encode()
                self.send_response(429 if first else 200)
                self.send_header("content-type", "application/json")
                if first:
                    self.send_header("retry-after", after)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
