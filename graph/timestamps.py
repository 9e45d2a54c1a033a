"""Epoch seconds from what sources write for a time: one reading for every connector.

Security tools disagree on units and forms: OCSF `time` is epoch milliseconds, Elastic
`@timestamp` ISO 8601 with `Z`, Sysmon `UtcTime` a naive "YYYY-MM-DD HH:MM:SS.fff" in
UTC, some exporters epoch microseconds or numeric text. A time outside 1970..3000 is
taken as unreadable rather than trusted.

A record often carries several times, and only some of them say when the thing
happened: `EventClock` picks the event's own time over the shipper's (see its
docstring for the precedence) and corrects own times that an exporter wrote in local
time, so that a logon never sorts after the process it started.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import NamedTuple

MAX_TS = 32503680000  # 3000-01-01

# Time fields of an event record, the event's own first (graph/MODEL.md "Event time").
OWN_TIME_FIELDS = ("UtcTime", "TimeCreated", "SystemTime", "EventTime", "TimeGenerated")
SHIPPING_TIME_FIELDS = ("@timestamp", "timestamp", "EventReceivedTime")
TIME_FIELDS = OWN_TIME_FIELDS + SHIPPING_TIME_FIELDS
# Time-zone offsets are whole quarter hours; a sample further than this from one is noise
# (a shipper that held an event for minutes, a field that means something else).
_QUARTER = 900
_SLACK = 120


def epoch_seconds(value: object) -> float | None:
    """Epoch s/ms/us numbers, numeric text or ISO 8601 text (naive = UTC) -> epoch
    seconds; None when it is none of these or out of range."""
    read = read_time(value)
    return read[0] if read else None


def to_epoch(value: object) -> int | None:
    """`epoch_seconds` in whole seconds: a report's or an SBOM's own time, where an
    unreadable one falls back to the ingest time."""
    read = read_time(value)
    return int(read[0]) if read else None


def parse_time(value: object) -> int | None:
    """A time someone asks about (a tool's `as_of`, a what-if's, an alert's): the same
    reading as the data's, but a value that is not a time is an error to tell them,
    not a gap (ValueError, one readable line). None or "" is no time at all."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("a time must be ISO 8601 text or epoch seconds, not a boolean")
    read = read_time(value)
    if read is not None:
        return int(read[0])
    if isinstance(value, (int, float)) or _is_number(value):
        raise ValueError(f"{value!r} is not a plausible time")
    raise ValueError(f"{value!r} is neither ISO 8601 nor epoch seconds")


def _is_number(value: object) -> bool:
    try:
        float(str(value).strip())
    except (ValueError, OverflowError):
        return False
    return True


def read_time(value: object) -> tuple[float, bool] | None:
    """`(epoch seconds, zoned)`: zoned when the value says its own zone (a `Z` or an
    offset, or an epoch number); naive text is read as UTC and is not zoned."""
    if isinstance(value, bool) or value is None:
        return None
    zoned = True
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
                zoned = False
            ts = dt.timestamp()
        except (ValueError, OverflowError):
            try:
                return read_time(float(s))
            except (ValueError, OverflowError):
                return None
    else:
        return None
    return (ts, zoned) if 0 < ts < MAX_TS else None


class TimeReading(NamedTuple):
    field: str
    ts: float
    zoned: bool


def time_readings(obj: dict) -> tuple[list[TimeReading], str | None]:
    """The readable time fields of a record in precedence order, and the first
    unreadable one as `bad time FIELD='...'` (for the reject when none is readable).
    `TimeCreated` may be XML-derived `{"SystemTime": "..."}`."""
    out: list[TimeReading] = []
    bad = None
    for name in TIME_FIELDS:
        value = obj.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, dict):
            value = value.get("SystemTime") or value.get("#text")
        read = read_time(value)
        if read is None:
            bad = bad or f"bad time {name}={str(value)[:40]!r}"
        elif name == "UtcTime":
            out.append(TimeReading(name, read[0], True))  # UTC by definition (Sysmon)
        else:
            out.append(TimeReading(name, read[0], read[1]))
    return out, bad


class EventClock:
    """One clock for the events of one file, learned from the file itself.

    Precedence: Sysmon's `UtcTime` (the activity, in UTC, to the millisecond); then
    `TimeCreated` / `SystemTime` (when Windows wrote the record); then NXLog's
    `EventTime` (the same instant in the collector's local time, to the second, usually
    without a zone); then `TimeGenerated`; the shipping times (`@timestamp`, `timestamp`,
    `EventReceivedTime`: when Logstash or NXLog handled the record, seconds late) only
    when the event has no time of its own. An own time written to the whole second is
    refined by a shipping time that falls inside that second. A `UtcTime` minutes away
    from its record's own write time gives way to it (see `_sysmon_time`).

    Exporters write own times in local time: NXLog's naive `EventTime`, and some exports
    (OTRF's 2023 captures) even a local `TimeCreated` with a `Z`. So, per host and field,
    `observe` compares each own time with the same record's `UtcTime` (else, for a naive
    field, its shipping time), rounded to whole quarter hours; `finish` keeps the offset
    that most samples agree on, and `time` applies it. A host without samples for a field
    takes the offset the file's other hosts agree on.
    """

    def __init__(self) -> None:
        self._samples: dict[tuple[str, str, bool], Counter] = defaultdict(Counter)
        self._offsets: dict[tuple[str, str], float] = {}

    def observe(self, host: str, readings: list[TimeReading]) -> None:
        if not readings:
            return
        utc = readings[0].ts if readings[0].field == "UtcTime" else None
        ship = next((r.ts for r in readings if r.field in SHIPPING_TIME_FIELDS and r.zoned), None)
        for r in readings:
            if r.field == "UtcTime" or r.field in SHIPPING_TIME_FIELDS:
                continue
            ref, by_utc = (utc, True) if utc is not None else (None if r.zoned else ship, False)
            if ref is None:
                continue
            diff = ref - r.ts
            quarters = round(diff / _QUARTER)
            if abs(diff - quarters * _QUARTER) <= _SLACK:
                self._samples[(host, r.field, by_utc)][quarters * _QUARTER] += 1

    def finish(self) -> None:
        """Settle on an offset per host and field (UtcTime evidence over shipping-time
        evidence), and a file-wide one per field for hosts that gave no samples."""
        chosen: dict[tuple[str, str], float] = {}
        for by_utc in (False, True):  # UtcTime evidence, written last, wins
            for (host, name, kind), counts in self._samples.items():
                if kind == by_utc:
                    offset = _agreed(counts)
                    if offset is not None:
                        chosen[(host, name)] = offset
        self._offsets = chosen
        pooled: dict[str, Counter] = defaultdict(Counter)
        for (_, name), offset in chosen.items():
            pooled[name][offset] += 1
        for name, counts in pooled.items():
            offset = _agreed(counts)
            if offset is not None:
                self._offsets[("", name)] = offset

    def time(self, host: str, readings: list[TimeReading]) -> tuple[float, str]:
        """The event's time and the field it came from (readings must not be empty)."""
        first = readings[0]
        if first.field in SHIPPING_TIME_FIELDS:
            return first.ts, first.field
        if first.field == "UtcTime":
            return self._sysmon_time(host, readings)
        offset = self._offset(host, first.field)
        ts = first.ts + (offset or 0.0)
        if first.ts == int(first.ts):  # to the second: a shipping time inside it is finer
            for r in readings:
                if r.field in SHIPPING_TIME_FIELDS and r.zoned and ts <= r.ts < ts + 1:
                    return r.ts, first.field
        return ts, first.field


    def _offset(self, host: str, name: str) -> float | None:
        offset = self._offsets.get((host, name))
        return self._offsets.get(("", name)) if offset is None else offset

    def _sysmon_time(self, host: str, readings: list[TimeReading]) -> tuple[float, str]:
        """`UtcTime`, unless the record's own write time (on a settled clock) says it is
        off by minutes: Sysmon stamps network and DNS events with the ETW clock, which a
        restored VM snapshot leaves behind (OTRF's 2023 ntdsutil capture has ntdsutil.exe
        resolving names 25 hours before it ran)."""
        utc = readings[0].ts
        for r in readings[1:]:
            if r.field in SHIPPING_TIME_FIELDS:
                break
            offset = self._offset(host, r.field)
            if offset is not None:
                written = r.ts + offset
                if abs(utc - written) > _SLACK:
                    return written, r.field
                break
        return utc, "UtcTime"


def _agreed(counts: Counter) -> float | None:
    """The offset at least half of the samples agree on, if any."""
    if not counts:
        return None
    offset, n = counts.most_common(1)[0]
    return float(offset) if 2 * n >= sum(counts.values()) else None
