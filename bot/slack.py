"""The bot on Slack, with slack_bolt: Socket Mode or the HTTP Events API.

Commands arrive as the slash command (`/twinsight investigate …`) or an app mention
(`@twinsight investigate …`, which may carry an attached alert file); answers go in a
thread — the mention's thread, or for a slash command (which has no message of its own)
a thread under a short "X asked: …" message the bot posts. Summaries are Block Kit;
pending response actions get Approve/Deny buttons wired to the core's decision path.

HTTP mode is bolt's own request verification (HMAC of the signing secret over the raw
body and timestamp, requests older than five minutes refused), each signature accepted
once (a replay inside those five minutes is refused too), behind a small threaded server
with read timeouts and a connection cap; Socket Mode is bolt's built-in, dependency-free websocket client.
`SLACK_API_URL` points the Web API client elsewhere (a proxy, or a test server).
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import os
import re
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from agents.service import InvestigationService, PendingAction
from bot import render
from bot.core import Attachment, Bot, BotSettings, Message
from bot.safety import Redactor, ReplayGuard
from bot.state import Thread

log = logging.getLogger("twinsight.bot.slack")

APPROVE, DENY = "twinsight_approve", "twinsight_deny"
EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000  # Slack's own payloads are far smaller; anything bigger is not Slack
# A connection that sends nothing for READ_TIMEOUT_S, or has not sent a whole request
# after REQUEST_DEADLINE_S, is closed; at most MAX_CONNECTIONS are served at once (a
# slow-body client cannot pile up threads).
READ_TIMEOUT_S = 10.0
REQUEST_DEADLINE_S = 30.0
MAX_CONNECTIONS = 64


@dataclass
class SlackSettings:
    bot_token: str
    app_token: str | None = None
    signing_secret: str | None = None
    api_url: str | None = None
    command: str = "/twinsight"
    host: str = "127.0.0.1"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SlackSettings:
        env = os.environ if env is None else env
        token = env.get("SLACK_BOT_TOKEN")
        if not token:
            raise ValueError("SLACK_BOT_TOKEN is not set")
        return cls(
            bot_token=token,
            app_token=env.get("SLACK_APP_TOKEN") or None,
            signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            api_url=env.get("SLACK_API_URL") or None,
            command=env.get("TWINSIGHT_SLACK_COMMAND") or "/twinsight",
            host=env.get("TWINSIGHT_BOT_HOST") or "127.0.0.1",
        )


# --- Slack's text conventions -------------------------------------------------------------

_LABELED = re.compile(r"<([^<>|]*)\|([^<>]*)>")
_BARE = re.compile(r"<((?:https?|mailto|tel):[^<>|]*)>")
_MENTION_MARK = "\x00"  # mention() output survives escaping; _fmt turns it into <@U…>


def unformat(text: str) -> str:
    """What the user typed, from what Slack delivers.

    Slack rewrites `&<>` as entities and auto-links things that look like hosts or
    addresses (`<http://web01.corp.com|web01.corp.com>`, `<mailto:a@b.c|a@b.c>`); a twin key
    must come out as typed.
    """
    text = _LABELED.sub(lambda m: m.group(2) if not m.group(1).startswith(("@", "#", "!")) else m.group(0), text)
    text = _BARE.sub(lambda m: re.sub(r"^(?:mailto|tel):", "", m.group(1)), text)
    return html.unescape(text)


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """The command after the bot's mention (`hey <@UBOT> status` -> `status`)."""
    if bot_user_id:
        match = re.search(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", text)
        if match:
            return text[match.end() :].strip()
    return re.sub(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>", "", text).strip()


def escape(text: str) -> str:
    """Slack's three control characters; an alert field saying `<!channel>` stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fmt(text: str) -> str:
    return re.sub(rf"{_MENTION_MARK}@([A-Z0-9]+){_MENTION_MARK}", r"<@\1>", escape(text))


def _mrkdwn(text: str, limit: int = 2900) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": render.clip(_fmt(text), limit)}


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": render.clip(text, limit)}


SHORT_FIELDS = ("Verdict", "Confidence", "Severity", "Cost")


def summary_blocks(summary: render.Summary) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "section", "text": _mrkdwn(summary.headline)}]
    short = [(k, v) for k, v in summary.fields if k in SHORT_FIELDS]
    if short:
        blocks.append({"type": "section", "fields": [_mrkdwn(f"*{k}*\n{v}", 1900) for k, v in short[:10]]})
    for label, value in summary.fields:
        if label not in SHORT_FIELDS:
            blocks.append({"type": "section", "text": _mrkdwn(f"*{label}*\n{value}")})
    if summary.note:
        blocks.append({"type": "context", "elements": [_mrkdwn(summary.note)]})
    return blocks


def prompt_blocks(action: PendingAction, text: str, command: str) -> list[dict[str, Any]]:
    value = action.action_id[:2000]
    confirm = {
        "title": _plain("Approve this action?"),
        "text": _mrkdwn(f"{action.action} {action.target}", 300),
        "confirm": _plain("Approve"),
        "deny": _plain("Cancel"),
    }
    return [
        {"type": "section", "text": _mrkdwn(text)},
        {
            "type": "actions",
            "block_id": f"twinsight-decide-{value}"[:255],
            "elements": [
                {"type": "button", "action_id": APPROVE, "text": _plain("Approve"), "style": "primary",
                 "value": value, "confirm": confirm},
                {"type": "button", "action_id": DENY, "text": _plain("Deny"), "style": "danger", "value": value},
            ],
        },
        {"type": "context", "elements": [_mrkdwn(f"Approvers only. Or type `{command} approve {value}`.", 300)]},
    ]


class SlackChat:
    """The core's `Chat` on the Slack Web API (threads are `thread_ts`)."""

    supports_buttons = True

    def __init__(self, client: WebClient, command: str = "/twinsight"):
        self.client = client
        self.prefix = command

    def open_thread(self, room: str, user: str | None, text: str) -> Thread:
        who = self.mention(user) if user else "Twinsight"
        first = text.strip().splitlines()[0] if text.strip() else ""
        asked = f"{who} asked: `{self.prefix} {render.clip(first, 150)}`" if user else text
        resp = self.client.chat_postMessage(channel=room, text=_fmt(asked))
        return Thread(room=room, root=resp["ts"])

    def send(self, thread: Thread, text: str) -> str:
        resp = self.client.chat_postMessage(channel=thread.room, thread_ts=thread.root, text=_fmt(render.clip(text, 3900)))
        return resp["ts"]

    def edit(self, thread: Thread, message_id: str, text: str) -> None:
        self.client.chat_update(channel=thread.room, ts=message_id, text=_fmt(render.clip(text, 3900)))

    def send_summary(self, thread: Thread, summary: render.Summary) -> str:
        resp = self.client.chat_postMessage(
            channel=thread.room, thread_ts=thread.root, text=_fmt(render.clip(summary.text(), 3900)),
            blocks=summary_blocks(summary),
        )
        return resp["ts"]

    def send_prompt(self, thread: Thread, action: PendingAction, text: str) -> str:
        resp = self.client.chat_postMessage(
            channel=thread.room, thread_ts=thread.root, text=_fmt(text),
            blocks=prompt_blocks(action, text, self.prefix),
        )
        return resp["ts"]

    def resolve_prompt(self, thread: Thread, message_id: str, text: str) -> None:
        # Replacing the blocks removes the buttons: nobody can press them twice.
        self.client.chat_update(channel=thread.room, ts=message_id, text=_fmt(text),
                                blocks=[{"type": "section", "text": _mrkdwn(text)}])

    def upload(self, thread: Thread, filename: str, data: bytes, mimetype: str, title: str) -> None:
        self.client.files_upload_v2(channel=thread.room, thread_ts=thread.root, content=data,
                                    filename=filename, title=title)

    def mention(self, user: str) -> str:
        return f"{_MENTION_MARK}@{user}{_MENTION_MARK}" if re.fullmatch(r"[A-Z0-9]+", user or "") else user


class _Reaper:
    """Hangs up connections that have not delivered a whole request by their deadline.

    A read timeout alone does not bound a request: a client dribbling one byte every few
    seconds never trips it. One thread for all connections (not a timer each)."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline_s = deadline_s
        self._due: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._run, name="twinsight-slack-reaper", daemon=True).start()

    def watch(self, conn: socket.socket) -> None:
        with self._lock:
            self._due[conn] = time.monotonic() + self.deadline_s

    def forget(self, conn: socket.socket) -> None:
        with self._lock:
            self._due.pop(conn, None)

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [c for c, due in self._due.items() if due <= now]
                for c in late:
                    del self._due[c]
            for c in late:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)


class _BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per connection, at most MAX_CONNECTIONS of them (past that a new
    connection is closed at once rather than given a thread to wait on), each hung up
    when its request is not in after REQUEST_DEADLINE_S."""

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.reaper = _Reaper(REQUEST_DEADLINE_S)

    def server_close(self) -> None:
        self.reaper.close()
        super().server_close()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("refused a connection from %s: %d already open", client_address[0], MAX_CONNECTIONS)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class SlackBot:
    """The bolt App, its listeners, and the two ways of receiving events."""

    def __init__(
        self,
        service: InvestigationService,
        settings: BotSettings,
        slack: SlackSettings,
        *,
        redactor: Redactor | None = None,
    ):
        self.slack = slack
        base_url = slack.api_url or "https://slack.com/api/"
        if not base_url.endswith("/"):
            base_url += "/"
        self.client = WebClient(token=slack.bot_token, base_url=base_url)
        self.app = App(
            client=self.client,
            signing_secret=slack.signing_secret or "",
            # Socket Mode requests are not signed and bolt skips the check for them;
            # HTTP requests always are (serve_http refuses to run without a secret).
            request_verification_enabled=True,
            process_before_response=False,
        )
        self.chat = SlackChat(self.client, slack.command)
        self.core = Bot(service, self.chat, settings, redactor=redactor)
        self.bot_user_id: str | None = None
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._seen_lock = threading.Lock()
        self._socket: SocketModeHandler | None = None
        self._http: ThreadingHTTPServer | None = None
        self._replays = ReplayGuard()
        self._register()

    # --- listeners ---

    def _register(self) -> None:
        app = self.app

        @app.command(self.slack.command)
        def on_command(ack, body):  # noqa: ANN001 - bolt injects by name
            ack()  # within Slack's 3 s; the work happens on the core's pools
            self.core.handle(
                Message(user=body.get("user_id", ""), thread=Thread(body.get("channel_id", "")),
                        text=unformat(body.get("text") or ""))
            )

        @app.event("app_mention")
        def on_mention(event, context):  # noqa: ANN001
            if event.get("bot_id") or event.get("subtype") in ("bot_message", "message_changed"):
                return
            if self._already_seen(event):
                return  # Slack redelivers an event it thinks was not acked in time
            text = unformat(strip_mention(event.get("text") or "", context.bot_user_id))
            files = [
                Attachment(f.get("name") or "file", f.get("size"), partial(self._download, f))
                for f in event.get("files") or []
                if isinstance(f, dict)
            ]
            thread = Thread(event.get("channel", ""), event.get("thread_ts") or event.get("ts"))
            self.core.handle(Message(user=event.get("user", ""), thread=thread, text=text, attachments=files))

        def on_button(ack, body, action, approved: bool):  # noqa: ANN001
            ack()
            channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
            message = body.get("message") or {}
            thread = Thread(channel, message.get("thread_ts") or message.get("ts"))
            self.core.button(thread, (body.get("user") or {}).get("id", ""), str(action.get("value", "")), approved)

        app.action(APPROVE)(lambda ack, body, action: on_button(ack, body, action, True))
        app.action(DENY)(lambda ack, body, action: on_button(ack, body, action, False))

    def _already_seen(self, event: dict[str, Any]) -> bool:
        key = (str(event.get("channel", "")), str(event.get("ts") or event.get("event_ts") or ""))
        with self._seen_lock:
            if key in self._seen:
                return True
            self._seen[key] = None
            while len(self._seen) > 5000:
                self._seen.popitem(last=False)
        return False

    def _download(self, file: dict[str, Any]) -> bytes:
        """A Slack-hosted file, fetched with the bot token — only from Slack's own hosts."""
        url = file.get("url_private_download") or file.get("url_private") or ""
        host = urllib.parse.urlsplit(url).hostname or ""
        trusted = {"files.slack.com", urllib.parse.urlsplit(self.client.base_url).hostname}
        if host not in trusted:
            raise ValueError(f"refusing to send the bot token to {host or 'an empty URL'}")
        limit = self.core.settings.max_alert_bytes
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.slack.bot_token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - host checked above
            data = resp.read(limit + 1)
        return data

    # --- running ---

    def start(self) -> None:
        """Resume and re-announce what the last run left (call once connected)."""
        self.core.start()

    def connect_socket_mode(self) -> SocketModeHandler:
        """Open the Socket Mode connection without blocking (the caller keeps the process alive)."""
        if not self.slack.app_token:
            raise ValueError("Socket Mode needs SLACK_APP_TOKEN (an xapp- app-level token)")
        self._socket = SocketModeHandler(self.app, self.slack.app_token)
        self._socket.connect()
        return self._socket

    def serve_http(self, port: int, host: str | None = None) -> ThreadingHTTPServer:
        """Serve the Events API (slash commands, events, interactivity) at /slack/events."""
        if not self.slack.signing_secret:
            raise ValueError("the HTTP Events API needs SLACK_SIGNING_SECRET (unsigned requests would be trusted)")
        app = self.app
        verifier = SignatureVerifier(self.slack.signing_secret)
        replays = self._replays

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = READ_TIMEOUT_S  # applied to every read of the socket

            def setup(self) -> None:
                super().setup()
                self.server.reaper.watch(self.connection)  # type: ignore[attr-defined]

            def finish(self) -> None:
                self.server.reaper.forget(self.connection)  # type: ignore[attr-defined]
                super().finish()

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("http: " + fmt, *args)

            def do_GET(self) -> None:
                if self.path == "/health":
                    self._send(200, {"Content-Type": ["text/plain"]}, "ok")
                else:
                    self._send(404, {}, "")

            def do_POST(self) -> None:
                path, _, query = self.path.partition("?")
                if path != EVENTS_PATH:
                    self._send(404, {}, "")
                    return
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length < 0 or length > MAX_BODY:
                    self._send(413, {}, "")
                    return
                body = self.rfile.read(length).decode("utf-8", "replace")
                self.server.reaper.forget(self.connection)  # type: ignore[attr-defined]  # the request is in
                headers = {k.lower(): v for k, v in self.headers.items()}
                stamp = headers.get("x-slack-request-timestamp", "")
                signature = headers.get("x-slack-signature", "")
                if verifier.is_valid(body, stamp, signature) and not replays.first_time(signature, stamp):
                    log.warning("refused a replayed request (signature already used at %s)", stamp)
                    self._send(401, {}, "replayed request")
                    return
                resp = app.dispatch(BoltRequest(body=body, query=query, headers=headers))
                self._send(resp.status, resp.headers, resp.body)

            def _send(self, status: int, headers: dict[str, Any], body: Any) -> None:
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                for key, values in headers.items():
                    if key.lower() == "content-length":
                        continue
                    for value in values if isinstance(values, list | tuple) else [values]:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True  # one request per connection: the deadline covers it

        server = _BoundedHTTPServer((host or self.slack.host, port), Handler)
        threading.Thread(target=server.serve_forever, args=(0.1,), name="twinsight-slack-http", daemon=True).start()
        self._http = server
        return server

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        self.core.shutdown(wait=False)
