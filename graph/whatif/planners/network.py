"""Network planners: `isolate HOST`, `block FROM TO PORT/PROTO`, `expose HOST PORT/PROTO`
(what each removes or adds: graph/MODEL.md, "What-if"). They change reachability -
CanReach rules, observed ConnectedTo flows, a host's network edges - and leave the
CanExploit edges to be derived again for the hosts they name."""

from __future__ import annotations

from graph.derive.exploit import covers, parse_port_spec
from graph.whatif.errors import WhatIfInputError
from graph.whatif.grammar import format_port, port_arg
from graph.whatif.planners.base import EDGE_ROW, Sim, zone_hosts

# Remote-access rights are used over the network: they go with an isolated host's links.
_REMOTE_IN = ("AdminTo", "CanRDP", "CanPSRemote", "ExecuteDCOM", "SQLAdmin")
_NET_TYPES = ("CanReach", "ConnectedTo", "CanExploit", "InZone", "HasSession")


def subtract_ports(ports: object, lo: int, hi: int, proto: str) -> tuple[list[str], bool]:
    """Ports left after closing [lo, hi]/proto, and whether anything was closed. Ranges
    are split around the closed span; entries that cannot be read are kept as they are."""
    items = ports if isinstance(ports, (list, tuple)) else ([] if ports is None else [ports])
    out, changed = [], False
    for item in items:
        spec = parse_port_spec(item)
        if spec is None or spec[2] != proto or spec[1] < lo or spec[0] > hi:
            out.append(item if isinstance(item, str) else str(item))
            continue
        changed = True
        if spec[0] < lo:
            out.append(format_port(spec[0], lo - 1, proto))
        if spec[1] > hi:
            out.append(format_port(hi + 1, spec[1], proto))
    return out, changed


def plan_isolate(sim: Sim) -> None:
    """Every network edge of the host goes, and the remote-access rights into it (used over
    that network); its own AD rights stay: using them needs the foothold isolation denies."""
    host = sim.node(sim.action.args[0], ("Computer",), "HOST")["key"]
    sim.action = sim.action.model_copy(update={"args": (host,)})
    rows = sim.edges(
        f"MATCH (h:Twin {{key: $h}})-[r]-(o) WHERE type(r) IN $net "
        f"OR (endNode(r) = h AND type(r) IN $remote) RETURN {EDGE_ROW}",
        h=host, net=list(_NET_TYPES), remote=list(_REMOTE_IN))
    sim.delete(rows)
    sim.touched.add(host)
    for svc in sim.run("MATCH (h:Twin {key: $h})-[:HasService]->(s:Service) "
                       "WHERE coalesce(toLower(s.state), 'open') = 'open' "
                       "RETURN s.key AS key, s.port AS port, coalesce(s.protocol, 'tcp') AS proto ORDER BY key", h=host):
        flows = [r for r in rows if r["type"] == "ConnectedTo" and r["dst"] == host and isinstance(svc["port"], int)
                 and covers(r["props"].get("ports"), svc["port"], str(svc["proto"]).lower())]
        extra = f"; {len(flows)} observed client(s) use it" if flows else ""
        sim.brk(svc["key"], f"unreachable while {host} is isolated{extra}", "unreachable")
    for dep in sim.run("MATCH (d:Twin)-[:HostedOn]->(h:Twin {key: $h}) RETURN d.key AS key ORDER BY key", h=host):
        sim.brk(dep["key"], f"hosted on {host}, which is isolated", "unreachable")
    for r in sorted((r for r in rows if r["type"] == "ConnectedTo"), key=lambda r: (r["src"], r["dst"])):
        peer = r["dst"] if r["src"] == host else r["src"]
        ports = ", ".join(map(str, r["props"].get("ports") or [])) or "some ports"
        where = f"to {host}" if r["dst"] == host else f"from {host}"
        sim.brk(peer, f"loses its observed flow {where} on {ports} ({r['props'].get('count', '?')} connections)",
                "flow")
    for r in sorted((r for r in rows if r["type"] == "HasSession"), key=lambda r: r["dst"]):
        sim.brk(r["dst"], f"its session on {host} ends", "session")


def plan_block(sim: Sim) -> None:
    """Zone rules lose the port, observed flows between the hosts close; a host-level block
    cannot narrow a zone rule, and a note says so."""
    src_word, dst_word, port_word = sim.action.args
    lo, hi, proto = port_arg(port_word)
    src = sim.node(src_word, ("Zone", "Internet", "Computer"), "FROM")
    dst = sim.node(dst_word, ("Zone", "Computer"), "TO")
    sk, dk = src["key"], dst["key"]
    if sk == dk:
        raise WhatIfInputError(f"FROM and TO are both {sk!r}")
    sim.action = sim.action.model_copy(update={"args": (sk, dk, format_port(lo, hi, proto))})
    zone_level = "Computer" not in src["labels"] and "Computer" not in dst["labels"]
    sim.touched.update((sk, dk))
    if zone_level:
        reach = sim.edges(f"MATCH (a:Twin {{key: $a}})-[r:CanReach]->(b:Twin {{key: $b}}) RETURN {EDGE_ROW}",
                          a=sk, b=dk)
        for r in reach:
            left, changed = subtract_ports(r["props"].get("ports"), lo, hi, proto)
            if not changed:
                continue
            sim.delete([r])
            if left:
                sim.create(sk, "CanReach", dk, {**r["props"], "ports": left})
            for svc in sim.run(
                    "MATCH (c:Computer)-[:InZone]->(:Twin {key: $z}) MATCH (c)-[:HasService]->(s:Service) "
                    "WHERE s.port >= $lo AND s.port <= $hi AND toLower(coalesce(s.protocol, 'tcp')) = $proto "
                    "AND coalesce(toLower(s.state), 'open') = 'open' RETURN s.key AS key ORDER BY key LIMIT 1000",
                    z=dk, lo=lo, hi=hi, proto=proto):
                sim.brk(svc["key"], f"no longer reachable from {sk} on {format_port(lo, hi, proto)}", "unreachable")
        if not any(subtract_ports(r["props"].get("ports"), lo, hi, proto)[1] for r in reach):
            sim.notes.append(f"no firewall flow lets {sk} reach {dk} on {format_port(lo, hi, proto)}: "
                             "the zone rules do not change")
    else:
        sim.notes.append("a host-level block closes the observed flows between the hosts (and a host-level "
                         "rule such as one `expose` writes); zone rules are per zone, so a path through the "
                         "zones' own reachability remains")
        if "Computer" in dst["labels"] and "Computer" not in src["labels"]:
            for r in sim.edges(f"MATCH (a:Twin {{key: $a}})-[r:CanReach]->(b:Twin {{key: $b}}) RETURN {EDGE_ROW}",
                               a=sk, b=dk):
                left, changed = subtract_ports(r["props"].get("ports"), lo, hi, proto)
                if changed:
                    sim.delete([r])
                    if left:
                        sim.create(sk, "CanReach", dk, {**r["props"], "ports": left})
    srcs = [sk] if "Computer" in src["labels"] or "Internet" in src["labels"] else zone_hosts(sim, sk, False)
    dsts = [dk] if "Computer" in dst["labels"] else zone_hosts(sim, dk, False)
    flows = sim.edges(f"MATCH (a:Twin)-[r:ConnectedTo]->(b:Twin) WHERE a.key IN $a AND b.key IN $b "
                      f"RETURN {EDGE_ROW}", a=srcs, b=dsts)
    for r in sorted(flows, key=lambda r: (r["src"], r["dst"])):
        left, changed = subtract_ports(r["props"].get("ports"), lo, hi, proto)
        if not changed:
            continue
        sim.delete([r])
        if left:
            sim.create(r["src"], "ConnectedTo", r["dst"], {**r["props"], "ports": left})
        svc = f"{r['dst']}:{lo}/{proto.upper()}" if lo == hi else r["dst"]
        sim.brk(svc, f"observed flow from {r['src']} ({r['props'].get('count', '?')} connections) is blocked",
                "flow")
    sim.rederive.update([dk] if "Computer" in dst["labels"] else zone_hosts(sim, dk, True))


def plan_expose(sim: Sim) -> None:
    """A host-level INTERNET CanReach rule (a port forward); what it makes exploitable comes
    from deriving CanExploit again."""
    host = sim.node(sim.action.args[0], ("Computer",), "HOST")["key"]
    lo, hi, proto = port_arg(sim.action.args[1])
    spec = format_port(lo, hi, proto)
    sim.action = sim.action.model_copy(update={"args": (host, spec)})
    if not sim.run("MATCH (i:Twin {key: 'INTERNET'}) RETURN i.key AS k"):
        sim.add_node("INTERNET", ["Internet"], {"name": "INTERNET"})
    old = sim.edges(f"MATCH (i:Twin {{key: 'INTERNET'}})-[r:CanReach]->(h:Twin {{key: $h}}) RETURN {EDGE_ROW}",
                    h=host)
    ports = list(old[0]["props"].get("ports") or []) if old else []
    if old and covers(ports, lo, proto) and covers(ports, hi, proto):
        sim.notes.append(f"INTERNET may already reach {host} on {spec}")
    sim.delete(old)
    sim.create("INTERNET", "CanReach", host, {**(old[0]["props"] if old else {}), "ports": ports + [spec]})
    services = sim.run("MATCH (h:Twin {key: $h})-[:HasService]->(s:Service) WHERE s.port >= $lo AND s.port <= $hi "
                       "AND toLower(coalesce(s.protocol, 'tcp')) = $proto "
                       "AND coalesce(toLower(s.state), 'open') = 'open' RETURN s.key AS key", h=host, lo=lo, hi=hi,
                       proto=proto)
    if not services:
        sim.notes.append(f"no open service is known on {host} at {spec}: nothing new becomes exploitable")
    sim.rederive.add(host)
