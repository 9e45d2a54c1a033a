"""Who may talk to the bot, how often, and what may reach a log.

A chat bot that can start investigations and approve response actions (disable an
account, isolate a host) is a privileged door into the twin: everything here defaults
to "no". An empty allow-list lets nobody in; approvers are a separate, usually smaller
list; a flood from one user is cut by a per-user token bucket; and tokens, passwords
and signing secrets are scrubbed from every log record, since chat transports love to
log URLs with `access_token=` in them and request headers with `Bearer`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

REDACTED = "[REDACTED]"


def split_list(value: str | None) -> frozenset[str]:
    """A comma- (or whitespace-) separated setting as a set; blanks dropped."""
    if not value:
        return frozenset()
    return frozenset(part.strip() for part in re.split(r"[,\s]+", value) if part.strip())


@dataclass(frozen=True)
class AccessPolicy:
    """Allow-lists from TWINSIGHT_ALLOWED_ROOMS / _USERS / TWINSIGHT_APPROVERS.

    `*` in a list means "anyone" and must be written out on purpose. Approvers count as
    allowed users: someone trusted to approve an isolation is trusted to ask for status.
    """

    rooms: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    approvers: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AccessPolicy:
        env = os.environ if env is None else env
        return cls(
            rooms=split_list(env.get("TWINSIGHT_ALLOWED_ROOMS")),
            users=split_list(env.get("TWINSIGHT_ALLOWED_USERS")),
            approvers=split_list(env.get("TWINSIGHT_APPROVERS")),
        )

    def room_allowed(self, room: str) -> bool:
        return "*" in self.rooms or room in self.rooms

    def user_allowed(self, user: str) -> bool:
        return "*" in self.users or user in self.users or self.is_approver(user)

    def is_approver(self, user: str) -> bool:
        return "*" in self.approvers or user in self.approvers

    def problems(self) -> list[str]:
        """Settings that make the bot deaf or dangerously open, for a startup warning."""
        out = []
        if not self.rooms:
            out.append("TWINSIGHT_ALLOWED_ROOMS is empty: the bot answers in no room")
        if not self.users and not self.approvers:
            out.append("TWINSIGHT_ALLOWED_USERS and TWINSIGHT_APPROVERS are empty: the bot answers nobody")
        if "*" in self.approvers:
            out.append("TWINSIGHT_APPROVERS is '*': anyone may approve response actions")
        return out


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


@dataclass
class RateLimiter:
    """A token bucket per user: `burst` commands at once, refilled at `per_minute`.

    The clock is injectable so tests need not sleep. `allow` tells, besides yes/no,
    whether this is the first refusal since the user was last allowed: the bot answers
    that one ("slow down") and stays quiet for the rest, or it would itself spam.
    """

    burst: float = 5.0
    per_minute: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, user: str, cost: float = 1.0) -> tuple[bool, bool]:
        """(allowed, first refusal in a row)."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(user)
            if bucket is None:
                bucket = self._buckets[user] = _Bucket(tokens=self.burst, stamp=now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.per_minute / 60.0)
            bucket.stamp = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                bucket.warned = False
                return True, False
            first = not bucket.warned
            bucket.warned = True
            return False, first

    def retry_after(self, user: str, cost: float = 1.0) -> float:
        """Seconds until `user` has `cost` tokens again (0 when they already do)."""
        with self._lock:
            bucket = self._buckets.get(user)
            if bucket is None or bucket.tokens >= cost or self.per_minute <= 0:
                return 0.0
            return (cost - bucket.tokens) * 60.0 / self.per_minute


class ReplayGuard:
    """Signed requests accepted once: a signature seen inside the replay window is refused.

    Slack's signature covers the body and its timestamp, and the timestamp check only
    bounds a replay to five minutes; within them, a captured request (an approval, an
    investigation) would run again. Every signature accepted is remembered until its
    timestamp leaves the window (plus the clock skew Slack's check allows), so memory is
    bounded by the signed traffic of one window. Call it only for requests whose
    signature verified, or a forger could fill it.
    """

    def __init__(self, window_s: float = 300.0, clock: Callable[[], float] = time.time):
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_time(self, signature: str, timestamp: str) -> bool:
        """True the first time (signature, timestamp) is presented; False for a replay."""
        now = self.clock()
        try:
            stamp = float(timestamp)
        except ValueError:
            stamp = now
        key = f"{timestamp}:{signature}"
        with self._lock:
            if len(self._seen) > 1000:
                self._seen = {k: exp for k, exp in self._seen.items() if exp > now}
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            self._seen[key] = max(stamp, now) + 2 * self.window_s
            return True


# --- secrets out of logs ---------------------------------------------------------------

# Running a pattern over text it already scrubbed must leave it alone (records pass
# through several handlers, each with the filter).
_NOT_DONE = r"(?!\[REDACTED\])"

# Shapes of credentials the bot's stack handles. Each pattern keeps a harmless prefix
# (group 1) so a redacted log still says *what* was there.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Slack bot/user/app/config tokens and app-level tokens.
    (re.compile(r"\b(xox[abposre]-)" + _NOT_DONE + r"[A-Za-z0-9-]+"), r"\1" + REDACTED),
    (re.compile(r"\b(xapp-)" + _NOT_DONE + r"[A-Za-z0-9-]+"), r"\1" + REDACTED),
    # Synapse access and refresh tokens.
    (re.compile(r"\b(sy[tr]_)" + _NOT_DONE + r"[A-Za-z0-9_]+"), r"\1" + REDACTED),
    # OpenAI-style API keys.
    (re.compile(r"\b(sk-)" + _NOT_DONE + r"[A-Za-z0-9_-]{12,}"), r"\1" + REDACTED),
    # Authorization headers.
    (re.compile(r"(?i)\b(bearer\s+)" + _NOT_DONE + r"[^\s'\",]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(basic\s+)" + _NOT_DONE + r"[A-Za-z0-9+/=]{8,}"), r"\1" + REDACTED),
    # key=value, key: value and "key": "value" for secret-sounding keys (URLs, JSON, repr).
    (
        re.compile(
            r"(?i)([\"']?\b(?:access_token|refresh_token|token|password|passwd|pass|secret|"
            r"signing_secret|client_secret|api_key|apikey|authorization|registration_shared_secret)"
            r"\b[\"']?\s*[:=]\s*[\"']?)" + _NOT_DONE + r"([^\"'\s&,;}\]]+)"
        ),
        r"\1" + REDACTED,
    ),
    # Credentials in URLs: scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)" + _NOT_DONE + r"[^@\s/]+(@)"), r"\1" + REDACTED + r"\2"),
]

# Environment variables whose values are secrets wherever they turn up, whatever shape.
SECRET_ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "MATRIX_PASSWORD",
    "MATRIX_ACCESS_TOKEN",
    "NEO4J_PASSWORD",
    "OPENAI_API_KEY",
)


class Redactor:
    """Scrubs known secret values and credential-shaped substrings from text."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Register exact secret values (very short ones would redact ordinary words)."""
        with self._lock:
            self._secrets.update(s for s in secrets if s and len(s) >= 6)

    def add_from_env(self, env: dict[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.add(*(env.get(name) for name in SECRET_ENV))

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, repl in _PATTERNS:
            text = pattern.sub(repl, text)
        return text


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites each record with its secrets scrubbed.

    It renders the message (msg % args) first, since a secret is as often in the args
    as in the format string, and pre-renders the traceback into `exc_text` (which
    formatters reuse) because exception messages carry URLs and headers too.
    """

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = self.redactor(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        return True


def install_log_redaction(redactor: Redactor, logger: logging.Logger | None = None) -> RedactingFilter:
    """Put the filter on every handler of `logger` (root by default).

    Filters on loggers do not see records propagated from child loggers (slack_sdk,
    nio, urllib3 …); filters on handlers see everything that is actually written.
    """
    logger = logger or logging.getLogger()
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler())
    flt = RedactingFilter(redactor)
    for handler in logger.handlers:
        existing = [f for f in handler.filters if isinstance(f, RedactingFilter)]
        if existing:
            for old in existing:  # installed again: the newest secrets win
                old.redactor = redactor
        else:
            handler.addFilter(flt)
    return flt
