"""The plumbing every loopback HTTP test double shares: a threaded server on a free
127.0.0.1 port, the request body read, a JSON reply sent with its headers, a clean close.

The OpenAI-compatible doubles (`openai_peer.ScriptedPeer`, the rate-limited peer of
tests/test_llm_requests.py, tests/llm_recording.py's `FaultProxy`) differ only in what
they answer, so each is a `respond` method over this one server rather than a copy of it.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Reply = tuple[int, dict[str, str], bytes]  # status, headers besides content-type/-length, body


class LoopbackPeer:
    """An HTTP server on loopback that answers with `respond`. A subclass sets its own
    state first and calls `super().__init__()` last: the server answers from then on.
    Methods outside `methods` get the standard library's 501, as a handler without them would."""

    methods: tuple[str, ...] = ("POST",)

    def __init__(self) -> None:
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                self._answer(b"")

            def do_POST(self):
                self._answer(self.rfile.read(int(self.headers.get("content-length") or 0)))

            def _answer(self, body: bytes) -> None:
                if self.command not in peer.methods:
                    self.send_error(501, f"Unsupported method ({self.command!r})")
                    return
                status, headers, data = peer.respond(self, body)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def respond(self, request: BaseHTTPRequestHandler, body: bytes) -> Reply:
        """The reply to one request (`request.command`, `request.path`; `body` as sent)."""
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
