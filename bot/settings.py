"""The bot's knobs (allow-lists, rate limits, worker pool, state file) read from the environment, with
a one-line error for a bad number. Apart from the bot so the CLI and the transports read settings
without building a bot; bot.core re-exports them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bot.safety import AccessPolicy


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
