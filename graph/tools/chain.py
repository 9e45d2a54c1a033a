"""Where an action came from, and whether it is routine: the session chain and history.

An alert names where something happened; an analyst needs where it came from. The
answer is in the events' own links, not in what else happened that hour: a process
belongs to the logon session that started it (`InLogonSession`, by LogonId) and to its
parent (`SpawnedBy`); a logon carries the address it came from (`FromHost`, resolved
through the IP bindings at that time). Walking those links back, hop by hop, gives the
source host and account and the earliest step the telemetry shows.

History answers the other half of "is this expected?": the same account doing the same
kind of thing from the same place on earlier days is routine; first seen is not.

Both read the event store (graph/events), which keeps every event under the graph's keys
with its links and chains: an event's lineage and sessions are one recursive read there,
a month of history a scan of the days it covers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from graph.events import EventFilter
from graph.events.store import HOST_UNRESOLVED
from graph.tools.spec import AsOf, ToolError, ToolInput, ToolOutput, as_of_field, iso, tool

if TYPE_CHECKING:
    from graph.tools.base import Toolbox

# Where the step before a logon is looked for, by preference: the account's own logon on
# the source host, someone typing its credentials there (4648: the subject is who really
# acted), a process it ran.
_LOGON, _EXPLICIT, _PROCESS = 0, 1, 2


class ChainInput(ToolInput):
    event: str = Field(min_length=1, max_length=500, description="The key of the event to trace (EVT:...).")
    max_hops: int = Field(default=3, ge=1, le=6, description="How many host-to-host steps to walk back.")
    lookback_s: int = Field(default=86400, ge=60, le=7 * 86400,
                            description="How far before each logon to look for the account on its source host.")


class ChainStep(ToolOutput):
    host: str | None = Field(description="where this step happened")
    account: str | None = Field(description="the account it ran as")
    time: str | None
    timestamp: int | None
    logon: str | None = Field(default=None, description="key of the logon event of the session")
    logon_type: int | None = None
    from_host: str | None = Field(default=None, description="host the session came from, resolved at that time")
    from_ip: str | None = None
    evidence: list[str] = Field(default_factory=list, description="event keys that show this step")


class ChainOutput(ToolOutput):
    event: str
    found: bool
    steps: list[ChainStep] = Field(description="from the event back towards its origin")
    origin_host: str | None = Field(description="the earliest host the telemetry shows")
    origin_account: str | None
    origin_ip: str | None = Field(default=None, description="the earliest address, when no host is known for it")
    lineage: list[str] = Field(default_factory=list, description="parent process events of the event, nearest first")


@tool
def session_chain(tb: Toolbox, args: ChainInput) -> ChainOutput:
    """Walk an event back to where it came from: its parent processes, the logon session it ran in, the host that session came from at that time, and the same account's earlier step on that host, hop by hop; the earliest host and account are the origin.

    Use it on the event an alert rests on (a process, a replication, a share access, a
    ticket request) to attribute the source."""
    steps: list[ChainStep] = []
    seen: set[str] = set()
    key = args.event
    lineage: list[str] = []
    origin_ip = None
    for hop in range(args.max_hops + 1):
        if key in seen:
            break
        seen.add(key)
        r = _origin(tb.events("session_chain", EventFilter(keys=[key]), "lineage").rows, key)
        if r is None:
            if hop == 0:
                raise ToolError("not_found", f"no event with key {key!r} in the twin")
            break
        if hop == 0:
            lineage = [a["key"] for a in sorted(r["ancestors"], key=lambda a: -(a["ts"] or 0))]
        users = r["event_users"] or []
        account = r["logon_user"] or (users[0] if users else None)
        from_host = r["logon_from"] or r["event_from"]
        from_ip = r["logon_ip"] or r["event_ip"]
        step = ChainStep(host=r["logon_host"] or r["host"], account=account, time=iso(r["logon_ts"] or r["ts"]),
                         timestamp=r["logon_ts"] or r["ts"], logon=r["logon"], logon_type=r["logon_type"],
                         from_host=from_host if from_host != (r["logon_host"] or r["host"]) else None,
                         from_ip=from_ip, evidence=[k for k in (r["key"], r["logon"]) if k])
        steps.append(step)
        if step.from_host is None:
            if from_ip and step.logon_type not in (2, 7, 11, None):
                origin_ip = from_ip
            break
        if account and account.split("@")[0].rstrip("$").upper() == step.from_host.split(".")[0].upper() \
                or account == step.from_host:
            # a computer acting as itself: its own host is where it comes from
            steps.append(ChainStep(host=step.from_host, account=account, time=None, timestamp=None))
            break
        ts = step.timestamp or 0
        nxt = _before(tb.events("session_chain", EventFilter(
            on_hosts=[step.from_host], accounts=[account or ""], since=ts - args.lookback_s, until=ts, near=ts,
            keys_only=True)).rows, account or "")
        if nxt is None:
            steps.append(ChainStep(host=step.from_host, account=account, time=None, timestamp=None))
            break
        key = nxt
    origin = steps[-1] if steps else None
    return ChainOutput(event=args.event, found=bool(steps), steps=steps,
                       origin_host=origin.host if origin else None,
                       origin_account=origin.account if origin else None,
                       origin_ip=origin_ip, lineage=lineage)


_CONN_HISTORY = """
MATCH (a:Twin {key: $src})-[c:ConnectedTo]->(b:Twin {key: $dst})
RETURN c.firstseen AS firstseen, c.lastseen AS lastseen, c.count AS count, c.bytes AS bytes, c.ports AS ports
"""


def _tied_host(row: dict) -> str | None:
    return None if HOST_UNRESOLVED in (row.get("marks") or ()) else row["host"]


def _origin(rows: list[dict], key: str) -> dict | None:
    """One event and what its links say about where it came from, from its lineage read
    (the event, the processes it descends from nearest first, their logon sessions): the
    session is the one of the latest of them that ran in one; a logon is its own."""
    kin = [r for r in rows if r["depth"] is not None]
    e = next((r for r in kin if r["key"] == key), None)
    if e is None:
        return None
    sessions = {r["key"]: r for r in rows if r["depth"] is None}
    ran = [x for x in kin if x.get("in_session") in sessions]
    ran.sort(key=lambda x: (x["props"].get("timestamp") is None, x["props"].get("timestamp") or 0), reverse=True)
    logon = e if e["kind"] == "LogonEvent" else sessions[ran[0]["in_session"]] if ran else None
    props, lp = e["props"], (logon["props"] if logon else {})
    return {"key": e["key"], "event_id": props.get("event_id"), "ts": props.get("timestamp"), "host": _tied_host(e),
            "ancestors": [{"key": x["key"], "image": x["props"].get("image"), "ts": x["props"].get("timestamp")}
                          for x in kin if x["key"] != e["key"]],
            "logon": logon["key"] if logon else None, "logon_ts": lp.get("timestamp"), "logon_type": lp.get("logon_type"),
            "logon_ip": lp.get("ip"), "logon_from": logon["from_host"] if logon else None,
            "logon_user": (logon["target_keys"] or [None])[0] if logon else None,
            "logon_host": _tied_host(logon) if logon else None, "event_from": e["from_host"],
            "event_ip": props["ip"] if props.get("ip") is not None else props.get("src_ip"),
            "event_users": list(e["by_keys"] or ())}


def _before(rows: list[dict], user: str) -> str | None:
    """The key of the account's step on a host before a logon: its own logon there, else
    its credentials typed there (4648), else a process it ran; the latest first (the
    graph broke a tie within one second arbitrarily; the store takes the later record)."""
    def rank(r: dict) -> int | None:
        if r["kind"] == "LogonEvent" and user in r["target_keys"]:
            return _LOGON
        if r["props"].get("event_id") == 4648 and user in r["target_keys"]:
            return _EXPLICIT
        if r["kind"] == "ProcessEvent" and user in r["by_keys"]:
            return _PROCESS
        return None

    ranked = [(k, -(r["ts"] or 0), r["key"]) for r in rows if (k := rank(r)) is not None]
    if not ranked:
        return None
    best = min(ranked)[:2]
    # Two steps in the same second: the later record (the higher key) is the latest.
    return max(t for t in ranked if t[:2] == best)[2]


class HistoryInput(ToolInput):
    users: list[str] = Field(default_factory=list, max_length=10, description="Accounts that acted or were targeted.")
    hosts: list[str] = Field(default_factory=list, max_length=10, description="Hosts the events happened on.")
    from_hosts: list[str] = Field(default_factory=list, max_length=10, description="Hosts the events came from.")
    event_ids: list[int] = Field(default_factory=list, max_length=30)
    days: int = Field(default=30, ge=1, le=90, description="How many days before as_of to look at.")
    exclude_s: int = Field(default=6 * 3600, ge=0, le=7 * 86400,
                           description="Seconds before as_of left out (the activity under investigation).")
    connection: list[str] | None = Field(default=None, min_length=2, max_length=2,
                                         description="[src, dst] host keys (or INTERNET): also report that observed flow.")
    as_of: AsOf = as_of_field()


class DayCount(ToolOutput):
    day: str
    events: int
    first: str = Field(description="earliest time of day (UTC) it happened")
    last: str


class HistoryOutput(ToolOutput):
    days_with_activity: int
    total: int
    days: list[DayCount]
    examples: list[str] = Field(default_factory=list, description="one event key per day, earliest days first")
    connection: dict | None = Field(default=None, description="the flow's firstseen/lastseen/count/bytes")
    window: dict[str, str | None]


def _hms(sec: int) -> str:
    sec = int(sec)
    return f"{sec // 3600:02d}:{sec % 3600 // 60:02d}"


@tool
def event_history(tb: Toolbox, args: HistoryInput) -> HistoryOutput:
    """How often the same kind of events (same accounts, hosts, source hosts, EventIDs) happened on earlier days, per day with the time of day: routine activity repeats, a first occurrence does not.

    The window before the activity under investigation is left out (exclude_s)."""
    t = tb.time(args.as_of)
    if t is None:
        raise ToolError("invalid_arguments", "give `as_of`: history is read before a time")
    if not (args.users or args.hosts or args.from_hosts):
        raise ToolError("invalid_arguments", "give users, hosts or from_hosts: history of everything is not a pattern")
    lo, hi = t - args.days * 86400, t - args.exclude_s
    # Counted a day in the event store (graph/events), where a month of events is a scan
    # of the days it covers; `hi` is left out, as the activity under investigation is.
    raw_days = tb.events("event_history", EventFilter(
        on_hosts=list(args.hosts), from_hosts=list(args.from_hosts), accounts=list(args.users),
        event_ids=list(args.event_ids), since=lo, until=hi - 1, keys_only=True), "days").rows
    days = [DayCount(day=iso(d["day"] * 86400)[:10], events=d["n"], first=_hms(d["first_sec"]),
                     last=_hms(d["last_sec"])) for d in raw_days]
    conn = None
    if args.connection:
        got = tb.rows("event_history", _CONN_HISTORY, {"src": args.connection[0], "dst": args.connection[1]})
        if got:
            g = got[0]
            conn = {"firstseen": iso(g["firstseen"]), "lastseen": iso(g["lastseen"]), "count": g["count"],
                    "bytes": g["bytes"], "ports": g["ports"], "firstseen_ts": g["firstseen"]}
    return HistoryOutput(days_with_activity=len(days), total=sum(d.events for d in days), days=days,
                         examples=[d["example"] for d in raw_days[:5]], connection=conn, window={"from": iso(lo), "to": iso(hi)})
