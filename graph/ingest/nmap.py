"""Nmap XML (`nmap -oX`): hosts that are up, their addresses and names, and the ports
they had open, as `Computer`, `IP` leases and `Service` nodes.

A scan is a dated observation, not the truth: every fact keeps the newest scan's value,
so scans loaded in any order give the same twin. How hosts are named, ports closed and
OS guesses kept: graph/MODEL.md, "Nmap".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from dataclasses import dataclass, field

from graph import catalog
from graph.catalog import COMPUTER, HAS_IP, IP
from graph.identity import host_key, is_ip, normalize_ip, short_hostname
from graph.ingest._addresses import broadcasts, not_a_host, subnet_broadcasts
from graph.ingest._vulnshared import (
    HostIndex,
    TimedFacts,
    clip,
    int_or_none,
    looks_like_hostname,
    service_host_part,
)
from graph.ingest.base import BadFile, Batch, Connector, IngestContext, Source
from graph.loader import TwinWriter

SERVICE = catalog.node("Service")
HAS_SERVICE = catalog.rel("HasService")

PROTOCOLS = {"tcp", "udp", "sctp"}
_CIDR = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}/\d{1,2}\b")


class _Refused(Exception):
    pass


def _refuse(what: str):
    def handler(*_args):
        raise _Refused(what)
    return handler


def parse_xml(data: bytes) -> ET.Element:
    """Parse with expat's DTD hooks armed first (no entity expansion, no external
    fetches, no billion laughs), then build the tree with ElementTree."""
    guard = xml.parsers.expat.ParserCreate()

    def doctype(name, system_id, public_id, has_internal_subset):
        if system_id or public_id or has_internal_subset:
            raise _Refused(f"DOCTYPE {name} with an external id or internal subset")

    guard.StartDoctypeDeclHandler = doctype
    guard.EntityDeclHandler = _refuse("entity declaration")
    guard.UnparsedEntityDeclHandler = _refuse("unparsed entity declaration")
    guard.ExternalEntityRefHandler = _refuse("external entity reference")
    try:
        guard.Parse(data, True)
        return ET.fromstring(data)
    except _Refused as exc:
        raise BadFile(f"refused XML: {exc} (not allowed in Nmap output)") from None
    except (xml.parsers.expat.ExpatError, ET.ParseError) as exc:
        hint = " (truncated? an interrupted Nmap run leaves no </nmaprun>)" if "no element found" in str(exc) else ""
        raise BadFile(f"not well-formed XML: {exc}{hint}") from None
    except (ValueError, RecursionError, LookupError) as exc:  # LookupError: an unknown encoding=
        raise BadFile(f"not readable XML: {exc}") from None


def _int(text: str | None) -> int | None:
    return int_or_none(text)


def _epoch(text: str | None) -> int | None:
    """Nmap's times are epoch seconds; anything outside 1970..2100 is not a time."""
    value = _int(text)
    return value if value is not None and 0 < value < 4_102_444_800 else None


def parse_ranges(spec: str | None) -> list[tuple[int, int]]:
    """Nmap's scaninfo `services="1,3-4,6-7,..."`; unreadable parts are skipped."""
    out = []
    for part in (spec or "").split(","):
        lo, _, hi = part.strip().partition("-")
        a, b = _int(lo), _int(hi) if hi else _int(lo)
        if a is not None and b is not None and 0 <= a <= b <= 65535:
            out.append((a, b))
    return out


def _in_ranges(port: int, ranges: list[tuple[int, int]]) -> bool:
    return any(a <= port <= b for a, b in ranges)


@dataclass
class _Host:
    record: str
    t: int
    ips: list[tuple[str, int]] = field(default_factory=list)
    mac: str | None = None
    mac_vendor: str | None = None
    fqdn: str | None = None
    shorts: list[str] = field(default_factory=list)
    hostnames: list[str] = field(default_factory=list)
    os: dict = field(default_factory=dict)
    open_ports: list[dict] = field(default_factory=list)
    # (port, proto) -> state for ports Nmap listed as not open
    not_open: dict[tuple[int, str], str] = field(default_factory=dict)
    extra_state: dict[str, str] = field(default_factory=dict)
    key: str | None = None


def _parse_host(el: ET.Element, record: str, t: int, batch: Batch, name: str,
                not_hosts: frozenset[str] = frozenset()) -> _Host | None:
    host = _Host(record=record, t=t)
    refused: list[str] = []
    for addr in el.findall("address"):
        kind = (addr.get("addrtype") or "").lower()
        value = (addr.get("addr") or "").strip()
        if kind in ("ipv4", "ipv6"):
            if not is_ip(value):
                batch.reject(name, record, f"address {value!r} is not a valid {kind} address")
                return None
            ip = normalize_ip(value)
            why = not_a_host(ip, not_hosts)
            if why:
                refused.append(why)
                continue
            host.ips.append((ip, 6 if ":" in ip else 4))
        elif kind == "mac" and value:
            host.mac = value.upper()
            host.mac_vendor = addr.get("vendor") or None
    if not host.ips:
        batch.reject(name, record, f"{refused[0]}: not a host" if refused else "no IPv4 or IPv6 <address>")
        return None
    names = el.find("hostnames")
    user, ptr = [], []
    for hn in (names.findall("hostname") if names is not None else []):
        text = (hn.get("name") or "").strip().rstrip(".").lower()
        if not text or not looks_like_hostname(text) or is_ip(text):
            continue
        (ptr if (hn.get("type") or "").upper() == "PTR" else user).append(text)
        if text not in host.hostnames:
            host.hostnames.append(text)
    fqdns = [n for n in user + ptr if "." in n]
    host.fqdn = fqdns[0] if fqdns else None
    host.shorts = [n.upper() for n in user + ptr if "." not in n]
    osel = el.find("os")
    match = osel.find("osmatch") if osel is not None else None
    if match is not None and match.get("name"):
        cls = match.find("osclass")
        host.os = {
            "nmap_os": match.get("name"),
            "nmap_os_accuracy": _int(match.get("accuracy")),
            "nmap_os_family": cls.get("osfamily") if cls is not None else None,
            "nmap_os_cpe": [c.text.strip() for c in match.iter("cpe") if c.text and c.text.strip()],
        }
    ports = el.find("ports")
    if ports is None:
        return host
    for extra in ports.findall("extraports"):
        for reason in extra.findall("extrareasons"):
            proto = (reason.get("proto") or "").lower()
            if proto:
                host.extra_state[proto] = extra.get("state") or "closed"
    for j, port in enumerate(ports.findall("port")):
        prec = f"{record}.port[{j}]"
        proto = (port.get("protocol") or "").lower()
        portid = _int(port.get("portid"))
        if proto not in PROTOCOLS:
            batch.reject(name, prec, f"protocol {port.get('protocol')!r} is not tcp, udp or sctp")
            continue
        if portid is None or not 0 <= portid <= 65535:
            batch.reject(name, prec, f"portid {port.get('portid')!r} is not a port number")
            continue
        state_el = port.find("state")
        state = (state_el.get("state") if state_el is not None else None) or "unknown"
        if state != "open":
            host.not_open[(portid, proto)] = state
            continue
        svc = port.find("service")
        info = {"port": portid, "protocol": proto, "state": "open"}
        if svc is not None:
            info.update({
                "name": clip(svc.get("name")), "product": svc.get("product"),
                "version": svc.get("version"), "extrainfo": svc.get("extrainfo"),
                "tunnel": svc.get("tunnel"), "ostype": svc.get("ostype"),
                "method": svc.get("method"), "conf": _int(svc.get("conf")),
                "cpe": [c.text.strip() for c in svc.findall("cpe") if c.text and c.text.strip()],
            })
        host.open_ports.append(info)
    return host


_EXISTING_SERVICES = """
UNWIND $prefixes AS p
MATCH (s:Twin) WHERE s.key STARTS WITH p AND s:Service
RETURN p AS prefix, s.key AS key, s.port AS port, s.protocol AS protocol, s.state_time AS state_time
"""


def transform(source: Source, ctx: IngestContext) -> Batch:
    root = parse_xml(source.data)
    if root.tag != "nmaprun":
        raise BadFile(f"root element is <{root.tag}>, not Nmap's <nmaprun>")
    batch = Batch()
    run_start = _epoch(root.get("start")) or ctx.now
    scanned: dict[str, list[tuple[int, int]]] = {}
    for info in root.findall("scaninfo"):
        proto = (info.get("protocol") or "").lower()
        scanned.setdefault(proto, []).extend(parse_ranges(info.get("services")))

    not_hosts = subnet_broadcasts(ctx.reader) | broadcasts(_CIDR.findall(root.get("args") or ""))
    hosts: list[_Host] = []
    for i, el in enumerate(root.findall("host")):
        batch.records += 1
        status = el.find("status")
        if status is not None and status.get("state") != "up":
            continue
        t = _epoch(el.get("starttime")) or run_start
        host = _parse_host(el, f"host[{i}]", t, batch, source.name, not_hosts)
        if host is not None:
            hosts.append(host)

    lookup = HostIndex.fetch(
        ctx,
        [s for h in hosts if not h.fqdn for s in h.shorts]
        + [h.ips[0][0] for h in hosts if not h.fqdn and not h.hostnames],
    )
    for h in hosts:
        if h.fqdn:
            h.key = host_key(h.fqdn)
        else:
            resolved = next((r for r in (lookup.resolve(s) for s in h.shorts) if r), None)
            if resolved is None and not h.hostnames:
                resolved = lookup.resolve(h.ips[0][0])
            h.key = resolved or host_key(h.ips[0][0])

    existing: dict[str, dict] = {}
    if ctx.reader and hosts:
        prefixes = sorted({service_host_part(h.key) + ":" for h in hosts})
        for rec in ctx.reader.rows(_EXISTING_SERVICES, prefixes=prefixes):
            existing[rec["key"]] = dict(rec)

    facts = TimedFacts(ctx, [h.key for h in hosts if h.key], ("nmap_os", "mac", "hostnames"))
    computers: dict[str, dict] = {}
    ips: dict[str, dict] = {}
    leases: dict[tuple[str, str], dict] = {}
    services: dict[str, dict] = {}
    has_service: dict[tuple[str, str], dict] = {}
    for h in hosts:
        props = {"name": h.key}
        if h.fqdn:
            props["shortname"] = short_hostname(h.fqdn)
        elif h.shorts and not is_ip(h.key):
            props["shortname"] = short_hostname(h.key)
        elif h.shorts:
            props["shortname"] = h.shorts[0]
        row = computers.setdefault(h.key, {"key": h.key, "props": {}, "firstseen": h.t, "lastseen": h.t})
        row["props"].update(props)
        facts.apply(h.key, "nmap_os", h.t, h.os, row["props"])
        facts.apply(h.key, "mac", h.t, {"mac": h.mac, "mac_vendor": h.mac_vendor}, row["props"])
        facts.apply(h.key, "hostnames", h.t, {"hostnames": h.hostnames or None}, row["props"])
        row["firstseen"], row["lastseen"] = min(row["firstseen"], h.t), max(row["lastseen"], h.t)
        for ip, version in h.ips:
            ipk = f"IP:{ip}"
            ips[ipk] = {"key": ipk, "props": {"address": ip, "version": version}, "firstseen": h.t, "lastseen": h.t}
            lease = leases.setdefault((h.key, ipk), {"src": h.key, "dst": ipk, "firstseen": h.t, "lastseen": h.t})
            lease["firstseen"], lease["lastseen"] = min(lease["firstseen"], h.t), max(lease["lastseen"], h.t)
        prefix = service_host_part(h.key) + ":"
        open_keys = set()
        for info in h.open_ports:
            skey = f"{prefix}{info['port']}/{info['protocol'].upper()}"
            open_keys.add(skey)
            known = existing.get(skey) or {}
            if (known.get("state_time") or 0) > h.t:  # a newer scan already spoke
                props = {"port": info["port"], "protocol": info["protocol"], "host": h.key}
            else:
                props = {**info, "host": h.key, "state_time": h.t}
            services[skey] = {"key": skey, "props": props, "firstseen": h.t, "lastseen": h.t}
            has_service[(h.key, skey)] = {"src": h.key, "dst": skey, "firstseen": h.t, "lastseen": h.t}
        for skey, known in existing.items():
            if not skey.startswith(prefix) or skey in open_keys or skey in services:
                continue
            port, proto = known.get("port"), (known.get("protocol") or "").lower()
            if not isinstance(port, int) or (known.get("state_time") or 0) >= h.t:
                continue
            state = h.not_open.get((port, proto))
            if state is None and _in_ranges(port, scanned.get(proto, [])):
                state = h.extra_state.get(proto, "closed")
            if state is not None:
                services[skey] = {"key": skey, "props": {"state": state, "state_time": h.t},
                                  "firstseen": h.t, "lastseen": h.t}

    batch.add_nodes(COMPUTER, list(computers.values()))
    batch.add_nodes(IP, list(ips.values()))
    batch.add_nodes(SERVICE, list(services.values()))
    batch.add_rels(HAS_IP, list(leases.values()))
    batch.add_rels(HAS_SERVICE, list(has_service.values()))
    return batch


_DROP_CLOSED = """
MATCH (:Computer)-[r:HasService]->(s:Service)
WHERE s.state IS NOT NULL AND s.state <> 'open'
DELETE r
"""

# `ip` is the address of the host's latest lease unless a later lease gave that
# address to another host; `ips` every address it held, latest first.
CURRENT_IP = """
MATCH (c:Computer)-[l:HasIP]->(i:IP)
WITH c, l, i ORDER BY l.lastseen DESC, i.address
WITH c, collect(i) AS held, collect(l.lastseen) AS times
WITH c, held[0] AS cur, times[0] AS curT, [x IN held | x.address] AS addrs
OPTIONAL MATCH (cur)<-[l2:HasIP]-(o:Computer) WHERE o <> c AND l2.lastseen > curT
WITH c, cur, addrs, count(o) AS later
SET c.ips = addrs, c.ip = CASE WHEN later = 0 THEN cur.address ELSE null END
"""

_FILL_OS = """
MATCH (c:Computer)
WHERE c.nmap_os IS NOT NULL AND (c.operatingsystem IS NULL OR c.operatingsystem = c.nmap_os_filled)
SET c.operatingsystem = c.nmap_os, c.nmap_os_filled = c.nmap_os
"""


def post_load(writer: TwinWriter, ctx: IngestContext) -> None:
    for query in (_DROP_CLOSED, CURRENT_IP, _FILL_OS):
        writer.driver.execute_query(query, database_=writer.database)


def sniff(name: str, head: str) -> bool:
    return "<nmaprun" in head


CONNECTOR = Connector(name="nmap", sniff=sniff, transform=transform, post_load=post_load, order=30)
