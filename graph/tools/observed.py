"""What actually happened: the attack edges the events around an alert show were used.

attack_paths says what *could* happen; this tool reads the events and says which
edges were walked, in time order, each with the event keys that prove it:

- a logon (4624) of user U on host D: U used a right over D (AdminTo, CanRDP, ...,
  directly or through a group, as the twin records it; else the observed `LoggedOn`),
  and D now holds U's credentials (`D -HasSession-> U`);
- a replication (4662 with the replication GUIDs) by U against a DC of domain X:
  `U -DCSync-> X`, expanded through the group that grants it when the right is held
  via membership; when the twin grants no such right the step is kept with
  `in_twin: false`: replication by an account that may not replicate is the finding;
- a network event or a Zeek connection: `S -ConnectedTo-> D`;
- processes (4688, Sysmon 1), ticket requests (4769), failed logons and alerts are
  steps without an edge: context for the story, not a hop.

Steps are chained into `observed` paths: an edge continues the current path when it
starts where the path ends.

The events are read from the event store (graph/events) through the toolbox's audited,
bounded door, and answer as the graph's Event nodes did (tests/test_tools_observed_store.py);
what the twin knows (rights, flows, alerts, domains) is read from the graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from graph.events import EventFilter
from graph.events.store import HOST_UNRESOLVED
from graph.tools.spec import AsOf, ToolError, ToolInput, ToolOutput, as_of_field, iso, tool

if TYPE_CHECKING:
    from graph.tools.base import Toolbox

# The events themselves come from the event store (graph/events), through the toolbox's
# audited door (`_store_events`); what a host is (its domain) stays the twin's answer.
_HOST_DOMAINS = """
UNWIND $hosts AS k
MATCH (h:Twin {key: k})
RETURN h.key AS key, h.domain AS domain
"""
_CONNECTIONS = """
MATCH (a:Twin) WHERE a.key IN $entities
MATCH (a)-[c:ConnectedTo]-(b)
WHERE c.lastseen >= $lo AND c.firstseen <= $hi
WITH DISTINCT startNode(c) AS s, endNode(c) AS d, c
RETURN s.key AS src, d.key AS dst, c.firstseen AS firstseen, c.lastseen AS lastseen, c.ports AS ports,
       c.count AS count
ORDER BY firstseen, src, dst LIMIT $cap
"""
_ALERTS = """
CALL () {
  MATCH (x:Twin) WHERE x.key IN $entities
  MATCH (a:Alert)-[:Involves]->(x) RETURN a
  UNION
  MATCH (a:Alert) WHERE $all RETURN a
}
WITH DISTINCT a WHERE a.timestamp >= $lo AND a.timestamp <= $hi
RETURN a.key AS key, a.timestamp AS ts, a.title AS title, a.severity AS severity
ORDER BY ts, key LIMIT $cap
"""
_ALERT_INFO = """
MATCH (a:Alert {key: $alert})
RETURN a.timestamp AS ts, COLLECT { MATCH (a)-[:Involves]->(x) RETURN x.key } AS entities
"""
# How a user's logon on a host is allowed, and how a replication right is held:
# directly or through nested groups, the nearest holder first.
_RIGHTS = """
UNWIND $pairs AS pr
MATCH (u:Twin {key: pr[0]}), (d:Twin {key: pr[1]})
CALL (u, d, pr) {
  MATCH p = SHORTEST 1 GROUPS (u)-[:MemberOf]->{0,6}(g)-[r:AdminTo|CanRDP|CanPSRemote|ExecuteDCOM|SQLAdmin]->(d)
  WHERE pr[2] = 'logon'
  RETURN [n IN nodes(p) | n.key] AS nodes, [q IN relationships(p) | type(q)] AS edges
  UNION
  MATCH p = SHORTEST 1 GROUPS (u)-[:MemberOf]->{0,6}(g)-[r:DCSync|AllExtendedRights|GenericAll]->(d)
  WHERE pr[2] = 'replication'
  RETURN [n IN nodes(p) | n.key] AS nodes, [q IN relationships(p) | type(q)] AS edges
}
RETURN pr, nodes, edges
"""
_EXISTING = """
UNWIND $triples AS t
MATCH (a:Twin {key: t[0]})-[r]->(b:Twin {key: t[2]})
WHERE type(r) = t[1]
RETURN DISTINCT t
"""
_DOMAINS = "MATCH (d:Domain) RETURN d.key AS key ORDER BY key"


class ObservedInput(ToolInput):
    alert: str | None = Field(default=None, description="Alert key: its time and involved entities are the defaults.")
    entities: list[str] | None = Field(default=None, max_length=50, description=(
        "Keys whose events to read (default: the alert's involved entities; none: every event in the window)."))
    as_of: AsOf = as_of_field()
    before_s: int | None = Field(default=None, ge=0, le=30 * 86400, description="Seconds before as_of (default one day).")
    after_s: int = Field(default=3600, ge=0, le=7 * 86400, description="Seconds after as_of.")
    max_steps: int = Field(default=50, ge=1, le=500)


class ObservedEdge(ToolOutput):
    edge: list[str] = Field(description="[src, TYPE, dst]")
    in_twin: bool = Field(description="the twin holds this edge (else it was only observed)")


class Step(ToolOutput):
    time: str | None
    timestamp: int | None
    kind: Literal["logon", "logon_failure", "replication", "process", "ticket", "connection", "alert", "event"]
    summary: str
    evidence: list[str] = Field(description="event / alert keys")
    edges: list[ObservedEdge]


class ObservedPath(ToolOutput):
    nodes: list[str]
    edges: list[str]
    kind: Literal["observed"] = "observed"
    evidence_edges: list[list[str]]
    first_time: str | None


class ObservedOutput(ToolOutput):
    steps: list[Step]
    paths: list[ObservedPath] = Field(description="steps chained into paths, longest first")
    window: dict[str, str | None]
    entities: list[str]
    truncated: bool


def _kind(label: str | None, event_id: object) -> str:
    return {
        "LogonEvent": "logon", "LogonFailureEvent": "logon_failure", "ReplicationEvent": "replication",
        "ProcessEvent": "process", "TicketEvent": "ticket", "NetworkEvent": "connection",
    }.get(label or "", "event")


# Reads the events of `entities` (any, when empty) between `lo` and `hi`, the first `cap`
# by (time, key), as rows of the fields below: one row per acting x targeted account.
EventsReader = Callable[["Toolbox", list[str], int, int, int], list[dict]]
FIELDS = ("key", "kind", "event_id", "ts", "logon_type", "image", "command_line", "host", "host_domain", "user",
          "target_user", "from_host")


def _store_events(tb: Toolbox, entities: list[str], lo: int, hi: int, cap: int) -> list[dict]:
    """The events from the store, as the graph's links gave them: tied by key to an entity
    (where it happened, came from, who acted or was targeted), an untied host no host;
    an event with two accounts on one side is a row for each, as the graph's matches were."""
    rows = tb.events("observed_path", EventFilter(linked=entities, since=lo, until=hi, limit=cap,
                                                  keys_only=True)).rows
    hosts = sorted({h for r in rows if r["kind"] == "ReplicationEvent" and (h := _tied_host(r))})
    domain = {d["key"]: d["domain"] for d in tb.rows("observed_path", _HOST_DOMAINS, {"hosts": hosts})} if hosts else {}
    out = []
    for r in rows:
        props, host = r["props"], _tied_host(r)
        for user in sorted(r["by_keys"] or ()) or [None]:
            for target in sorted(r["target_keys"] or ()) or [None]:
                out.append({"key": r["key"], "kind": r["kind"] if r["kind"] != "Event" else None,
                            "event_id": props.get("event_id"), "ts": props.get("timestamp"),
                            "logon_type": props.get("logon_type"), "image": props.get("image"),
                            "command_line": props.get("command_line"), "host": host, "host_domain": domain.get(host),
                            "user": user, "target_user": target, "from_host": r["from_host"]})
    return out


def _tied_host(row: dict) -> str | None:
    return None if HOST_UNRESOLVED in (row.get("marks") or ()) else row["host"]


@tool
def observed_path(tb: Toolbox, args: ObservedInput) -> ObservedOutput:
    """Which attack edges the events around an alert show were actually used, in time order: logons (-> rights used and HasSession), replication (-> DCSync), connections (-> ConnectedTo), processes and tickets, each step with the event keys that prove it, chained into `observed` paths."""
    return observed(tb, args, _store_events)


def observed(tb: Toolbox, args: ObservedInput, read: EventsReader) -> ObservedOutput:
    """observed_path with its events from `read` (the store; a benchmark's baseline, the graph)."""
    t = tb.time(args.as_of)
    entities = list(args.entities or [])
    if args.alert:
        info = tb.rows("observed_path", _ALERT_INFO, {"alert": args.alert})
        if not info:
            raise ToolError("not_found", f"no alert with key {args.alert!r} in the twin")
        if t is None or args.as_of is None:
            t = info[0]["ts"] if info[0]["ts"] is not None else t
        if args.entities is None:
            entities = list(info[0]["entities"])
    if t is None:
        raise ToolError("invalid_arguments", "give `as_of` or an `alert` with a timestamp: events are read around a time")
    before = args.before_s if args.before_s is not None else tb.limits.event_window_s
    lo, hi = t - before, t + args.after_s
    base = {"lo": lo, "hi": hi, "entities": entities, "all": not entities, "cap": args.max_steps + 1}
    events = read(tb, entities, lo, hi, args.max_steps + 1)
    conns = tb.rows("observed_path", _CONNECTIONS, base) if entities else []
    alerts = tb.rows("observed_path", _ALERTS, base)
    truncated = len(events) > args.max_steps
    events = events[: args.max_steps]

    domains = getattr(tb, "_domain_keys", None)
    if domains is None:
        domains = [r["key"] for r in tb.rows("observed_path", _DOMAINS)]
        tb._domain_keys = domains  # type: ignore[attr-defined]
    pairs: list[list[str]] = []
    for e in events:
        k = _kind(e["kind"], e["event_id"])
        user = e["target_user"] or e["user"] if k == "logon" else e["user"] or e["target_user"]
        if k == "logon" and user and e["host"]:
            pairs.append([user, e["host"], "logon"])
        if k == "replication" and user:
            dom = _domain_of(e, domains)
            if dom:
                pairs.append([user, dom, "replication"])
    rights: dict[tuple, tuple[list[str], list[str]]] = {}
    if pairs:
        for r in tb.rows("observed_path", _RIGHTS, {"pairs": pairs}):
            key = tuple(r["pr"])
            if key not in rights or _right_rank(r["edges"]) < _right_rank(rights[key][1]):
                rights[key] = (r["nodes"], r["edges"])

    raw_steps: list[tuple[int, str, dict]] = []
    for e in events:
        k = _kind(e["kind"], e["event_id"])
        edges: list[list[str]] = []
        host, src = e["host"], e["from_host"]
        if k == "logon":
            user = e["target_user"] or e["user"]
            summary = f"{user or '?'} logged on to {host or '?'}" + (f" from {src}" if src else "") + (
                f" (type {e['logon_type']})" if e["logon_type"] is not None else "")
            if user and host:
                got = rights.get((user, host, "logon"))
                edges += _expand(got) if got else [[user, "LoggedOn", host]]
                edges.append([host, "HasSession", user])
        elif k == "replication":
            user = e["user"] or e["target_user"]
            dom = _domain_of(e, domains)
            summary = f"{user or '?'} replicated directory data from {host or '?'}" + (f" ({dom})" if dom else "")
            if user and dom:
                got = rights.get((user, dom, "replication"))
                edges += _expand(got) if got else [[user, "DCSync", dom]]
        elif k == "connection":
            summary = f"network connection {src or '?'} -> {host or '?'}"
            if src and host and src != host:
                edges.append([src, "ConnectedTo", host])
        elif k == "process":
            summary = f"{e['user'] or '?'} ran {e['image'] or '?'} on {host or '?'}" + (
                f": {e['command_line']}" if e["command_line"] else "")
        elif k == "ticket":
            summary = f"{e['user'] or e['target_user'] or '?'} requested a Kerberos service ticket on {host or '?'}"
        elif k == "logon_failure":
            summary = f"failed logon of {e['target_user'] or e['user'] or '?'} on {host or '?'}"
        else:
            summary = f"event {e['event_id']} on {host or '?'}"
        raw_steps.append((e["ts"], k, {"summary": summary, "evidence": [e["key"]], "edges": edges}))
    for c in conns:
        ports = ", ".join(str(p) for p in (c["ports"] or []))
        raw_steps.append((max(c["firstseen"], lo), "connection", {
            "summary": f"{c['src']} connected to {c['dst']}" + (f" on {ports}" if ports else "") + (
                f" ({c['count']} connections)" if c["count"] else ""),
            "evidence": [], "edges": [[c["src"], "ConnectedTo", c["dst"]]],
        }))
    for a in alerts:
        raw_steps.append((a["ts"], "alert", {"summary": f"alert {a['title'] or a['key']} ({a['severity'] or '?'})",
                                             "evidence": [a["key"]], "edges": []}))
    raw_steps.sort(key=lambda s: (s[0] if s[0] is not None else 0, s[1], s[2]["summary"]))

    triples = sorted({tuple(edge) for _, _, s in raw_steps for edge in s["edges"]})
    existing = {tuple(r["t"]) for r in tb.rows("observed_path", _EXISTING, {"triples": [list(x) for x in triples]})} if triples else set()
    steps = [
        Step(time=iso(ts), timestamp=ts, kind=kind, summary=s["summary"], evidence=s["evidence"],
             edges=[ObservedEdge(edge=edge, in_twin=tuple(edge) in existing) for edge in s["edges"]])
        for ts, kind, s in raw_steps
    ]
    return ObservedOutput(steps=steps, paths=_chain(steps), window={"from": iso(lo), "to": iso(hi)},
                          entities=entities, truncated=truncated)


def _domain_of(event: dict, domains: list[str]) -> str | None:
    dom = event.get("host_domain")
    if dom and str(dom).upper() in domains:
        return str(dom).upper()
    host = event.get("host") or ""
    for d in sorted(domains, key=len, reverse=True):
        if host.upper().endswith("." + d):
            return d
    return domains[0] if len(domains) == 1 else None


_PREFERRED = ["DCSync", "AdminTo", "CanPSRemote", "CanRDP", "ExecuteDCOM", "SQLAdmin", "AllExtendedRights", "GenericAll"]


def _right_rank(edges: list[str]) -> tuple:
    """Nearest holder first; among equals the right that names the act (DCSync over
    GenericAll, AdminTo over CanRDP), then by name for a stable answer."""
    last = edges[-1] if edges else ""
    return (len(edges), _PREFERRED.index(last) if last in _PREFERRED else len(_PREFERRED), edges)


def _expand(got: tuple[list[str], list[str]]) -> list[list[str]]:
    nodes, edges = got
    return [[nodes[i], edges[i], nodes[i + 1]] for i in range(len(edges))]


def _chain(steps: list[Step]) -> list[ObservedPath]:
    """Greedy, in time order: an edge extends a path that ends at its source; otherwise
    it starts a new one. An edge already in the path is not repeated."""
    paths: list[dict] = []
    for step in steps:
        for oe in step.edges:
            a, rel, b = oe.edge
            target = next((p for p in reversed(paths) if p["nodes"][-1] == a), None)
            if target is not None and (a, rel, b) in target["seen"]:
                continue
            if target is None:
                target = {"nodes": [a], "edges": [], "evidence": [], "seen": set(), "first": step.time}
                paths.append(target)
            target["nodes"].append(b)
            target["edges"].append(rel)
            target["evidence"].append([a, rel, b])
            target["seen"].add((a, rel, b))
    out = [ObservedPath(nodes=p["nodes"], edges=p["edges"], evidence_edges=p["evidence"], first_time=p["first"])
           for p in paths]
    out.sort(key=lambda p: (-len(p.edges), p.first_time or "", p.nodes))
    return out
