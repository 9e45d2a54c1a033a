"""The chat-ops bot without a chat: commands, safety, threads of work, replies.

Slack and Matrix differ in how a message arrives and how a reply is drawn (Block Kit
buttons versus a reply event); they agree on everything else, which lives here so it
is written and tested once:

* parsing — `help`, `status`, `investigate ALERT_ID | <JSON> | <attached file>`,
  `paths FROM [TO]`, `whatif ACTION ...`, `approve ID` / `deny ID`, robust to quoting,
  code fences, pasted JSON over many lines and the typography chat clients add;
* safety — room and user allow-lists, a separate approver list, a token bucket per
  user, a cap on investigations per user, and secrets scrubbed from error replies;
* work — investigations run on a worker pool so `help` answers at once, stream their
  progress into one throttled, edited message, and end in a summary, the Markdown
  report as a file, and one prompt per response action waiting for an approver;
* restarts — where each investigation lives is kept on disk (bot/state.py); on start
  the bot resumes investigations that were running and re-announces pending actions
  (the service owns the investigations' own checkpoints).

Transports implement `Chat` and turn their events into `Message`s.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agents.service import InvestigationOutcome, InvestigationService, PendingAction, Progress
from bot import render
from bot.safety import AccessPolicy, RateLimiter, Redactor
from bot.state import StateStore, Thread
from graph.whatif.grammar import ARITY as WHATIF_ARITY
from graph.whatif.grammar import RANK_OPTIONS
from graph.whatif.grammar import USAGE as WHATIF_USAGE

log = logging.getLogger("twinsight.bot")

COMMANDS = ("help", "status", "investigate", "paths", "whatif", "approve", "deny")
# `whatif` words follow the CLI's grammar (graph/whatif/grammar.py, contract section 7).


# --- parsing -----------------------------------------------------------------------------


class ParseError(ValueError):
    """A command the bot understood well enough to say what is wrong with it."""


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...] = ()
    alert: dict[str, Any] | None = None  # investigate with pasted JSON


# What phones and rich-text editors do to typed quotes and spaces.
_TYPOGRAPHY = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u200b": "",
        "\u2060": "",
        "\ufeff": "",
    }
)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)```", re.S)


def strip_fences(text: str) -> str:
    """The inside of ``` fences (and a language tag such as `json`), else the text itself.

    Chat clients wrap pasted code in fences, sometimes inline (```{...}```) and
    sometimes on their own lines; an unclosed fence is taken as running to the end.
    """
    stripped = text.strip()
    match = _FENCE.search(stripped)
    if match:
        lang, body = match.group(1), match.group(2)
        # "```json" then newline: a tag. "```{...}```": no tag, the body starts at once.
        if lang and not body.strip():
            body, lang = lang, ""
        return body.strip()
    if stripped.startswith("```"):
        body = stripped[3:]
        first, _, rest = body.partition("\n")
        if re.fullmatch(r"[A-Za-z0-9_+-]*", first.strip()) and rest:
            body = rest
        return body.strip()
    if stripped.startswith("`") and stripped.endswith("`") and len(stripped) >= 2:
        return stripped.strip("`").strip()
    return stripped


def split_args(text: str) -> list[str]:
    """Shell-like words: quotes group, but backslashes stay (`CORP\\alice` is a name)."""
    lexer = shlex.shlex(text.translate(_TYPOGRAPHY), posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    lexer.escape = ""
    try:
        return list(lexer)
    except ValueError as exc:
        raise ParseError(f"cannot split the arguments: {str(exc).lower()}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_alert_json(text: str, max_bytes: int) -> dict[str, Any]:
    """One alert object from pasted text or a file (JSON, or JSON Lines of one record)."""
    if len(text.encode("utf-8", "replace")) > max_bytes:
        raise ParseError(f"the alert is larger than {max_bytes} bytes")
    body = strip_fences(text)
    last_error: Exception | None = None
    for candidate in (body, body.translate(_TYPOGRAPHY)):
        try:
            doc = json.loads(candidate, parse_constant=_reject_constant)
            break
        except json.JSONDecodeError as exc:
            last_error = exc
            lines = [ln for ln in candidate.splitlines() if ln.strip()]
            if len(lines) > 1 and all(ln.lstrip().startswith("{") for ln in lines):
                raise ParseError("that holds several JSON records: investigate one alert at a time") from None
        except (ValueError, RecursionError) as exc:
            last_error = exc
    else:
        if isinstance(last_error, json.JSONDecodeError):
            raise ParseError(
                f"the alert is not valid JSON: {last_error.msg} at line {last_error.lineno} "
                f"column {last_error.colno}"
            ) from None
        raise ParseError(f"the alert is not valid JSON: {last_error}") from None
    if isinstance(doc, list):
        objects = [d for d in doc if isinstance(d, dict)]
        if len(doc) == 1 and objects:
            doc = objects[0]
        else:
            raise ParseError("give one alert object, not a list of several")
    if not isinstance(doc, dict):
        raise ParseError("the alert must be a JSON object")
    if not doc:
        raise ParseError("the alert is an empty object")
    return doc


def _check_whatif(args: list[str]) -> list[str]:
    if not args:
        raise ParseError("whatif needs an action: " + ", ".join(WHATIF_USAGE))
    action = args[0].lower()
    argv = [action, *args[1:]]
    if action == "rank":
        rest = args[1:]
        target, top = None, None
        i = 0
        while i < len(rest):
            word = rest[i]
            name, eq, value = word.partition("=")
            if name in RANK_OPTIONS:
                if not eq:
                    if i + 1 >= len(rest):
                        raise ParseError(f"{name} needs a value: whatif {WHATIF_USAGE['rank']}")
                    value = rest[i + 1]
                    i += 1
                if name == "--target":
                    target = value
                else:
                    if not value.isdigit() or int(value) < 1:
                        raise ParseError("--top takes a positive whole number")
                    top = value
            else:
                raise ParseError(f"unexpected {word!r}: whatif {WHATIF_USAGE['rank']}")
            i += 1
        if not target:
            raise ParseError(f"whatif {WHATIF_USAGE['rank']}")
        return ["rank", "--target", target] + (["--top", top] if top else [])
    if action not in WHATIF_ARITY:
        raise ParseError(f"unknown what-if action {args[0]!r}; one of: " + ", ".join(WHATIF_USAGE))
    if len(argv) - 1 != WHATIF_ARITY[action]:
        raise ParseError(f"usage: whatif {WHATIF_USAGE[action]}")
    return argv


def parse_command(text: str, *, max_json_bytes: int = 1_000_000) -> Command:
    """Parse a command (prefix or mention already removed by the transport).

    Raises ParseError with a message meant for the person who typed it.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_TYPOGRAPHY).strip()
    if not text:
        return Command("help")
    head = re.match(r"\S+", text)
    assert head is not None
    verb = head.group(0).lower().lstrip("/")
    rest = text[head.end() :].strip()
    if verb not in COMMANDS:
        raise ParseError(f"unknown command {clip_word(verb)!r}; try `help`")
    if verb in ("help", "status"):
        return Command(verb)
    if verb == "investigate":
        body = strip_fences(rest) if rest else ""
        if not body:
            return Command("investigate")  # the alert comes as an attached file
        if body[0] in "{[":
            return Command("investigate", alert=parse_alert_json(body, max_json_bytes))
        words = split_args(body)
        if len(words) != 1:
            raise ParseError("investigate takes one alert id, a pasted alert JSON or an attached file")
        return Command("investigate", args=(words[0],))
    words = split_args(rest)
    if verb == "paths":
        if not 1 <= len(words) <= 2:
            raise ParseError("usage: paths FROM [TO]")
        return Command("paths", args=tuple(words))
    if verb == "whatif":
        return Command("whatif", args=tuple(_check_whatif(words)))
    # approve / deny: the id may be left out when replying to the prompt itself.
    if len(words) > 1:
        raise ParseError(f"usage: {verb} ACTION_ID")
    return Command(verb, args=tuple(words))


def clip_word(word: str, limit: int = 40) -> str:
    return word if len(word) <= limit else word[:limit] + "…"


# --- the transport side ------------------------------------------------------------------


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


# --- settings ------------------------------------------------------------------------------


def _env_number(env: dict[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ValueError(f"{name}={raw!r} must be at least {minimum}")
    return value


def default_state_path(transport: str, env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    home = env.get("TWINSIGHT_HOME")
    if home:
        base = Path(home).expanduser()
    else:
        base = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "twinsight"
    return base / "bot" / f"{transport}-state.json"


@dataclass
class BotSettings:
    policy: AccessPolicy = field(default_factory=AccessPolicy)
    rate_burst: float = 5.0
    rate_per_minute: float = 10.0
    progress_interval: float = 2.0
    workers: int = 2
    max_per_user: int = 2
    max_alert_bytes: int = 1_000_000
    respond: bool = True
    state_path: Path | None = None
    announce_room: str | None = None

    @classmethod
    def from_env(cls, transport: str, env: dict[str, str] | None = None) -> BotSettings:
        env = dict(os.environ if env is None else env)
        state = env.get("TWINSIGHT_BOT_STATE")
        return cls(
            policy=AccessPolicy.from_env(env),
            rate_burst=_env_number(env, "TWINSIGHT_BOT_RATE_BURST", 5, 1),
            rate_per_minute=_env_number(env, "TWINSIGHT_BOT_RATE_PER_MINUTE", 10, 0),
            progress_interval=_env_number(env, "TWINSIGHT_BOT_PROGRESS_SECONDS", 2.0, 0),
            workers=int(_env_number(env, "TWINSIGHT_BOT_WORKERS", 2, 1)),
            max_per_user=int(_env_number(env, "TWINSIGHT_BOT_MAX_PER_USER", 2, 1)),
            max_alert_bytes=int(_env_number(env, "TWINSIGHT_BOT_MAX_ALERT_BYTES", 1_000_000, 1024)),
            respond=env.get("TWINSIGHT_BOT_RESPOND", "1").strip().lower() not in ("0", "false", "no", "off"),
            state_path=Path(state).expanduser() if state else default_state_path(transport, env),
            announce_room=env.get("TWINSIGHT_BOT_ANNOUNCE_ROOM") or None,
        )


# --- progress ------------------------------------------------------------------------------


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


# --- the bot -------------------------------------------------------------------------------


def new_investigation_id() -> str:
    return "inv-" + uuid.uuid4().hex[:12]


class Bot:
    """Routes parsed commands to the service and answers in the command's thread."""

    def __init__(
        self,
        service: InvestigationService,
        chat: Chat,
        settings: BotSettings,
        *,
        state: StateStore | None = None,
        redactor: Redactor | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.service = service
        self.chat = chat
        self.settings = settings
        self.policy = settings.policy
        self.state = state if state is not None else StateStore(settings.state_path)
        if redactor is None:  # the CLI passes the logs' own; a bare Bot scrubs the same secrets
            redactor = Redactor()
            redactor.add_from_env()
        self.redact = redactor
        self.limiter = RateLimiter(burst=settings.rate_burst, per_minute=settings.rate_per_minute, clock=clock)
        self._long = ThreadPoolExecutor(settings.workers, thread_name_prefix="twinsight-investigate")
        self._quick = ThreadPoolExecutor(4, thread_name_prefix="twinsight-command")
        self._lock = threading.Lock()
        self._futures: set[Future] = set()
        self._running: dict[str, str] = {}  # investigation id -> user
        self._deciding: set[str] = set()

    # --- entry points used by transports --------------------------------------------------

    def handle(self, msg: Message) -> Future | None:
        """Act on one incoming command. None when the sender or room is not allowed.

        Returns quickly: only `help`, refusals and parse errors are answered in the
        caller's thread; everything that touches the service runs on a worker.
        """
        if not self.policy.room_allowed(msg.room):
            log.info("ignored a command in a room not allowed: %s", msg.room)
            return None
        if not self.policy.user_allowed(msg.user):
            log.info("ignored a command from a user not allowed: %s in %s", msg.user, msg.room)
            return None
        allowed, first_refusal = self.limiter.allow(msg.user)
        if not allowed:
            log.warning("rate limited %s", msg.user)
            if first_refusal:
                wait = self.limiter.retry_after(msg.user)
                return self._answer_now(msg, f"Slow down, {self.chat.mention(msg.user)}: try again in {wait:.0f} s.")
            return _done(None)
        try:
            cmd = parse_command(msg.text, max_json_bytes=self.settings.max_alert_bytes)
        except ParseError as exc:
            return self._answer_now(msg, f"✖ {exc}")
        log.info("command %s from %s in %s", cmd.name, msg.user, msg.room)
        if cmd.name == "help":
            return self._answer_now(msg, self.help_text())
        thread = self._open(msg)
        if cmd.name == "investigate":
            return self._start_investigation(msg, thread, cmd)
        if cmd.name in ("approve", "deny"):
            action_id = cmd.args[0] if cmd.args else (
                self.state.action_for_message(msg.in_reply_to) if msg.in_reply_to else None
            )
            if not action_id:
                return self._answer(thread, f"✖ usage: {cmd.name} ACTION_ID (or reply `{cmd.name}` to the action's prompt)")
            return self._submit(self._quick, self._decide, thread, msg.user, action_id, cmd.name == "approve")
        work = {"status": self._status, "paths": self._paths, "whatif": self._whatif}[cmd.name]
        return self._submit(self._quick, work, thread, cmd)

    def button(self, thread: Thread, user: str, action_id: str, approved: bool) -> Future | None:
        """An approve/deny button press (Slack); same checks as the typed command."""
        if not self.policy.room_allowed(thread.room) or not self.policy.user_allowed(user):
            log.info("ignored a button press from %s in %s", user, thread.room)
            return None
        allowed, first_refusal = self.limiter.allow(user)
        if not allowed:
            return self._answer(thread, f"Slow down, {self.chat.mention(user)}.") if first_refusal else _done(None)
        return self._submit(self._quick, self._decide, thread, user, action_id, approved)

    def is_prompt(self, message_id: str | None) -> bool:
        """Whether a message is one of our approve/deny prompts (Matrix reply approvals)."""
        return bool(message_id) and self.state.action_for_message(message_id) is not None

    def start(self) -> list[Future]:
        """After a (re)start: resume running investigations, re-announce pending actions."""
        futures: list[Future] = []
        try:
            pending = list(self.service.pending())
        except Exception as exc:
            log.error("cannot list pending actions at start: %s", exc)
            pending = []
        waiting_on = {p.investigation_id for p in pending}
        for inv_id, entry in self.state.investigations().items():
            if inv_id in waiting_on:
                self.state.set_status(inv_id, "awaiting")
                continue
            if entry.get("status") != "running":
                # Awaiting before, nothing pending now: decided elsewhere. Forget it.
                self.state.drop_investigation(inv_id)
                continue
            thread = Thread.from_dict(entry["thread"])
            user = str(entry.get("user", ""))
            with self._lock:
                self._running[inv_id] = user
            futures.append(
                self._submit(self._long, self._investigate, thread, user, entry["alert"], inv_id, True)
            )
        fallback: Thread | None = None
        for action in pending:
            thread = self.state.thread_of(action.investigation_id)
            if thread is None and (prompt := self.state.prompt(action.action_id)):
                thread = prompt[0]
            if thread is None:
                if fallback is None:
                    room = self.settings.announce_room or next(iter(sorted(r for r in self.policy.rooms if r != "*")), None)
                    if room is None:
                        log.warning("pending action %s has no room to be announced in", action.action_id)
                        continue
                    fallback = self.chat.open_thread(room, None, "Response actions waiting for approval")
                thread = fallback
            try:
                self._prompt(thread, action, restarted=True)
            except Exception as exc:
                log.error("re-announcing %s failed: %s", action.action_id, exc)
        return futures

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no work is queued or running (tests, graceful shutdown)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                futures = [f for f in self._futures if not f.done()]
            if not futures:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            wait_futures(futures, timeout=remaining)

    def shutdown(self, wait: bool = False) -> None:
        self._quick.shutdown(wait=wait, cancel_futures=not wait)
        self._long.shutdown(wait=wait, cancel_futures=not wait)

    def help_text(self) -> str:
        p = self.chat.prefix
        approve = "press Approve/Deny, or " if self.chat.supports_buttons else "reply `approve`/`deny` to the prompt, or "
        return "\n".join(
            [
                "Twinsight chat-ops: investigate alerts against the enterprise twin.",
                f"• `{p} help`: this text",
                f"• `{p} status`: twin size, analyst, investigations in flight",
                f"• `{p} investigate ALERT_ID`: an alert already in the twin",
                f"• `{p} investigate {{...}}`: a pasted OCSF/ECS alert (code fences are fine)",
                f"• `{p} investigate` with an attached alert file",
                f"• `{p} paths FROM [TO]`: attack paths from a key (to crown jewels when TO is left out)",
                f"• `{p} whatif ACTION ...`: " + "; ".join(WHATIF_USAGE.values()),
                f"• `{p} approve ID` / `{p} deny ID`: decide a pending response action ({approve}type it; approvers only)",
            ]
        )

    # --- plumbing --------------------------------------------------------------------------

    def _open(self, msg: Message) -> Thread:
        if msg.thread.root is not None:
            return msg.thread
        # The thread's first message quotes the command ("X asked: ..."): a token pasted
        # into a command is scrubbed here exactly as it is in the logs.
        return self.chat.open_thread(msg.room, msg.user, self.redact(msg.text))

    def _answer_now(self, msg: Message, text: str) -> Future:
        try:
            thread = self._open(msg)
            self.chat.send(thread, self.redact(text))
        except Exception as exc:
            log.error("reply failed in %s: %s", msg.room, exc)
        return _done(None)

    def _answer(self, thread: Thread, text: str) -> Future:
        """A short reply; it may quote what was typed (a usage error), so it is scrubbed."""
        try:
            self.chat.send(thread, self.redact(text))
        except Exception as exc:
            log.error("reply failed in %s: %s", thread.room, exc)
        return _done(None)

    def _submit(self, pool: ThreadPoolExecutor, fn: Callable[..., Any], *args: Any) -> Future:
        def run() -> Any:
            try:
                return fn(*args)
            except Exception:
                log.exception("bot task %s failed", getattr(fn, "__name__", fn))
                raise

        future = pool.submit(run)
        with self._lock:
            self._futures = {f for f in self._futures if not f.done()}
            self._futures.add(future)
        return future

    def _error(self, thread: Thread, what: str, exc: BaseException) -> None:
        log.error("%s failed: %s: %s", what, type(exc).__name__, exc)
        detail = self.redact(render.clip(f"{type(exc).__name__}: {exc}", 400))
        self._answer(thread, f"✖ {what} failed: {detail}")

    # --- commands --------------------------------------------------------------------------

    def _status(self, thread: Thread, cmd: Command) -> None:
        try:
            status = self.service.status()
            pending = self.service.pending()
        except Exception as exc:
            self._error(thread, "status", exc)
            return
        with self._lock:
            running = len(self._running)
        extra = {"bot investigations running": running, "response actions pending": len(pending)}
        self.chat.send(thread, render.render_status(status, extra))

    def _paths(self, thread: Thread, cmd: Command) -> None:
        source, target = cmd.args[0], (cmd.args[1] if len(cmd.args) > 1 else None)
        try:
            result = self.service.paths(source, target)
        except Exception as exc:
            self._error(thread, "paths", exc)
            return
        self.chat.send(thread, render.clip(render.render_paths(source, target, result), 3500))
        paths = result.get("paths") or result.get("attack_paths") or []
        if isinstance(paths, list) and len(paths) > 5:
            data = json.dumps(result, indent=2, default=str).encode()
            self.chat.upload(thread, "paths.json", data, "application/json", f"paths from {source}")

    def _whatif(self, thread: Thread, cmd: Command) -> None:
        try:
            result = self.service.whatif(list(cmd.args))
        except Exception as exc:
            self._error(thread, "whatif " + " ".join(cmd.args), exc)
            return
        self.chat.send(thread, render.clip(render.render_whatif(result), 3500))
        data = json.dumps(result, indent=2, default=str).encode()
        self.chat.upload(thread, "whatif.json", data, "application/json", "whatif " + " ".join(cmd.args))

    def _start_investigation(self, msg: Message, thread: Thread, cmd: Command) -> Future:
        with self._lock:
            mine = sum(1 for u in self._running.values() if u == msg.user)
            if mine >= self.settings.max_per_user:
                busy = True
            else:
                busy = False
                inv_id = new_investigation_id()
                self._running[inv_id] = msg.user
        if busy:
            return self._answer(
                thread, f"✖ {self.chat.mention(msg.user)} already has {mine} investigations running; wait for one to finish."
            )
        return self._submit(self._long, self._resolve_and_investigate, msg, thread, cmd, inv_id)

    def _resolve_alert(self, msg: Message, cmd: Command) -> dict[str, Any]:
        if cmd.alert is not None:
            return cmd.alert
        if cmd.args:
            alert = self.service.find_alert(cmd.args[0])
            if alert is None:
                raise ParseError(f"no alert {render.code(cmd.args[0])} in the twin; paste the alert JSON or attach it")
            return alert
        if not msg.attachments:
            raise ParseError("give an alert id, paste the alert JSON, or attach the alert file")
        att = msg.attachments[0]
        if att.size is not None and att.size > self.settings.max_alert_bytes:
            raise ParseError(f"{att.name} is larger than {self.settings.max_alert_bytes} bytes")
        data = att.fetch()
        if len(data) > self.settings.max_alert_bytes:
            raise ParseError(f"{att.name} is larger than {self.settings.max_alert_bytes} bytes")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ParseError(f"{att.name} is not UTF-8 text") from None
        try:
            return parse_alert_json(text, self.settings.max_alert_bytes)
        except ParseError as exc:
            raise ParseError(f"{att.name}: {exc}") from None

    def _resolve_and_investigate(self, msg: Message, thread: Thread, cmd: Command, inv_id: str) -> Any:
        try:
            alert = self._resolve_alert(msg, cmd)
        except ParseError as exc:
            with self._lock:
                self._running.pop(inv_id, None)
            self._answer(thread, f"✖ {exc}")
            return None
        except Exception as exc:
            with self._lock:
                self._running.pop(inv_id, None)
            self._error(thread, "reading the alert", exc)
            return None
        return self._investigate(thread, msg.user, alert, inv_id, False)

    def _investigate(self, thread: Thread, user: str, alert: dict, inv_id: str, resumed: bool) -> Any:
        try:
            self.state.put_investigation(inv_id, thread, user, alert, "running")
            alert_id = _alert_label(alert)
            header = f"⏳ Investigation {render.code(inv_id)} of alert {render.code(alert_id)}"
            if resumed:
                header += " (resumed after a bot restart)"
            header += f", asked by {self.chat.mention(user)}"
            reporter = ProgressReporter(self.chat, thread, header, self.settings.progress_interval, self.redact)
            reporter.begin("intake: queued")
            started = time.monotonic()
            try:
                outcome = self.service.investigate(
                    alert, investigation_id=inv_id, respond=self.settings.respond, on_progress=reporter
                )
            except Exception as exc:
                reporter.finish("✖ failed")
                self.state.drop_investigation(inv_id)
                self._error(thread, f"investigation {inv_id}", exc)
                return None
            reporter.finish(f"✔ {outcome.status} after {time.monotonic() - started:.1f} s")
            self._post_outcome(thread, outcome)
            return outcome
        finally:
            with self._lock:
                self._running.pop(inv_id, None)

    def _post_outcome(self, thread: Thread, outcome: InvestigationOutcome) -> None:
        inv_id = outcome.investigation_id
        if outcome.status == "failed":
            self.state.drop_investigation(inv_id)
            detail = self.redact(render.clip(outcome.error or "no detail", 400))
            self._answer(thread, f"✖ investigation {render.code(inv_id)} failed: {detail}")
            return
        self.chat.send_summary(thread, render.build_summary(outcome))
        try:
            report = render.report_markdown(outcome).encode("utf-8")
            self.chat.upload(thread, f"twinsight-{inv_id}.md", report, "text/markdown", f"Twinsight report {inv_id}")
        except Exception as exc:
            log.error("report upload for %s failed: %s", inv_id, exc)
            self._answer(thread, f"(the report file could not be uploaded: {self.redact(str(exc))[:200]})")
        pending = list(outcome.pending)
        if outcome.status == "awaiting_approval" and not pending:
            pending = [p for p in self.service.pending() if p.investigation_id == inv_id]
        for action in pending:
            self._prompt(thread, action)
        if outcome.status == "awaiting_approval" and pending:
            self.state.set_status(inv_id, "awaiting")
        else:
            self.state.drop_investigation(inv_id)

    def _prompt(self, thread: Thread, action: PendingAction, restarted: bool = False) -> None:
        text = render.pending_text(action)
        if restarted:
            text = "(re-announced after a bot restart) " + text
        message_id = self.chat.send_prompt(thread, action, text)
        self.state.put_prompt(action.action_id, thread, message_id)

    def _decide(self, thread: Thread, user: str, action_id: str, approved: bool) -> Any:
        verb = "approve" if approved else "deny"
        if not self.policy.is_approver(user):
            log.warning("refused %s %s by %s: not an approver", verb, action_id, user)
            self._answer(thread, f"✖ {self.chat.mention(user)} is not an approver: {verb} {render.code(action_id)} refused.")
            return None
        with self._lock:
            if action_id in self._deciding:
                busy = True
            else:
                busy = False
                self._deciding.add(action_id)
        if busy:
            return self._answer(thread, f"{render.code(action_id)} is already being decided.")
        try:
            pending = {p.action_id: p for p in self.service.pending()}
            action = pending.get(action_id)
            if action is None:
                self._answer(thread, f"✖ no pending response action {render.code(action_id)} (decided already, or unknown).")
                return None
            log.warning("decision: %s %s (%s %s) by %s", verb, action_id, action.action, action.target, user)
            word = "✅ Approved" if approved else "🚫 Denied"
            prompt = self.state.prompt(action_id)
            if prompt is not None:
                try:
                    self.chat.resolve_prompt(prompt[0], prompt[1], f"{word} by {self.chat.mention(user)}: {render.pending_text(action)}")
                except Exception as exc:
                    log.warning("could not update the prompt of %s: %s", action_id, exc)
            home = self.state.thread_of(action.investigation_id) or (prompt[0] if prompt else thread)
            note = f"{word} {render.code(action_id)} by {self.chat.mention(user)}; resuming investigation {render.code(action.investigation_id)}."
            self._answer(thread, note)
            if home != thread:
                self._answer(home, note)
            try:
                outcome = self.service.decide(action_id, approved, by=user)
            except Exception as exc:
                self._error(home, f"{verb} {action_id}", exc)
                return None
            self.state.drop_prompt(action_id)
            self._post_outcome(home, outcome)
            return outcome
        finally:
            with self._lock:
                self._deciding.discard(action_id)


def _alert_label(alert: dict[str, Any]) -> str:
    """A short name for an alert in chat: its id if it has one (OCSF, ECS), else '?'."""
    for path in (("alert_id",), ("id",), ("finding_info", "uid"), ("metadata", "uid"), ("event", "id"), ("kibana.alert.uuid",)):
        node: Any = alert
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str | int) and str(node):
            return render.clip(str(node), 80)
    return "(pasted)"


def _done(value: Any) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future
