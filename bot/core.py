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

This module is the bot itself (routing, safety checks, the worker pool, restarts); the
command parser (bot/commands.py), the transport types (bot/chat.py), the settings
(bot/settings.py) and the progress message (bot/progress.py) are modules of their own,
re-exported here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

from agents.service import InvestigationOutcome, InvestigationService, PendingAction
from bot import render
from bot.chat import Attachment, Chat, Message
from bot.commands import (
    COMMANDS,
    Command,
    ParseError,
    clip_word,
    parse_alert_json,
    parse_command,
    split_args,
    strip_fences,
)
from bot.progress import ProgressReporter
from bot.safety import RateLimiter, Redactor
from bot.settings import BotSettings, default_state_path
from bot.state import StateStore, Thread
from graph.whatif.grammar import USAGE as WHATIF_USAGE

# Re-exported: the transports and the tests import the bot's whole vocabulary from here.
__all__ = [
    "COMMANDS", "Attachment", "Bot", "BotSettings", "Chat", "Command", "Message", "ParseError",
    "ProgressReporter", "clip_word", "default_state_path", "new_investigation_id", "parse_alert_json",
    "parse_command", "split_args", "strip_fences",
]

log = logging.getLogger("twinsight.bot")


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
