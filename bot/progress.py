"""An investigation's progress in chat: one message, edited on a timer, that a failing edit never
breaks. Its own module because the throttling (threads, a timer, a lock) is its own idea;
bot.core re-exports it."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from agents.service import Progress
from bot import render
from bot.chat import Chat
from bot.state import Thread

log = logging.getLogger("twinsight.bot")


class ProgressReporter:
    """The service's on_progress callback: one message, edited at most every `interval` s.

    Chat servers rate-limit edits (Slack ~1/s per channel, Synapse a few per second per
    user), and a stream of one message per stage buries the thread; so the latest
    stages are collected and flushed on a timer, and `finish` always sends the last word.
    A failing edit never fails the investigation.
    """

    def __init__(
        self,
        chat: Chat,
        thread: Thread,
        header: str,
        interval: float,
        redact: Callable[[str], str],
        clock: Callable[[], float] = time.monotonic,
    ):
        self.chat, self.thread, self.header = chat, thread, header
        self.interval, self.redact, self.clock = interval, redact, clock
        self.lines: deque[str] = deque(maxlen=8)
        self.message_id: str | None = None
        self.last_sent = float("-inf")
        self.updates = 0  # messages sent + edits, for tests and logs
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._dirty = False

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            if self._closed:
                return
            self.lines.append(render.clip(f"{progress.stage}: {self.redact(progress.message)}", 300))
            self._dirty = True
            wait = self.interval - (self.clock() - self.last_sent)
            if self.message_id is None or wait <= 0:
                self._flush()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self._on_timer)
                self._timer.daemon = True
                self._timer.start()

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
            if not self._closed and self._dirty:
                self._flush()

    def _flush(self) -> None:
        text = "\n".join([self.header, *self.lines])
        try:
            if self.message_id is None:
                self.message_id = self.chat.send(self.thread, text)
            else:
                self.chat.edit(self.thread, self.message_id, text)
            self.updates += 1
        except Exception as exc:
            log.warning("progress update failed: %s", exc)
        self.last_sent = self.clock()
        self._dirty = False

    def begin(self, line: str) -> None:
        """Post the progress message at once, before the service says anything."""
        with self._lock:
            self.lines.append(line)
            self._flush()

    def finish(self, line: str) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._closed = True
            self.lines.append(line)
            self._flush()
