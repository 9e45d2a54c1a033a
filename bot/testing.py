"""Test harness for the bot: a scripted service, fake Slack servers, a throwaway Synapse.

Nothing here is the product. `RecordingService` is a stand-in for the investigation
service (agents/runtime.py's TwinsightService) that records what the bot asked and
answers from a script, so the bot's own behaviour can be tested without Neo4j or an
LLM. The Slack fakes play the Web API and the Socket Mode websocket on loopback (the
way bolt-python tests itself); `SynapseServer` runs a real Matrix homeserver from the
venv on loopback, with SQLite and no federation, for end-to-end tests.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from agents.service import InvestigationOutcome, PendingAction, Progress

STAGES = ("intake", "context_gatherer", "path_hunter", "impact_assessor", "lead_analyst", "grounding_verifier")


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll until `predicate()` is truthy; return its value or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


# --- a scripted investigation service ---------------------------------------------------


def _alert_subject(alert: dict[str, Any]) -> str:
    """The account an alert is about (OCSF actor.user.name or ECS user.name), for the script."""
    for path in (("actor", "user", "name"), ("user", "name"), ("user",)):
        node: Any = alert
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and node:
            return node.upper()
    return "UNKNOWN@CORP.LOCAL"


class RecordingService:
    """A TEST DOUBLE of the InvestigationService protocol — not the real service.

    It walks the workflow's stage names (reporting each through on_progress), answers a
    result shaped like contract section 5 built from the alert it was given, and, when
    asked to respond, pauses on one `disable` action until `decide`. `gate`, when set,
    holds every investigation at its first stage until the test releases it (for
    "help answers while an investigation runs" and restart tests). `store` persists
    pending actions and started investigations to a JSON file, as the real service's
    checkpoints would, so a second instance sees what the first left behind.
    """

    def __init__(
        self,
        *,
        step_delay: float = 0.0,
        gate: threading.Event | None = None,
        store: Path | None = None,
        fail: str | None = None,
    ):
        self.step_delay = step_delay
        self.gate = gate
        self.store = store
        self.fail = fail
        self.calls: list[tuple[Any, ...]] = []
        self.alerts: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._pending: dict[str, PendingAction] = {}
        self._started: dict[str, dict[str, Any]] = {}
        self._seq = 0
        if store is not None and store.exists():
            data = json.loads(store.read_text())
            self._pending = {k: PendingAction(**v) for k, v in data.get("pending", {}).items()}
            self._started = data.get("started", {})

    def _save(self) -> None:
        if self.store is not None:
            data = {"pending": {k: asdict(v) for k, v in self._pending.items()}, "started": self._started}
            self.store.write_text(json.dumps(data))

    def _record(self, *call: Any) -> None:
        with self._lock:
            self.calls.append(call)

    def called(self, name: str) -> list[tuple[Any, ...]]:
        with self._lock:
            return [c for c in self.calls if c[0] == name]

    def _result(self, alert: dict[str, Any], subject: str) -> dict[str, Any]:
        return {
            "alert_id": str(alert.get("id") or alert.get("alert_id") or "pasted"),
            "verdict": "true_positive",
            "confidence": 0.87,
            "severity": "high",
            "entities": [{"key": subject, "labels": ["User"]}, {"key": "DC01.CORP.LOCAL", "labels": ["Computer"]}],
            "attack_paths": [
                {"nodes": ["WS07.CORP.LOCAL", subject, "CORP.LOCAL"], "edges": ["HasSession", "DCSync"], "kind": "observed"}
            ],
            "impacted_assets": ["CORP.LOCAL", "CUSTOMER-DB"],
            "techniques": ["T1003.006"],
            "claims": [{"text": f"{subject} can DCSync", "evidence": [{"edge": [subject, "DCSync", "CORP.LOCAL"]}]}],
            "recommended_actions": [{"action": "disable", "target": subject, "paths_removed": 2}],
            "usage": {"llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "cypher_queries": 3},
            "seconds": 0.1,
        }

    # --- the protocol ---

    def investigate(
        self,
        alert: dict[str, Any],
        *,
        investigation_id: str | None = None,
        respond: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> InvestigationOutcome:
        with self._lock:
            self._seq += 1
            inv_id = investigation_id or f"inv-rec-{self._seq}"
            resumed = inv_id in self._started
            self._started[inv_id] = {"alert": alert}
            self._save()
        self._record("investigate", inv_id, alert, respond, resumed)
        for i, stage in enumerate(STAGES):
            if on_progress is not None:
                on_progress(Progress(inv_id, stage, f"{stage} at work"))
            if i == 0 and self.gate is not None:
                self.gate.wait()
            if self.step_delay:
                time.sleep(self.step_delay)
        if self.fail:
            raise RuntimeError(self.fail)
        subject = _alert_subject(alert)
        result = self._result(alert, subject)
        report = f"# Investigation {inv_id}\n\nVerdict: true_positive\n\nSubject: {subject}\n"
        with self._lock:
            self._started.pop(inv_id, None)
            if respond:
                action = PendingAction(
                    action_id=f"{inv_id}-a1",
                    investigation_id=inv_id,
                    action="disable",
                    target=subject,
                    paths_removed=2,
                    reason="the account holds DCSync rights it should not",
                )
                self._pending[action.action_id] = action
                self._save()
                return InvestigationOutcome(inv_id, "awaiting_approval", result, report, [action])
            self._save()
        return InvestigationOutcome(inv_id, "complete", result, report)

    def find_alert(self, alert_id: str) -> dict[str, Any] | None:
        self._record("find_alert", alert_id)
        return self.alerts.get(alert_id)

    def decide(self, action_id: str, approved: bool, by: str) -> InvestigationOutcome:
        self._record("decide", action_id, approved, by)
        with self._lock:
            action = self._pending.pop(action_id, None)
            self._save()
        if action is None:
            raise KeyError(f"no pending action {action_id}")
        result = self._result({}, action.target)
        result["response"] = [{"action": action.action, "target": action.target, "approved": approved, "by": by}]
        word = "carried out" if approved else "not carried out"
        report = f"# Investigation {action.investigation_id}\n\n{action.action} {action.target}: {word} ({by})\n"
        return InvestigationOutcome(action.investigation_id, "complete", result, report)

    def pending(self) -> list[PendingAction]:
        with self._lock:
            return list(self._pending.values())

    def paths(self, source: str, target: str | None = None) -> dict[str, Any]:
        self._record("paths", source, target)
        end = target or "CORP.LOCAL"
        return {"source": source, "paths": [{"nodes": [source, end], "edges": ["AdminTo"]}]}

    def whatif(self, argv: list[str]) -> dict[str, Any]:
        self._record("whatif", list(argv))
        return {
            "action": " ".join(argv),
            "paths_before": 3,
            "paths_after": 1,
            "paths_removed": [{"nodes": ["WS07.CORP.LOCAL", argv[-1]], "edges": ["HasSession"]}] * 2,
            "vulns_gained": [],
            "vulns_lost": [],
            "breaks": [{"key": "APP-1", "reason": "needs a flow the change closes"}],
            "twin_unchanged": True,
        }

    def status(self) -> dict[str, Any]:
        self._record("status")
        return {"service": "RecordingService (test double)", "twin": {"nodes": 0, "relationships": 0}}


# --- Slack: a fake Web API and a fake Socket Mode server ---------------------------------


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


# --- Matrix: a throwaway Synapse ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SynapseServer:
    """A real Synapse homeserver (from this venv) on loopback for end-to-end tests.

    SQLite, one client listener without TLS, no federation listener and no trusted key
    servers, open rate limits (the bot edits progress messages quickly), registration
    only through the admin API with a shared secret. `start` waits on /health.
    """

    def __init__(self, workdir: Path, server_name: str = "localhost"):
        self.workdir = workdir
        self.server_name = server_name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.shared_secret = base64.urlsafe_b64encode(os.urandom(24)).decode()
        self.proc: subprocess.Popen | None = None
        self.start_seconds: float | None = None

    def write_config(self) -> Path:
        import signedjson.key  # ships with matrix-synapse

        self.workdir.mkdir(parents=True, exist_ok=True)
        key_path = self.workdir / "signing.key"
        if not key_path.exists():
            with key_path.open("w") as fh:
                signedjson.key.write_signing_keys(fh, [signedjson.key.generate_signing_key("a_test")])
        open_limit = {"per_second": 1000, "burst_count": 1000}
        config = {
            "server_name": self.server_name,
            "public_baseurl": self.url + "/",
            "pid_file": str(self.workdir / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.workdir / "homeserver.db")}},
            "log_config": str(self.workdir / "log.yaml"),
            "media_store_path": str(self.workdir / "media"),
            "registration_shared_secret": self.shared_secret,
            "enable_registration": False,
            "report_stats": False,
            "signing_key_path": str(key_path),
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "macaroon_secret_key": base64.b64encode(os.urandom(24)).decode(),
            "form_secret": base64.b64encode(os.urandom(24)).decode(),
            "url_preview_enabled": False,
            "enable_metrics": False,
            "bcrypt_rounds": 4,  # test passwords: hashing speed over strength
            "presence": {"enabled": False},
            "rc_message": open_limit,
            "rc_registration": open_limit,
            "rc_login": {"address": open_limit, "account": open_limit, "failed_attempts": open_limit},
            "rc_joins": {"local": open_limit, "remote": open_limit},
            "rc_joins_per_room": open_limit,
            "rc_invites": {"per_room": open_limit, "per_user": open_limit, "per_issuer": open_limit},
            "rc_admin_redaction": open_limit,
            "rc_3pid_validation": open_limit,
            "rc_media_create": open_limit,
        }
        log_config = {
            "version": 1,
            "formatters": {"f": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
            "handlers": {
                "file": {"class": "logging.FileHandler", "filename": str(self.workdir / "homeserver.log"), "formatter": "f"}
            },
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }
        (self.workdir / "log.yaml").write_text(json.dumps(log_config))  # JSON is YAML
        path = self.workdir / "homeserver.yaml"
        path.write_text(json.dumps(config, indent=1))
        return path

    def start(self, timeout: float = 60.0) -> None:
        config = self.write_config()
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config)],
            cwd=self.workdir,
            stdout=(self.workdir / "stdout.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        while True:
            if self.proc.poll() is not None:
                tail = (self.workdir / "stdout.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"synapse exited with {self.proc.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() - started > timeout:
                self.stop()
                raise TimeoutError(f"synapse not healthy within {timeout} s")
            time.sleep(0.05)
        self.start_seconds = time.monotonic() - started

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def register(self, username: str, password: str, admin: bool = False) -> dict[str, Any]:
        """Create a user through the shared-secret admin API; returns user_id and access_token."""
        endpoint = self.url + "/_synapse/admin/v1/register"
        with urllib.request.urlopen(endpoint, timeout=10) as resp:
            nonce = json.load(resp)["nonce"]
        message = "\x00".join([nonce, username, password, "admin" if admin else "notadmin"])
        mac = hmac.new(self.shared_secret.encode(), message.encode(), digestmod=hashlib.sha1)
        body = {"nonce": nonce, "username": username, "password": password, "admin": admin, "mac": mac.hexdigest()}
        req = urllib.request.Request(endpoint, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)


class MatrixUser:
    """A person in the e2e tests, speaking the client-server API directly over HTTP."""

    def __init__(self, base_url: str, user_id: str, access_token: str):
        self.base = base_url
        self.user_id = user_id
        self.token = access_token
        self._txn = 0

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             content_type: str = "application/json") -> dict[str, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Authorization": f"Bearer {self.token}"}
        if data is not None:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: {exc.code} {exc.read()[:300]!r}") from None

    def create_room(self, name: str, alias: str | None = None) -> str:
        body: dict[str, Any] = {"name": name, "preset": "private_chat"}
        if alias:
            body["room_alias_name"] = alias
        return self.call("POST", "/_matrix/client/v3/createRoom", body)["room_id"]

    def invite(self, room_id: str, user_id: str) -> None:
        self.call("POST", f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/invite", {"user_id": user_id})

    def join(self, room_id: str) -> None:
        self.call("POST", f"/_matrix/client/v3/join/{urllib.parse.quote(room_id)}", {})

    def send(self, room_id: str, content: dict[str, Any], event_type: str = "m.room.message") -> str:
        self._txn += 1
        path = (f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/send/{event_type}/"
                f"t{time.time_ns()}-{self._txn}")
        return self.call("PUT", path, content)["event_id"]

    def say(self, room_id: str, body: str, reply_to: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return self.send(room_id, content)

    def upload(self, data: bytes, filename: str, content_type: str = "application/json") -> str:
        path = "/_matrix/media/v3/upload?filename=" + urllib.parse.quote(filename)
        return self.call("POST", path, raw=data, content_type=content_type)["content_uri"]

    def messages(self, room_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """The room's events, oldest first."""
        path = f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/messages?dir=b&limit={limit}"
        return list(reversed(self.call("GET", path)["chunk"]))

    def membership(self, room_id: str, user_id: str) -> str | None:
        path = (f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/state/m.room.member/"
                f"{urllib.parse.quote(user_id)}")
        try:
            return self.call("GET", path).get("membership")
        except RuntimeError:
            return None

    def download(self, mxc: str) -> bytes:
        server, media_id = mxc[len("mxc://"):].split("/", 1)
        req = urllib.request.Request(
            f"{self.base}/_matrix/client/v1/media/download/{server}/{media_id}",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.read()
