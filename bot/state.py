"""Where in the chat each investigation lives, kept on disk across bot restarts.

The service owns the investigation itself (its checkpoints and pending actions); the bot
only remembers the conversation around it: which thread asked, which alert, which prompt
message carries the approve/deny buttons. Without this a restarted bot could resume an
investigation but would not know where to say so.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thread:
    """A reply target. `root` is the thread (Slack thread_ts, Matrix thread root event);
    `reply_to` is the event a reply answers (Matrix: the command's event). A Thread with
    no root means "not yet opened" (a Slack slash command has no message to thread on).
    """

    room: str
    root: str | None = None
    reply_to: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Thread:
        return cls(room=str(data["room"]), root=data.get("root"), reply_to=data.get("reply_to"))


class StateStore:
    """A small JSON file, rewritten atomically, readable only by its owner.

    It holds alerts, which may be sensitive, hence mode 0600. `path=None` keeps state
    in memory only (tests, or when no state directory is wanted).
    """

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, Any]] = {"investigations": {}, "prompts": {}, "meta": {}}
        if path is not None and path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                for key in self._data:
                    if isinstance(loaded.get(key), dict):
                        self._data[key] = loaded[key]
            except (OSError, ValueError) as exc:
                # A corrupt state file must not stop the bot; it only loses thread locations.
                log.warning("bot state %s unreadable (%s); starting without it", path, exc)

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self._data, fh, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    # meta: transport bookkeeping (the Matrix sync position)
    def get(self, key: str) -> Any:
        with self._lock:
            return self._data["meta"].get(key)

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            if self._data["meta"].get(key) != value:
                self._data["meta"][key] = value
                self._save()

    # investigations: id -> {thread, user, alert, status: running|awaiting}
    def put_investigation(self, inv_id: str, thread: Thread, user: str, alert: dict, status: str) -> None:
        with self._lock:
            self._data["investigations"][inv_id] = {
                "thread": asdict(thread),
                "user": user,
                "alert": alert,
                "status": status,
            }
            self._save()

    def set_status(self, inv_id: str, status: str) -> None:
        with self._lock:
            entry = self._data["investigations"].get(inv_id)
            if entry is not None:
                entry["status"] = status
                self._save()

    def drop_investigation(self, inv_id: str) -> None:
        with self._lock:
            if self._data["investigations"].pop(inv_id, None) is not None:
                self._save()

    def investigations(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(self._data["investigations"]))

    def thread_of(self, inv_id: str) -> Thread | None:
        with self._lock:
            entry = self._data["investigations"].get(inv_id)
            return Thread.from_dict(entry["thread"]) if entry else None

    # prompts: action_id -> {thread, message}
    def put_prompt(self, action_id: str, thread: Thread, message_id: str) -> None:
        with self._lock:
            self._data["prompts"][action_id] = {"thread": asdict(thread), "message": message_id}
            self._save()

    def prompt(self, action_id: str) -> tuple[Thread, str] | None:
        with self._lock:
            entry = self._data["prompts"].get(action_id)
            return (Thread.from_dict(entry["thread"]), str(entry["message"])) if entry else None

    def action_for_message(self, message_id: str) -> str | None:
        with self._lock:
            for action_id, entry in self._data["prompts"].items():
                if entry.get("message") == message_id:
                    return action_id
            return None

    def drop_prompt(self, action_id: str) -> None:
        with self._lock:
            if self._data["prompts"].pop(action_id, None) is not None:
                self._save()
