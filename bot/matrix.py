"""The bot on Matrix, with matrix-nio: `!twinsight COMMAND` in a room.

Every answer is a reply to the command's event (`m.in_reply_to`) inside a thread rooted
at the command (or at the thread the command was typed in), so a busy room stays
readable and clients without thread support still show what answers what. Progress is
one message edited in place (`m.replace`); the report goes up as an `m.file`; a pending
response action is a prompt message that an approver answers by replying `approve` or
`deny` to it (Matrix has no buttons that a plain bot can rely on).

The bot joins a room it is invited to only when both the room and the inviter are
allowed, and declines every other invite. Work runs on the core's threads; the nio
client lives on one asyncio loop, and the `Chat` methods hop onto it.

The sync position is kept in the bot's state file, so commands sent while the bot was
down are answered after a restart — except those older than TWINSIGHT_BOT_MAX_EVENT_AGE
seconds. On the very first start the room history is not replayed.

Encrypted rooms are not supported (that would need libolm and device verification).
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
import os
import re
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import ClientConnectionError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadError,
    InviteMemberEvent,
    JoinError,
    LoginResponse,
    MemoryDownloadResponse,
    RoomGetEventError,
    RoomLeaveError,
    RoomResolveAliasResponse,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)

from agents.service import InvestigationService, PendingAction
from bot import render
from bot.core import Attachment, Bot, BotSettings, Message, ParseError
from bot.safety import Redactor
from bot.settings import _env_number
from bot.state import StateStore, Thread

log = logging.getLogger("twinsight.bot.matrix")


@dataclass
class MatrixSettings:
    homeserver: str
    user: str
    password: str | None = None
    access_token: str | None = None
    prefix: str = "!twinsight"
    device_name: str = "twinsight-bot"
    max_event_age: float = 600.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> MatrixSettings:
        env = os.environ if env is None else env
        homeserver, user = env.get("MATRIX_HOMESERVER"), env.get("MATRIX_USER")
        password, token = env.get("MATRIX_PASSWORD") or None, env.get("MATRIX_ACCESS_TOKEN") or None
        missing = [n for n, v in (("MATRIX_HOMESERVER", homeserver), ("MATRIX_USER", user)) if not v]
        if not password and not token:
            missing.append("MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN")
        if missing:
            raise ValueError("not set: " + ", ".join(missing))
        return cls(
            homeserver=str(homeserver).rstrip("/"),
            user=str(user),
            password=password,
            access_token=token,
            prefix=env.get("TWINSIGHT_MATRIX_PREFIX") or "!twinsight",
            max_event_age=_env_number(dict(env), "TWINSIGHT_BOT_MAX_EVENT_AGE", 600.0, 0),
        )


# --- message conventions -------------------------------------------------------------------


def strip_reply_fallback(body: str) -> str:
    """The body without the quoted `> <@user> …` lines older clients put in a reply."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith(">"):
        return body
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i < len(lines) and not lines[i].strip():
        i += 1
    return "\n".join(lines[i:])


def to_html(text: str) -> str:
    """Plain text with `code` spans and *bold* as HTML for formatted_body."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", out)
    out = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", out)
    return out.replace("\n", "<br/>")


def summary_html(summary: render.Summary) -> str:
    items = "".join(f"<li><b>{html.escape(k)}</b>: {to_html(v)}</li>" for k, v in summary.fields)
    note = f"<p><i>{to_html(summary.note)}</i></p>" if summary.note else ""
    return f"<p>{to_html(summary.headline)}</p><ul>{items}</ul>{note}"


def relates_to(thread: Thread) -> dict[str, Any]:
    """A thread relation whose reply fallback is a real reply to the command's event."""
    rel: dict[str, Any] = {"rel_type": "m.thread", "event_id": thread.root, "is_falling_back": False}
    if thread.reply_to:
        rel["m.in_reply_to"] = {"event_id": thread.reply_to}
    return rel


class MatrixError(RuntimeError):
    pass


class MatrixChat:
    """The core's `Chat` on a nio client; blocking calls from worker threads."""

    supports_buttons = False

    def __init__(self, client: AsyncClient, loop: asyncio.AbstractEventLoop, prefix: str):
        self.client = client
        self.loop = loop
        self.prefix = prefix

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float = 120.0) -> Any:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            coro.close()
            raise RuntimeError("MatrixChat called on the event loop thread: it would deadlock")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _send(self, room: str, content: dict[str, Any]) -> str:
        resp = await self.client.room_send(room, "m.room.message", content)
        if not isinstance(resp, RoomSendResponse):
            raise MatrixError(f"sending to {room} failed: {getattr(resp, 'message', resp)}")
        return resp.event_id

    @staticmethod
    def _content(text: str, formatted: str | None = None) -> dict[str, Any]:
        # m.notice: the convention for bots, and other bots do not answer notices.
        return {"msgtype": "m.notice", "body": text, "format": "org.matrix.custom.html",
                "formatted_body": formatted if formatted is not None else to_html(text)}

    def open_thread(self, room: str, user: str | None, text: str) -> Thread:
        event_id = self._run(self._send(room, self._content(render.clip(text, 500))))
        return Thread(room, event_id, event_id)

    def send(self, thread: Thread, text: str) -> str:
        content = self._content(text)
        if thread.root:
            content["m.relates_to"] = relates_to(thread)
        return self._run(self._send(thread.room, content))

    def edit(self, thread: Thread, message_id: str, text: str) -> None:
        new = self._content(text)
        content = {**self._content("* " + text, "* " + to_html(text)), "m.new_content": new,
                   "m.relates_to": {"rel_type": "m.replace", "event_id": message_id}}
        self._run(self._send(thread.room, content))

    def send_summary(self, thread: Thread, summary: render.Summary) -> str:
        content = self._content(summary.text(), summary_html(summary))
        content["m.relates_to"] = relates_to(thread)
        return self._run(self._send(thread.room, content))

    def send_prompt(self, thread: Thread, action: PendingAction, text: str) -> str:
        text += (f"\nReply `approve` or `deny` to this message (approvers only), "
                 f"or send `{self.prefix} approve {action.action_id}`.")
        return self.send(thread, text)

    def resolve_prompt(self, thread: Thread, message_id: str, text: str) -> None:
        self.edit(thread, message_id, text)

    def upload(self, thread: Thread, filename: str, data: bytes, mimetype: str, title: str) -> None:
        async def go() -> str:
            resp, _ = await self.client.upload(io.BytesIO(data), content_type=mimetype, filename=filename,
                                               filesize=len(data))
            if not isinstance(resp, UploadResponse):
                raise MatrixError(f"upload of {filename} failed: {getattr(resp, 'message', resp)}")
            content = {"msgtype": "m.file", "body": filename, "filename": filename, "url": resp.content_uri,
                       "info": {"mimetype": mimetype, "size": len(data)}, "m.relates_to": relates_to(thread)}
            return await self._send(thread.room, content)

        self._run(go())

    def mention(self, user: str) -> str:
        return user

    def fetch_file(self, room: str, event_id: str, limit: int) -> tuple[str, bytes]:
        """The file an `m.file` event carries (a command replying to an uploaded alert)."""

        async def go() -> tuple[str, bytes]:
            resp = await self.client.room_get_event(room, event_id)
            if isinstance(resp, RoomGetEventError):
                raise ParseError("the message replied to could not be read")
            content = resp.event.source.get("content") or {}
            if content.get("msgtype") != "m.file" or not str(content.get("url", "")).startswith("mxc://"):
                raise ParseError("the message replied to is not a file; reply to an uploaded alert file")
            name = str(content.get("filename") or content.get("body") or "file")
            size = (content.get("info") or {}).get("size")
            if isinstance(size, int) and size > limit:
                raise ParseError(f"{name} is larger than {limit} bytes")
            download = await self.client.download(mxc=content["url"])
            if isinstance(download, DownloadError) or not isinstance(download, MemoryDownloadResponse):
                raise MatrixError(f"download of {name} failed: {getattr(download, 'message', download)}")
            return name, download.body

        return self._run(go())


class MatrixBot:
    """Logs in, follows /sync, turns invites and commands into core calls."""

    def __init__(
        self,
        service: InvestigationService,
        settings: BotSettings,
        matrix: MatrixSettings,
        *,
        redactor: Redactor | None = None,
    ):
        self.service = service
        self.settings = settings
        self.matrix = matrix
        self.redactor = redactor
        self.client: AsyncClient | None = None
        self.chat: MatrixChat | None = None
        self.core: Bot | None = None
        self.state = StateStore(settings.state_path)
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._handoff = ThreadPoolExecutor(1, thread_name_prefix="twinsight-matrix-handoff")
        self._stopping = False
        self._declined: set[str] = set()

    # --- lifecycle ---

    def run(self) -> None:
        """Run in the foreground until stop() or Ctrl-C."""
        try:
            asyncio.run(self.run_async())
        except KeyboardInterrupt:
            log.info("stopped")

    def start_in_thread(self, timeout: float = 30.0) -> threading.Thread:
        """Run on a background thread and wait until the first sync is handled (tests)."""
        errors: list[BaseException] = []

        def target() -> None:
            try:
                asyncio.run(self.run_async())
            except BaseException as exc:  # surfaced to the caller below
                errors.append(exc)
                self.ready.set()

        thread = threading.Thread(target=target, name="twinsight-matrix", daemon=True)
        thread.start()
        if not self.ready.wait(timeout) or errors:
            self.stop()
            raise RuntimeError(f"the Matrix bot did not start: {errors[0] if errors else 'timeout'}")
        return thread

    def stop(self) -> None:
        self._stopping = True
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)

    async def run_async(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        # nio retries a dead connection forever by default; give up after a few tries
        # so login fails with a message and the sync loop below does its own backoff.
        config = AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False, max_timeouts=4)
        self.client = AsyncClient(self.matrix.homeserver, self.matrix.user, config=config)
        try:
            await self._login()
            policy = await self._resolve_rooms()
            self.settings = replace(self.settings, policy=policy)
            self.chat = MatrixChat(self.client, self._loop, self.matrix.prefix)
            self.core = Bot(self.service, self.chat, self.settings, state=self.state, redactor=self.redactor)
            since = self.state.get("matrix_next_batch")
            if since is None:
                first = await self.client.sync(timeout=0, full_state=True)
                if not isinstance(first, SyncResponse):
                    raise MatrixError(f"first sync failed: {getattr(first, 'message', first)}")
                await self._handle_invites(first)  # pending invites yes, old messages no
                self.state.put("matrix_next_batch", first.next_batch)
            else:
                self.client.next_batch = since
            await self._loop.run_in_executor(self._handoff, self.core.start)
            self.ready.set()
            log.info("Matrix bot %s listening", self.client.user_id)
            backoff = 1.0
            while not self._stopping:
                try:
                    resp = await self.client.sync(timeout=30000, since=self.client.next_batch, full_state=False)
                except (ClientConnectionError, TimeoutError) as exc:
                    resp = exc  # type: ignore[assignment]
                if not isinstance(resp, SyncResponse):
                    log.warning("sync failed: %s; retrying in %.0f s", getattr(resp, "message", resp), backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 60.0)
                    continue
                backoff = 1.0
                await self._on_sync(resp)
                self.state.put("matrix_next_batch", resp.next_batch)
        except asyncio.CancelledError:
            pass
        finally:
            if self.core is not None:
                self.core.shutdown(wait=False)
            self._handoff.shutdown(wait=False, cancel_futures=True)
            await self.client.close()

    async def _login(self) -> None:
        try:
            await self._login_once()
        except (ClientConnectionError, TimeoutError) as exc:
            raise MatrixError(f"cannot reach MATRIX_HOMESERVER={self.matrix.homeserver}: {exc}") from None

    async def _login_once(self) -> None:
        assert self.client is not None
        if self.matrix.access_token:
            self.client.access_token = self.matrix.access_token
            who = await self.client.whoami()
            if not isinstance(who, WhoamiResponse):
                raise MatrixError(f"MATRIX_ACCESS_TOKEN rejected: {getattr(who, 'message', who)}")
            self.client.user_id = who.user_id
            if who.device_id:
                self.client.device_id = who.device_id
        else:
            resp = await self.client.login(self.matrix.password, device_name=self.matrix.device_name)
            if not isinstance(resp, LoginResponse):
                raise MatrixError(f"login as {self.matrix.user} failed: {getattr(resp, 'message', resp)}")

    async def _resolve_rooms(self) -> Any:
        """Room aliases in TWINSIGHT_ALLOWED_ROOMS (#soc:example.org) become room ids."""
        assert self.client is not None
        policy = self.settings.policy
        rooms = set(policy.rooms)
        for entry in policy.rooms:
            if entry.startswith("#"):
                resp = await self.client.room_resolve_alias(entry)
                if isinstance(resp, RoomResolveAliasResponse):
                    rooms.add(resp.room_id)
                else:
                    log.warning("allowed room alias %s does not resolve: %s", entry, getattr(resp, "message", resp))
        return replace(policy, rooms=frozenset(rooms))

    # --- events ---

    async def _on_sync(self, resp: SyncResponse) -> None:
        await self._handle_invites(resp)
        assert self.client is not None and self.core is not None
        for room_id, info in resp.rooms.join.items():
            for event in info.timeline.events:
                source = getattr(event, "source", None)
                if not isinstance(source, dict):
                    continue
                msg = self._to_message(room_id, source)
                if msg is not None:
                    await self._loop.run_in_executor(self._handoff, self.core.handle, msg)  # type: ignore[union-attr]

    async def _handle_invites(self, resp: SyncResponse) -> None:
        assert self.client is not None
        policy = self.settings.policy
        for room_id, info in resp.rooms.invite.items():
            if room_id in self._declined:
                continue
            inviter = None
            for event in info.invite_state:
                # nio pops `content` out of the source of invite events: use its fields.
                if (isinstance(event, InviteMemberEvent) and event.state_key == self.client.user_id
                        and event.membership == "invite"):
                    inviter = event.sender
            if policy.room_allowed(room_id) and inviter and policy.user_allowed(inviter):
                joined = await self.client.join(room_id)
                if isinstance(joined, JoinError):
                    log.warning("joining %s failed: %s", room_id, joined.message)
                else:
                    log.info("joined %s (invited by %s)", room_id, inviter)
            else:
                self._declined.add(room_id)
                left = await self.client.room_leave(room_id)
                why = "room not allowed" if not policy.room_allowed(room_id) else f"inviter {inviter} not allowed"
                log.info("declined the invite to %s: %s", room_id, why)
                if isinstance(left, RoomLeaveError):
                    log.warning("declining %s failed: %s", room_id, left.message)

    def _to_message(self, room_id: str, source: dict[str, Any]) -> Message | None:
        """A command, or None for everything else (others' chatter, our own messages, edits)."""
        assert self.client is not None and self.core is not None
        if source.get("type") != "m.room.message" or source.get("sender") == self.client.user_id:
            return None
        content = source.get("content") or {}
        if content.get("msgtype") != "m.text" or not isinstance(content.get("body"), str):
            return None
        relation = content.get("m.relates_to") or {}
        if relation.get("rel_type") == "m.replace":
            return None  # an edited command is not run twice
        age = time.time() - (source.get("origin_server_ts") or 0) / 1000.0
        if self.matrix.max_event_age and age > self.matrix.max_event_age:
            return None
        reply_to = (relation.get("m.in_reply_to") or {}).get("event_id")
        if relation.get("rel_type") == "m.thread" and relation.get("is_falling_back"):
            reply_to_real = None  # a thread message whose in_reply_to is only a fallback
        else:
            reply_to_real = reply_to
        body = strip_reply_fallback(content["body"]) if reply_to else content["body"]
        stripped = body.lstrip()
        prefix = self.matrix.prefix
        if stripped[: len(prefix)].lower() == prefix.lower() and (
            len(stripped) == len(prefix) or stripped[len(prefix)].isspace()
        ):
            text = stripped[len(prefix):]
        elif reply_to_real and self.core.is_prompt(reply_to_real) and stripped.strip().lower() in ("approve", "deny"):
            text = stripped.strip()
        else:
            return None
        event_id = source.get("event_id", "")
        root = relation.get("event_id") if relation.get("rel_type") == "m.thread" else event_id
        attachments = []
        if reply_to_real:
            limit = self.settings.max_alert_bytes
            chat = self.chat
            assert chat is not None

            def fetch(ref: str = reply_to_real) -> bytes:
                return chat.fetch_file(room_id, ref, limit)[1]

            attachments.append(Attachment("the file replied to", None, fetch))
        return Message(user=str(source.get("sender", "")), thread=Thread(room_id, root, event_id), text=text,
                       attachments=attachments, in_reply_to=reply_to_real)
