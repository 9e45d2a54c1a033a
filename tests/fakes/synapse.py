"""A throwaway Matrix homeserver for the bot's end-to-end tests, and a person using it.

`SynapseServer` runs the real Synapse from this venv on loopback (SQLite, no federation);
`MatrixUser` speaks the client-server API directly over HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any


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
