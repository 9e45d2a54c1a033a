"""`twinsight events`: the raw lines behind a verdict, from the event store.

An analyst who reads "pgustavo replicated the directory from WORKSTATION6" wants the
4662 itself: the events are filtered by host (key or short name), account (key or
name), address, event id and time window, read straight from the store (no Neo4j
needed), oldest first; `--json` gives every column and the raw line as written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from graph.events import EventFilter, EventStore, open_store
from graph.timestamps import parse_time


class EventsUsageError(ValueError):
    """A bad option value: one line, exit code 2."""


def _time(option: str, value: str | None) -> int | None:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise EventsUsageError(f"{option} {value!r}: {exc}") from None


def build_filter(hosts: list[str], accounts: list[str], ips: list[str], event_ids: list[int],
                 since: str | None, until: str | None, limit: int) -> EventFilter:
    lo, hi = _time("--since", since), _time("--until", until)
    if lo is not None and hi is not None and lo > hi:
        raise EventsUsageError(f"--since {since!r} is after --until {until!r}")
    for ip in ips:
        if not ip.strip():
            raise EventsUsageError("--ip needs an address")
    return EventFilter(hosts=[h.strip().rstrip(".") for h in hosts if h.strip()],
                       accounts=[a.strip() for a in accounts if a.strip()],
                       ips=[i.strip() for i in ips], event_ids=list(event_ids),
                       since=lo, until=hi, limit=limit)


def as_document(row: dict) -> dict:
    """One event of `--json`: the store's columns under the contract's names."""
    from graph.tools.spec import iso

    return {"key": row["key"], "time": iso(row["ts"]), "timestamp": row["ts"], "event_id": row["event_id"],
            "channel": row["channel"], "kind": row["kind"], "host": row["host"], "from_host": row["from_host"],
            "by": row["by_keys"], "targets": row["target_keys"], "ip": row["ip"], "dst_ip": row["dst_ip"],
            "source": row["source"], "fields": row["props"], "raw": row["raw"]}


def run_events_command(flt: EventFilter, json_out: bool, raw: bool, store: EventStore | None = None,
                       out: Callable[[str], object] = sys.stdout.write) -> int:
    rows = (store or open_store(_database())).query(flt)
    if json_out:
        out(json.dumps({"total": len(rows), "events": [as_document(r) for r in rows]}, default=str) + "\n")
        return 0
    if not rows:
        print("twinsight: no event matches", file=sys.stderr)
        return 0
    for r in rows:
        if raw:
            out((r["raw"] or json.dumps(r["props"], sort_keys=True, default=str)) + "\n")
            continue
        doc = as_document(r)
        who = ",".join(doc["by"]) or "-"
        whom = ",".join(doc["targets"])
        src = f" from {doc['from_host'] or doc['ip']}" if doc["from_host"] or doc["ip"] else ""
        out(f"{doc['time']}  {doc['event_id']!s:>5}  {doc['host']}  {who}{' -> ' + whom if whom else ''}"
            f"{src}  {doc['key']}\n")
    return 0


def _database() -> str | None:
    from graph.settings import Neo4jSettings

    return Neo4jSettings.from_env().database
