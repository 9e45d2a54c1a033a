"""Epoch seconds from what sources write for a time: one reading for every connector.

Security tools disagree on units and forms: OCSF `time` is epoch milliseconds, Elastic
`@timestamp` ISO 8601 with `Z`, Sysmon `UtcTime` a naive "YYYY-MM-DD HH:MM:SS.fff" in
UTC, some exporters epoch microseconds or numeric text. A time outside 1970..3000 is
taken as unreadable rather than trusted.
"""

from __future__ import annotations

from datetime import UTC, datetime

MAX_TS = 32503680000  # 3000-01-01


def epoch_seconds(value: object) -> float | None:
    """Epoch s/ms/us numbers, numeric text or ISO 8601 text (naive = UTC) -> epoch
    seconds; None when it is none of these or out of range."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            ts = float(value)
        except OverflowError:
            return None
        if ts > 1e14:
            ts /= 1e6
        elif ts > 1e11:
            ts /= 1e3
    elif isinstance(value, str):
        s = value.strip()
        if not s:
            return None
        try:
            dt = datetime.fromisoformat(s[:-1] + "+00:00" if s[-1] in "zZ" else s)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            ts = dt.timestamp()
        except (ValueError, OverflowError):
            try:
                return epoch_seconds(float(s))
            except (ValueError, OverflowError):
                return None
    else:
        return None
    return ts if 0 < ts < MAX_TS else None
