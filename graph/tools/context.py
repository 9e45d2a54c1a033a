"""Everything an analyst checks first about one entity, in one round trip.

One query with a subquery per facet, each capped, so the answer costs one plan and
one network trip however many facets it has (the context tools' budget is 100 ms at
p95). Time-bound facets (sessions, leases, events, alerts) are read at `as_of`. The
events come from the event store (graph/events), two bounded reads through the
toolbox's audited door, tied to the entity as the graph's per-event links were
(tests/test_tools_context_store.py holds them to that Cypher).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import Field

from graph.events import EventFilter
from graph.tools.spec import AsOf, ToolError, ToolInput, ToolOutput, as_of_field, iso, tool
from graph.tools.vocab import RIGHT_EDGES, rel_alternation

if TYPE_CHECKING:
    from graph.tools.base import Toolbox

_RIGHTS = rel_alternation(RIGHT_EDGES)
_HIDDEN_PROPS = {"fields", "raw", "sources", "aliases", "key"}

_QUERY = f"""
MATCH (n:Twin {{key: $key}})
CALL (n) {{
  OPTIONAL MATCH (n)-[:InZone]->(z:Zone)
  RETURN collect(DISTINCT z.key) AS zones,
         EXISTS {{ (:Internet)-[:CanExploit|ConnectedTo]->(n) }}
         OR EXISTS {{ (:Internet)-[:CanReach]->(:Zone)<-[:InZone]-(n) }} AS internet_exposed
}}
CALL (n) {{
  MATCH p = SHORTEST 1 (n)-[:MemberOf]->{{1,10}}(g:Group)
  WITH g, length(p) AS d ORDER BY d, g.key
  RETURN collect(g) AS groups,
         collect({{key: g.key, depth: d, tier0: coalesce(g.tier0, false)}}) AS member_of
}}
CALL (n, groups) {{
  UNWIND [n] + groups AS holder
  MATCH (holder)-[r:{_RIGHTS}]->(t)
  WITH r, t, CASE WHEN holder = n THEN null ELSE holder.key END AS via
  ORDER BY coalesce(t.tier0, false) DESC, coalesce(t.crown_jewel, false) DESC, t.key, type(r)
  RETURN count(*) AS rights_held_total,
         collect({{edge: type(r), target: t.key, target_labels: labels(t), via: via,
                   target_tier0: coalesce(t.tier0, false)}})[..$cap] AS rights_held
}}
CALL (n) {{
  MATCH (h)-[r:{_RIGHTS}]->(n)
  WITH h, r ORDER BY h.key, type(r)
  RETURN count(*) AS rights_over_total,
         collect({{edge: type(r), principal: h.key, principal_labels: labels(h),
                   direct_members: CASE WHEN h:Group THEN COUNT {{ ()-[:MemberOf]->(h) }} ELSE null END}})[..$cap]
         AS rights_over
}}
CALL (n) {{
  CALL (n) {{
    MATCH (n)-[s:HasSession]->(b) RETURN n AS a, s, b
    UNION
    MATCH (a)-[s:HasSession]->(n) RETURN a, s, n AS b
  }}
  WITH a, b, s WHERE $lo IS NULL OR (s.firstseen <= $hi AND s.lastseen >= $lo)
  WITH a, b, s ORDER BY s.lastseen DESC, a.key, b.key
  RETURN count(*) AS sessions_total,
         collect({{host: a.key, user: b.key, firstseen: s.firstseen, lastseen: s.lastseen}})[..$cap] AS sessions
}}
CALL (n) {{
  MATCH (n)-[l:HasIP]-(o)
  WITH o, l, ($t IS NOT NULL AND l.firstseen <= $t AND l.lastseen >= $t) AS live
  ORDER BY live DESC, l.lastseen DESC
  RETURN collect({{other: o.key, firstseen: l.firstseen, lastseen: l.lastseen, at_as_of: live}})[..$cap] AS leases
}}
CALL (n) {{
  MATCH (x)-[:HostedOn]-(n)
  WITH x ORDER BY coalesce(x.crown_jewel, false) DESC, x.key
  RETURN collect({{key: x.key, labels: labels(x), crown_jewel: coalesce(x.crown_jewel, false),
                   criticality: x.criticality}})[..$cap] AS hosted
}}
CALL (n) {{
  MATCH (n)-[:HasService]->(s:Service)
  OPTIONAL MATCH (src)-[ce:CanExploit]->(n) WHERE ce.service = s.key
  WITH s, collect(DISTINCT src.key) AS exploitable_from ORDER BY s.port
  RETURN collect({{key: s.key, port: s.port, protocol: s.protocol, product: s.product, version: s.version,
                   exploitable_from: exploitable_from}})[..$cap] AS services
}}
CALL (n) {{
  CALL (n) {{
    MATCH (n)-[:HasInstalled|DependsOn]->{{1,4}}(p:Package) RETURN p
    UNION
    MATCH (a:Application)-[:HostedOn]->(n)
    MATCH (a)-[:HasInstalled|DependsOn]->{{0,4}}(p:Package) RETURN p
  }}
  WITH DISTINCT p
  OPTIONAL MATCH (p)-[hv:HasVulnerability]->(v:Vulnerability)
  WITH p, hv, v
  ORDER BY coalesce(v.is_kev, false) DESC, coalesce(v.epss_score, 0.0) DESC, coalesce(v.base_score, 0.0) DESC, v.key
  WITH count(DISTINCT p) AS packages_total, collect(CASE WHEN v IS NULL THEN null ELSE
       {{cve: v.key, package: p.key, is_kev: coalesce(v.is_kev, false), epss_score: v.epss_score,
         base_score: v.base_score, attack_vector: v.attack_vector, fixed_version: hv.fixed_version}} END) AS vs
  RETURN packages_total, size(vs) AS vulnerabilities_total,
         size([x IN vs WHERE x.is_kev]) AS kev_total, vs[..$cap] AS vulnerabilities
}}
CALL (n) {{
  MATCH (a:Alert)-[i:Involves]->(n)
  WHERE $elo IS NULL OR (a.timestamp >= $elo AND a.timestamp <= $ehi)
  WITH a, i ORDER BY a.timestamp DESC, a.key
  RETURN count(*) AS alerts_total,
         collect({{key: a.key, title: a.title, severity: a.severity, time: a.time, role: i.role}})[..$few] AS alerts
}}
RETURN n.key AS key, labels(n) AS labels, properties(n) AS props, zones, internet_exposed,
       member_of[..$cap] AS member_of, size(member_of) AS member_of_total,
       rights_held, rights_held_total, rights_over, rights_over_total, sessions, sessions_total, leases,
       hosted, services, packages_total, vulnerabilities_total, kev_total, vulnerabilities,
       alerts_total, alerts
"""


class ContextInput(ToolInput):
    key: str = Field(min_length=1, max_length=500, description="A twin key, as resolve_entities returns it.")
    as_of: AsOf = as_of_field()
    window_s: int | None = Field(default=None, ge=60, le=30 * 86400, description=(
        "Events and alerts within this many seconds either side of as_of (default one day)."))
    max_items: int = Field(default=15, ge=1, le=50, description="Longest list per facet.")


class ContextOutput(ToolOutput):
    key: str
    found: bool
    labels: list[str] = []
    core: dict[str, Any] = Field(default_factory=dict, description=(
        "criticality, crown_jewel, tier0, enabled, owner, zones, internet_exposed"))
    properties: dict[str, Any] = Field(default_factory=dict)
    member_of: list[dict] = Field(default_factory=list, description="transitive groups with depth (1 = direct)")
    member_of_total: int = 0
    rights_held: list[dict] = Field(default_factory=list, description="control edges it holds, directly (via null) or via a group")
    rights_held_total: int = 0
    rights_over: list[dict] = Field(default_factory=list, description="principals holding control edges over it")
    rights_over_total: int = 0
    sessions: list[dict] = Field(default_factory=list, description="HasSession host->user live around as_of")
    sessions_total: int = 0
    leases: list[dict] = Field(default_factory=list)
    hosted: list[dict] = Field(default_factory=list, description="data assets/apps on this host, or this asset's host")
    services: list[dict] = Field(default_factory=list)
    packages_total: int = 0
    vulnerabilities: list[dict] = Field(default_factory=list, description="KEV first, then EPSS, then CVSS")
    vulnerabilities_total: int = 0
    kev_total: int = 0
    events_total: int = 0
    event_counts: list[dict] = Field(default_factory=list)
    recent_events: list[dict] = Field(default_factory=list)
    alerts_total: int = 0
    alerts: list[dict] = Field(default_factory=list)
    as_of: str | None = None
    window: dict[str, str | None] = Field(default_factory=dict)


def _events_of(tb: Toolbox, key: str, params: dict) -> dict:
    """The entity's events around `as_of` from the event store (two audited reads: the
    counts per event id, then the newest few), tied to it as the graph's links are: where
    it happened, came from (host or address), who acted or was targeted."""
    flt = EventFilter(linked=[key], linked_ip=True, keys_only=True, since=params["elo"], until=params["ehi"])
    counts = tb.events("entity_context", flt, "counts").rows
    recent = tb.events("entity_context", replace(flt, newest=True, limit=params["few"])).rows
    return {"events_total": sum(c["n"] for c in counts),
            "event_counts": [{"event_id": c["event_id"], "count": c["n"]} for c in counts[: params["cap"]]],
            # the fields in the order Neo4j returned this map when the graph answered: a
            # recorded model request holding it replays byte for byte
            "recent_events": [{"event_id": e["event_id"], "kind": e["kind"] if e["kind"] != "Event" else None,
                               "time": e["props"].get("time"), "key": e["key"], "timestamp": e["ts"]}
                              for e in recent]}


@tool
def entity_context(tb: Toolbox, args: ContextInput) -> ContextOutput:
    """Everything about one entity at `as_of`: labels and core properties (criticality, crown jewel, tier 0, enabled, owner, zone, internet exposure), transitive groups, rights it holds and who holds rights over it, sessions, IP leases, hosted assets, services, vulnerable software (KEV, EPSS, CVSS), and events and alerts around `as_of`.

    Use it after resolve_entities, on the keys it returned."""
    t = tb.time(args.as_of)
    lo, hi = tb.window(args.as_of)
    w = args.window_s or tb.limits.event_window_s
    params = {
        "key": args.key, "cap": args.max_items, "few": min(args.max_items, 10), "t": t, "lo": lo, "hi": hi,
        "elo": None if t is None else t - w, "ehi": None if t is None else t + w,
    }
    rows = tb.rows("entity_context", _QUERY, params)
    if not rows:
        return ContextOutput(key=args.key, found=False, as_of=iso(t))
    r = rows[0]
    props = {k: v for k, v in sorted(r["props"].items()) if k not in _HIDDEN_PROPS}
    core = {
        "criticality": props.get("criticality"),
        "crown_jewel": bool(props.get("crown_jewel", False)),
        "tier0": bool(props.get("tier0", False) or props.get("highvalue", False)),
        "enabled": props.get("enabled"),
        "owner": props.get("owner"),
        "zones": sorted(r["zones"]),
        "internet_exposed": bool(r["internet_exposed"]),
    }
    out = {k: r[k] for k in ContextOutput.model_fields if k in r and k not in {"key", "labels", "props"}}
    out.update(_events_of(tb, r["key"], params))
    if out.get("vulnerabilities") is None:
        raise ToolError("internal", "entity_context returned no vulnerability facet")
    return ContextOutput(
        key=r["key"], found=True, labels=sorted(r["labels"]), core=core, properties=props, as_of=iso(t),
        window={"events_from": iso(params["elo"]), "events_to": iso(params["ehi"]),
                "sessions_from": iso(lo), "sessions_to": iso(hi)},
        **out,
    )
