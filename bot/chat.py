"""What a transport gives the core and what the core asks of it: `Message` and `Attachment` in,
the `Chat` protocol out. Slack and Matrix implement `Chat`; the core and its tests see nothing else
of them. bot.core re-exports these names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from agents.service import PendingAction
from bot import render
from bot.state import Thread


@dataclass
class Attachment:
    """A file that came with a command; fetched only when the command needs it."""

    name: str
    size: int | None
    fetch: Callable[[], bytes]


@dataclass
class Message:
    """A command as the core sees it: who, where, what (prefix already removed)."""

    user: str
    thread: Thread  # thread.root None: open a thread before the first reply (Slack slash)
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    in_reply_to: str | None = None  # the message this one answers (reply-to-prompt approvals)

    @property
    def room(self) -> str:
        return self.thread.room


class Chat(Protocol):
    """What the core needs from a transport. Called from worker threads, blocking."""

    prefix: str  # how a command is typed here, for help texts ("!twinsight", "/twinsight")
    supports_buttons: bool

    def open_thread(self, room: str, user: str | None, text: str) -> Thread: ...

    def send(self, thread: Thread, text: str) -> str: ...

    def edit(self, thread: Thread, message_id: str, text: str) -> None: ...

    def send_summary(self, thread: Thread, summary: render.Summary) -> str: ...

    def send_prompt(self, thread: Thread, action: PendingAction, text: str) -> str: ...

    def resolve_prompt(self, thread: Thread, message_id: str, text: str) -> None: ...

    def upload(self, thread: Thread, filename: str, data: bytes, mimetype: str, title: str) -> None: ...

    def mention(self, user: str) -> str: ...
