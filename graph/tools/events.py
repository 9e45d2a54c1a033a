"""find_events: the live layer around an alert, filtered the way an analyst pivots.

The context tool gives counts and the latest few; deciding whether an alert's claim
happened needs the events themselves: which account replicated on which DC, which
ticket was RC4, which logon came from which host, and when. They are read from the
event store (graph/events), where every event lives under the graph's keys with its
links, marks and chains, through the toolbox's audited door (graph/tools/store_door.py):
the answer is the one the graph's Event nodes gave (tests/test_tools_events_store.py).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from graph.events import EventFilter
from graph.events.store import HOST_UNRESOLVED
from graph.timestamps import parse_time
from graph.tools.spec import AsOf, ToolError, ToolInput, ToolOutput, as_of_field, iso, tool

if TYPE_CHECKING:
    from graph.tools.base import Toolbox

EventKind = Literal["LogonEvent", "LogonFailureEvent", "ReplicationEvent", "DirectoryAccessEvent",
                    "ProcessEvent", "TicketEvent", "NetworkEvent", "Event"]


class FindEventsInput(ToolInput):
    hosts: list[str] = Field(default_factory=list, max_length=20,
                             description="Host keys the events happened on (OnHost) or came from (FromHost).")
    users: list[str] = Field(default_factory=list, max_length=20,
                             description="User or computer keys that acted (ByUser) or were targeted (TargetsUser).")
    event_ids: list[int] = Field(default_factory=list, max_length=30, description="Windows EventIDs, e.g. 4624, 4662, 4769.")
    kinds: list[EventKind] = Field(default_factory=list, description="Event subtypes to keep.")
    ips: list[str] = Field(default_factory=list, max_length=20,
                           description="Source/remote IP addresses the events name (IpAddress, SourceIp).")
    window_s: int = Field(default=3600, ge=1, le=30 * 86400,
                          description="Seconds before and after as_of to search.")
    before_s: int | None = Field(default=None, ge=0, le=60 * 86400,
                                 description="Seconds before as_of (overrides window_s on that side).")
    after_s: int | None = Field(default=None, ge=0, le=30 * 86400,
                                description="Seconds after as_of (overrides window_s on that side).")
    as_of: AsOf = as_of_field()
    include_raw: bool = Field(default=False, description="Also return every raw field of each event (longer answers).")
    limit: int = Field(default=50, ge=1, le=500)


class EventSummary(ToolOutput):
    key: str
    kinds: list[str]
    event_id: int | None = None
    time: str | None = None
    timestamp: int | None = None
    host: str | None = None
    by: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    from_host: str | None = None
    ip: str | None = None
    logon_type: int | None = None
    image: str | None = None
    parent_image: str | None = None
    command_line: str | None = None
    ticket_encryption: str | None = None
    pre_auth_type: int | None = None
    service_name: str | None = None
    object_name: str | None = None
    share_name: str | None = None
    properties: str | None = None
    subject_user: str | None = None
    target_user: str | None = None
    channel: str | None = None
    provider: str | None = None
    logon_id: str | None = None
    subject_logon_id: str | None = None
    target_logon_id: str | None = None
    process_id: int | None = None
    process_guid: str | None = None
    parent_process_guid: str | None = None
    src_ip: str | None = None
    src_port: int | None = None
    dst_ip: str | None = None
    dst_port: int | None = None
    access_mask: str | None = None
    granted_access: str | None = None
    target_image: str | None = None
    target_filename: str | None = None
    target_object: str | None = None
    status: str | None = None
    workstation: str | None = None
    auth_package: str | None = None
    in_session: str | None = Field(default=None, description="key of the logon (4624) that opened this event's session")
    parent: str | None = Field(default=None, description="key of the parent process event")
    raw: dict | None = Field(default=None, description="every raw field (include_raw)")


class FindEventsOutput(ToolOutput):
    since: str | None
    until: str | None
    total: int
    events: list[EventSummary]


# The fields an event's summary takes from its stored properties, by the same name.
_PROPS = ("logon_type", "image", "parent_image", "command_line", "ticket_encryption", "pre_auth_type",
          "service_name", "object_name", "share_name", "properties", "subject_user", "target_user", "channel",
          "provider", "logon_id", "subject_logon_id", "target_logon_id", "process_id", "process_guid",
          "parent_process_guid", "src_ip", "src_port", "dst_ip", "dst_port", "access_mask", "granted_access",
          "target_image", "target_filename", "target_object", "status", "workstation", "auth_package")


@tool
def find_events(tb: Toolbox, args: FindEventsInput) -> FindEventsOutput:
    """Events (Windows, Sysmon) around a time, filtered by host, user, EventID or kind: who did what where and when.

    Use it to check whether what an alert claims actually happened: a 4662 replication
    by the account on a domain controller, RC4 service tickets, logons from a host.
    """
    t = parse_time(args.as_of) if args.as_of is not None else tb.as_of
    lo = hi = None
    if t is not None:
        lo = t - (args.before_s if args.before_s is not None else args.window_s)
        hi = t + (args.after_s if args.after_s is not None else args.window_s)
    # The event store holds every event under the graph's keys and links (graph/events):
    # a filtered scan of a day of events is its job, not a graph walk's.
    flt = EventFilter(hosts=list(args.hosts), accounts=list(args.users), ips=list(args.ips),
                      event_ids=list(args.event_ids), kinds=list(args.kinds), since=lo, until=hi,
                      limit=args.limit, near=t, keys_only=True)
    rows = [summary_row(r, args.include_raw) for r in tb.events("find_events", flt).rows]
    return events_answer(rows, lo, hi)


def summary_row(row: dict, raw: bool = False) -> dict:
    """A store row as the summary's fields: what the graph's node and links would say (an
    untied host is no host; the kinds are the node's labels: Event, its kind, its marks)."""
    props = row["props"]
    marks = list(row.get("marks") or ())
    out = {"key": row["key"], "kinds": ["Event", *([row["kind"]] if row["kind"] != "Event" else []), *marks],
           "event_id": props.get("event_id"), "timestamp": props.get("timestamp"),
           "host": None if HOST_UNRESOLVED in marks else row["host"],
           "by": list(row["by_keys"] or ()), "targets": list(row["target_keys"] or ()),
           "from_host": row["from_host"],
           "ip": props["ip"] if props.get("ip") is not None else props.get("src_ip"),
           **{k: props.get(k) for k in _PROPS},
           "in_session": row.get("in_session"), "parent": row.get("parent"),
           "raw": row["raw"] if raw else None}
    return out


def events_answer(rows: list[dict], lo: int | None, hi: int | None) -> FindEventsOutput:
    """The tool's answer from rows in its field names: the nearest `limit`, told in time order."""
    events = [EventSummary(**{k: _field(k, v) for k, v in r.items() if v is not None}) for r in rows]
    events.sort(key=lambda e: (e.timestamp or 0, e.key))
    for e in events:
        e.time = iso(e.timestamp)
    return FindEventsOutput(since=iso(lo), until=iso(hi), total=len(events), events=events)


_INT_FIELDS = {"event_id", "timestamp", "logon_type", "pre_auth_type", "process_id", "src_port", "dst_port"}


def _field(name: str, value: object) -> object:
    """Stored values as the summary types them: the raw line parsed back to a dict,
    numbers kept as numbers and everything else as text (exporters disagree on types)."""
    if name == "raw":
        try:
            out = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            return None
        return out if isinstance(out, dict) else None
    if name in _INT_FIELDS:
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if isinstance(value, list) and name not in {"kinds", "by", "targets"}:
        return ", ".join(str(v) for v in value)
    if name not in {"kinds", "by", "targets"} and not isinstance(value, str):
        return str(value)
    return value


class FindConnectionsInput(ToolInput):
    src: str | None = Field(default=None, description="Host key (or INTERNET) the connections came from.")
    dst: str | None = Field(default=None, description="Host key (or INTERNET) they went to.")
    port: str | None = Field(default=None, description="Port as N/proto, e.g. 445/tcp.")
    window_s: int = Field(default=86400, ge=1, le=30 * 86400,
                          description="Only connections whose seen window overlaps as_of +/- this many seconds.")
    as_of: AsOf = as_of_field()
    limit: int = Field(default=50, ge=1, le=500)


class ConnectionSummary(ToolOutput):
    src: str
    dst: str
    ports: list[str] = Field(default_factory=list)
    count: int | None = None
    bytes: int | None = None
    bytes_out: int | None = Field(default=None, description="what the source sent (an upload), when known")
    firstseen: str | None = None
    lastseen: str | None = None


class FindConnectionsOutput(ToolOutput):
    total: int
    connections: list[ConnectionSummary]


_QC = """
MATCH (a:Twin)-[c:ConnectedTo]->(b:Twin)
WHERE ($src IS NULL OR a.key = $src) AND ($dst IS NULL OR b.key = $dst)
  AND ($port IS NULL OR $port IN coalesce(c.ports, []))
  AND ($lo IS NULL OR c.lastseen >= $lo) AND ($hi IS NULL OR c.firstseen <= $hi)
RETURN a.key AS src, b.key AS dst, c.ports AS ports, c.count AS count, c.bytes AS bytes,
       c.bytes_out AS bytes_out, c.firstseen AS firstseen, c.lastseen AS lastseen
ORDER BY coalesce(c.bytes, 0) DESC, src, dst
LIMIT $limit
"""


@tool
def find_connections(tb: Toolbox, args: FindConnectionsInput) -> FindConnectionsOutput:
    """Observed network connections (Zeek, aggregated per host pair) around a time, by source, destination and port.

    Every real connection has its Zeek record, so no connection here means none was seen.
    """
    if args.src is None and args.dst is None:
        raise ToolError("invalid_arguments", "give src, dst or both")
    t = parse_time(args.as_of) if args.as_of is not None else tb.as_of
    lo = hi = None
    if t is not None:
        lo, hi = t - args.window_s, t + args.window_s
    port = args.port.lower() if args.port else None
    rows = tb.rows("find_connections", _QC, {"src": args.src, "dst": args.dst, "port": port,
                                              "lo": lo, "hi": hi, "limit": args.limit})
    conns = [ConnectionSummary(src=r["src"], dst=r["dst"], ports=list(r["ports"] or []), count=r["count"],
                               bytes=r["bytes"], bytes_out=r["bytes_out"], firstseen=iso(r["firstseen"]),
                               lastseen=iso(r["lastseen"]))
             for r in rows]
    return FindConnectionsOutput(total=len(conns), connections=conns)
