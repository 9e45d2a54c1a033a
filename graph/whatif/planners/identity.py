"""Identity planners: `disable USER`, `remove-member MEMBER GROUP`, `remove-edge SRC TYPE
DST` (graph/MODEL.md, "What-if"). They take edges and entry points away; what a member
loses is read again after the change, since rights come through nested groups."""

from __future__ import annotations

import re

from graph.tools.vocab import REL_TYPES, RIGHT_EDGES, TRAVERSABLE, rel_type
from graph.whatif.errors import WhatIfInputError
from graph.whatif.planners.base import EDGE_ROW, Sim, zone_hosts


def _rights_of(sim: Sim, member: str) -> set[tuple[str, str]]:
    """(right, object) a principal holds directly or through its groups."""
    # One row per right, its objects as one list: a help-desk group's ForceChangePassword
    # on every user of a 24k-host twin is 60k pairs, and a row per pair took 2.3 s to read
    # (twice per simulated membership change).
    rows = sim.run(
        "MATCH (m:Twin {key: $m}) MATCH (m)-[:MemberOf]->{0,10}(g) MATCH (g)-[r]->(o) WHERE type(r) IN $rights "
        "RETURN type(r) AS t, collect(DISTINCT o.key) AS os", m=member, rights=list(RIGHT_EDGES))
    return {(r["t"], o) for r in rows for o in r["os"]}


def _members_count(sim: Sim, group: str) -> int:
    rows = sim.run("MATCH (g:Twin {key: $g})<-[:MemberOf]-{1,10}(m) WHERE NOT m:Group "
                   "RETURN count(DISTINCT m) AS c", g=group)
    return rows[0]["c"] if rows else 0


def plan_disable(sim: Sim) -> None:
    """The account is no entry point any more and loses its outgoing edges and sessions;
    services that run as it (its SPNs) break."""
    user = sim.node(sim.action.args[0], ("User",), "USER")
    key = user["key"]
    sim.action = sim.action.model_copy(update={"args": (key,)})
    out = sim.edges(f"MATCH (u:Twin {{key: $u}})-[r]->(o) WHERE type(r) IN $trav RETURN {EDGE_ROW}",
                    u=key, trav=list(TRAVERSABLE))
    sessions = sim.edges(f"MATCH (c)-[r:HasSession]->(u:Twin {{key: $u}}) RETURN {EDGE_ROW}", u=key)
    sim.delete(out)
    sim.delete(sessions)
    sim.set_props(key, {"enabled": False})
    if user["props"].get("enabled") is False:
        sim.notes.append(f"{key} is already disabled in the twin")
    for r in sorted(out, key=lambda r: (r["type"], r["dst"])):
        if r["type"] == "MemberOf":
            sim.brk(r["dst"], f"{key} can no longer use its membership", "access_lost")
        else:
            sim.brk(r["dst"], f"{key} loses {r['type']} on it", "access_lost")
    for r in sorted(sessions, key=lambda r: r["src"]):
        sim.brk(r["src"], f"{key}'s session on it ends", "session")
    spns = user["props"].get("serviceprincipalnames") or []
    for spn in spns if isinstance(spns, list) else [spns]:
        m = re.match(r"^[^/]+/([^:/]+)(?::(\d+))?", str(spn))
        if not m:
            continue
        hostname = m.group(1).upper()
        hosts = sim.run("MATCH (h:Computer) WHERE h.key = $n OR h.shortname = $n RETURN h.key AS k LIMIT 1",
                        n=hostname)
        if not hosts:
            continue
        hk = hosts[0]["k"]
        svc = f"{hk}:{m.group(2)}/TCP" if m.group(2) else None
        target = svc if svc and sim.run("MATCH (s:Twin {key: $k}) RETURN s.key AS k", k=svc) else hk
        sim.brk(target, f"runs as {key} (SPN {spn}), which is disabled", "service_account")


def _lost_rights(sim: Sim, member: str, before: set[tuple[str, str]], via: str) -> None:
    after = _rights_of(sim, member)
    lost = sorted(before - after)
    n = _members_count(sim, member) if sim.run("MATCH (g:Twin {key: $g}) WHERE g:Group RETURN g.key AS k", g=member) else 0
    who = f"{member} (and its {n} member(s))" if n else member
    for t, o in lost:
        sim.brk(o, f"{who} loses {t} on it (it came through {via})", "access_lost")


def plan_remove_member(sim: Sim) -> None:
    """One direct membership goes; what the member loses is read after the change, since
    rights also arrive through other nested groups."""
    m = sim.node(sim.action.args[0], None, "MEMBER")["key"]
    g = sim.node(sim.action.args[1], ("Group",), "GROUP")["key"]
    sim.action = sim.action.model_copy(update={"args": (m, g)})
    rows = sim.edges(f"MATCH (m:Twin {{key: $m}})-[r:MemberOf]->(g:Twin {{key: $g}}) RETURN {EDGE_ROW}", m=m, g=g)
    if not rows:
        via = sim.run("MATCH (m:Twin {key: $m})-[:MemberOf]->(x)-[:MemberOf]->{1,9}(g:Twin {key: $g}) "
                      "RETURN x.key AS k LIMIT 1", m=m, g=g)
        hint = f" (it is one through {via[0]['k']})" if via else ""
        raise WhatIfInputError(f"MEMBER {m!r} is not a direct member of {g!r}{hint}")
    before = _rights_of(sim, m)
    sim.delete(rows)
    sim.post_hooks.append(lambda: _lost_rights(sim, m, before, g))


_DERIVATION_INPUTS = {"HasInstalled", "DependsOn", "HasVulnerability", "HasService", "InZone", "CanReach",
                      "ConnectedTo", "HostedOn"}


def plan_remove_edge(sim: Sim) -> None:
    """One edge of any type of the twin goes; when it fed CanExploit (software, services,
    zones, flows), the hosts it fed are derived again."""
    src_w, type_w, dst_w = sim.action.args
    by_lower = {t.lower(): t for t in REL_TYPES}
    rtype = type_w if type_w in REL_TYPES else by_lower.get(type_w.lower())
    if rtype is None:
        raise WhatIfInputError(f"TYPE {type_w!r} is not a relationship type of the twin (graph/MODEL.md)")
    src = sim.node(src_w, None, "SRC")["key"]
    dst = sim.node(dst_w, None, "DST")["key"]
    sim.action = sim.action.model_copy(update={"args": (src, rtype, dst)})
    rows = sim.edges(f"MATCH (a:Twin {{key: $a}})-[r:{rel_type(rtype)}]->(b:Twin {{key: $b}}) RETURN {EDGE_ROW}",
                     a=src, b=dst)
    if not rows:
        back = sim.run(f"MATCH (a:Twin {{key: $b}})-[r:{rel_type(rtype)}]->(b:Twin {{key: $a}}) RETURN 1 AS x",
                       a=src, b=dst)
        hint = f" (there is {dst} -{rtype}-> {src}: edges are written src TYPE dst)" if back else ""
        raise WhatIfInputError(f"no edge {src} -{rtype}-> {dst} in the twin{hint}")
    sim.delete(rows)
    if rtype == "MemberOf":
        before = _rights_of(sim, src)
        sim.post_hooks.append(lambda: _lost_rights(sim, src, before, dst))
    elif rtype in RIGHT_EDGES:
        n = _members_count(sim, src) if sim.run("MATCH (g:Twin {key: $g}) WHERE g:Group RETURN 1 AS x", g=src) else 0
        who = f"{src} (and its {n} member(s))" if n else src
        sim.brk(dst, f"{who} loses {rtype} on it", "access_lost")
    elif rtype == "HasSession":
        sim.brk(dst, f"its session on {src} ends", "session")
    elif rtype == "ConnectedTo":
        sim.brk(dst, f"loses its observed flow from {src} on "
                     f"{', '.join(map(str, rows[0]['props'].get('ports') or [])) or 'some ports'}", "flow")
    elif rtype == "HostedOn":
        sim.brk(src, f"is no longer hosted on {dst}", "unreachable")
    if rtype in _DERIVATION_INPUTS:
        sim.rederive.update(_hosts_fed_by(sim, src, dst, rtype))


def _hosts_fed_by(sim: Sim, src: str, dst: str, rtype: str) -> list[str]:
    """The hosts whose CanExploit edges an edge of this kind feeds."""
    if rtype in ("HasService", "InZone"):
        return [src]
    if rtype in ("ConnectedTo", "HostedOn"):
        return [dst]
    if rtype == "CanReach":
        rows = sim.run("MATCH (d:Twin {key: $d}) RETURN d:Computer AS host", d=dst)
        return [dst] if rows and rows[0]["host"] else zone_hosts(sim, dst, True)
    if rtype == "HasInstalled":
        rows = sim.run("MATCH (s:Twin {key: $s}) RETURN s:Computer AS host, "
                       "COLLECT { MATCH (s)-[:HostedOn]->(h:Computer) RETURN h.key } AS hosts", s=src)
        return [src] if rows and rows[0]["host"] else (rows[0]["hosts"] if rows else [])
    return _hosts_using(sim, [src])  # DependsOn, HasVulnerability: wherever the package is


def _hosts_using(sim: Sim, keys: list[str]) -> list[str]:
    rows = sim.run(
        "UNWIND $keys AS k MATCH (p:Twin {key: k}) CALL (p) { "
        "  MATCH (c:Computer)-[:HasInstalled]->(p) RETURN c "
        "  UNION MATCH (app:Application)-[:HasInstalled|DependsOn]->{0,4}(p) MATCH (app)-[:HostedOn]->(c:Computer) "
        "  RETURN c UNION MATCH (c:Computer) WHERE c = p RETURN c } RETURN DISTINCT c.key AS k ORDER BY k", keys=keys)
    return [r["k"] for r in rows]

