"""Slack on loopback for the bot's tests: the Web API and the Socket Mode websocket.

The SDK's `base_url` points at `FakeSlackWebAPI`; `apps.connections.open` hands out the
URL of `FakeSocketModeServer`, a minimal RFC 6455 server. Both record what the bot sent.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeSlackWebAPI:
    """The Slack Web API on loopback, recording every call (SDK `base_url` points here).

    It answers the methods the bot uses with the shapes Slack documents, checks the
    bearer token, takes file uploads (files.getUploadURLExternal -> POST -> complete),
    serves `files` for download (private URLs need the bot token) and hands out a
    Socket Mode websocket URL from apps.connections.open.
    """

    def __init__(self, bot_token: str = "xoxb-test-token", app_token: str = "xapp-test-token"):
        self.bot_token = bot_token
        self.app_token = app_token
        self.calls: list[dict[str, Any]] = []
        self.uploads: dict[str, bytes] = {}
        self.files: dict[str, bytes] = {}  # path -> content, downloadable with the bot token
        self.downloads: list[dict[str, Any]] = []
        self.socket_url: str | None = None
        self._ts = 1700000000.000100
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = urllib.parse.urlsplit(self.path).path
                auth = self.headers.get("Authorization", "")
                with api._cond:
                    api.downloads.append({"path": path, "authorization": auth})
                    content = api.files.get(path)
                if content is None or auth != f"Bearer {api.bot_token}":
                    self._reply(404 if content is None else 403, b"no", "text/plain")
                else:
                    self._reply(200, content, "application/octet-stream")

            def do_POST(self) -> None:
                split = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if split.path.startswith("/upload/"):
                    with api._cond:
                        api.uploads[split.path.rsplit("/", 1)[1]] = raw
                        api._cond.notify_all()
                    self._reply(200, b"OK - %d" % len(raw), "text/plain")
                    return
                method = split.path.rstrip("/").rsplit("/", 1)[-1]
                params: dict[str, Any] = dict(urllib.parse.parse_qsl(split.query))
                ctype = self.headers.get("Content-Type", "")
                if raw and "json" in ctype:
                    params.update(json.loads(raw))
                elif raw:
                    params.update(urllib.parse.parse_qsl(raw.decode()))
                for key in ("blocks", "files", "attachments"):
                    if isinstance(params.get(key), str):
                        with contextlib.suppress(ValueError):
                            params[key] = json.loads(params[key])
                auth = self.headers.get("Authorization", "")
                body = api.answer(method, params, auth)
                with api._cond:
                    api.calls.append({"method": method, "params": params, "authorization": auth, "response": body})
                    api._cond.notify_all()
                self._reply(200, json.dumps(body).encode(), "application/json")

            def _reply(self, status: int, data: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _next_ts(self) -> str:
        self._ts += 0.0001
        return f"{self._ts:.6f}"

    def answer(self, method: str, params: dict[str, Any], auth: str) -> dict[str, Any]:
        if method == "apps.connections.open":
            if auth != f"Bearer {self.app_token}":
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": self.socket_url}
        if auth != f"Bearer {self.bot_token}":
            return {"ok": False, "error": "invalid_auth"}
        with self._lock:
            if method == "auth.test":
                return {"ok": True, "url": "https://t.slack.test/", "team": "T", "user": "twinsight",
                        "team_id": "T1", "user_id": "UBOT", "bot_id": "BBOT"}
            if method == "chat.postMessage":
                ts = self._next_ts()
                return {"ok": True, "channel": params.get("channel"), "ts": ts,
                        "message": {"text": params.get("text"), "ts": ts, "thread_ts": params.get("thread_ts")}}
            if method == "chat.update":
                return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"), "text": params.get("text")}
            if method == "files.getUploadURLExternal":
                file_id = f"F{len(self.uploads) + len(self.calls) + 1}"
                base = self.url.rsplit("/api/", 1)[0]
                return {"ok": True, "upload_url": f"{base}/upload/{file_id}", "file_id": file_id}
            if method == "files.completeUploadExternal":
                files = params.get("files") or []
                return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}
        return {"ok": False, "error": "unknown_method"}

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c for c in self.calls if c["method"] == method]

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(list(self.calls))
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the expected Slack API calls did not come")
                self._cond.wait(remaining)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeSocketModeServer:
    """A minimal RFC 6455 websocket server playing Slack's Socket Mode endpoint.

    It completes the handshake, greets with `hello`, lets the test push envelopes
    (events_api, slash_commands, interactive), answers pings, and records what the
    client sends back (the acks carrying each envelope_id).
    """

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"ws://127.0.0.1:{self.sock.getsockname()[1]}/link"
        self.received: list[Any] = []
        self.clients: list[socket.socket] = []
        self._cond = threading.Condition()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _recv_exact(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _serve(self, conn: socket.socket) -> None:
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            headers = {}
            for line in request.split(b"\r\n")[1:]:
                if b":" in line:
                    k, v = line.split(b":", 1)
                    headers[k.strip().lower().decode()] = v.strip().decode()
            accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + self.GUID).encode()).digest())
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            with self._cond:
                self.clients.append(conn)
                self._cond.notify_all()
            self._send_frame(conn, 0x1, json.dumps({"type": "hello", "num_connections": 1}).encode())
            message = b""
            while True:
                b1, b2 = self._recv_exact(conn, 2)
                opcode, length = b1 & 0x0F, b2 & 0x7F
                if length == 126:
                    length = struct.unpack(">H", self._recv_exact(conn, 2))[0]
                elif length == 127:
                    length = struct.unpack(">Q", self._recv_exact(conn, 8))[0]
                mask = self._recv_exact(conn, 4) if b2 & 0x80 else b"\0\0\0\0"
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(self._recv_exact(conn, length)))
                if opcode == 0x8:
                    self._send_frame(conn, 0x8, payload[:2])
                    return
                if opcode == 0x9:
                    self._send_frame(conn, 0xA, payload)
                    continue
                if opcode == 0xA:
                    continue
                message += payload
                if b1 & 0x80:
                    try:
                        item: Any = json.loads(message)
                    except ValueError:
                        item = message.decode("utf-8", "replace")
                    with self._cond:
                        self.received.append(item)
                        self._cond.notify_all()
                    message = b""
        except (OSError, ConnectionError, KeyError):
            return
        finally:
            with self._cond:
                if conn in self.clients:
                    self.clients.remove(conn)
            conn.close()

    @staticmethod
    def _send_frame(conn: socket.socket, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([n])
        elif n < 65536:
            header += bytes([126]) + struct.pack(">H", n)
        else:
            header += bytes([127]) + struct.pack(">Q", n)
        conn.sendall(header + payload)

    def wait_connected(self, timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.clients, timeout):
                raise TimeoutError("no Socket Mode client connected")

    def push(self, envelope: dict[str, Any]) -> None:
        with self._cond:
            clients = list(self.clients)
        if not clients:
            raise RuntimeError("no client connected")
        self._send_frame(clients[-1], 0x1, json.dumps(envelope).encode())

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            return next((m for m in self.received if isinstance(m, dict) and m.get("envelope_id") == envelope_id), None)

        with self._cond:
            if not self._cond.wait_for(find, timeout):
                raise TimeoutError(f"no ack for {envelope_id}")
            return find()  # type: ignore[return-value]

    def close(self) -> None:
        self._closed = True
        self.sock.close()
        with self._cond:
            for conn in self.clients:
                with contextlib.suppress(OSError):
                    conn.close()


