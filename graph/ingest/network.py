"""`network.yaml`: zones, their subnets and what may reach what (contract section 3).

Zones and flows are the firewall's intent, not observed traffic, so they load early
(order 5): hosts, services and alerts that arrive in the same run can then be placed
in zones by the derivation below.

The unit of rejection is one zone or one flow. A zone with one bad CIDR or port is
rejected whole rather than loaded half-described, and a flow naming a zone that does
not exist (or was rejected) is rejected as `flows[i]`: a firewall rule half-understood
is worse than one reported missing.

`(Computer)-[:InZone]->(Zone)` is derived after every ingest (`always_post_load`),
because the hosts' addresses come from other sources (Nmap, Zeek, leases) that may
arrive before or after the network file. The CIDR arithmetic runs in Python over one
read of subnets and one read of hosts: a Cypher join of every host against every
subnet would be quadratic, and Neo4j has no prefix-match index.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict

import neo4j
import yaml

from graph import catalog
from graph.catalog import INTERNET
from graph.identity import is_ip, normalize_ip
from graph.ingest.base import BadFile, Batch, Connector, IngestContext, Source
from graph.loader import TwinWriter

INTERNET_KEY = "INTERNET"

ZONE = catalog.node("Zone", snapshot=True)
SUBNET = catalog.node("Subnet", snapshot=True)
# The internet is shared with Zeek and what-if: never cleaned up as this source's snapshot.
SUBNET_IN_ZONE = catalog.rel("InZone", snapshot=True)
CAN_REACH = catalog.rel("CanReach", snapshot=True)
# Derived, and maintained by the derivation itself (stale edges are deleted there), so
# the generic snapshot cleanup must not treat it as part of the file.
HOST_IN_ZONE = catalog.rel("InZone")

_PORT = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?/([A-Za-z]+)$")
_PROTOS = {"tcp", "udp"}
_TOP_ZONES = re.compile(r"^zones[ \t]*:", re.MULTILINE)
# An internet-facing zone that lists no ports is taken as fully exposed: the
# conservative reading for an attack-path tool (nothing says the firewall filters).
ALL_PORTS = ["1-65535/tcp", "1-65535/udp"]


def parse_port(value: object) -> str:
    """`443/tcp` or `49152-65535/tcp`, normalised to lower-case protocol; ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"port {value!r} must be written N/proto or N-M/proto (e.g. 443/tcp)")
    m = _PORT.match(value.strip())
    if not m:
        raise ValueError(f"port {value!r} must be written N/proto or N-M/proto (e.g. 443/tcp)")
    lo, hi, proto = int(m.group(1)), int(m.group(2) or m.group(1)), m.group(3).lower()
    if proto not in _PROTOS:
        raise ValueError(f"port {value!r}: protocol must be tcp or udp")
    if not (1 <= lo <= 65535 and 1 <= hi <= 65535):
        raise ValueError(f"port {value!r}: ports run from 1 to 65535")
    if lo > hi:
        raise ValueError(f"port {value!r}: range start is above its end")
    return f"{lo}/{proto}" if lo == hi else f"{lo}-{hi}/{proto}"


def _port_list(value: object, what: str) -> list[str]:
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list of ports such as [443/tcp]")
    out: list[str] = []
    for item in value:
        port = parse_port(item)
        if port not in out:
            out.append(port)
    return out


def _parse_cidr(value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(value, str):
        raise ValueError(f"CIDR {value!r} is not text such as 10.20.0.0/16")
    try:
        return ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a CIDR ({exc})") from None


def _parse_zone(raw: object) -> dict:
    if not isinstance(raw, dict):
        raise ValueError("a zone must be a mapping with at least `name`")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("zone without a `name`")
    name = name.strip()
    cidrs_raw = raw.get("cidrs", [])
    if isinstance(cidrs_raw, str):
        cidrs_raw = [cidrs_raw]
    if not isinstance(cidrs_raw, list):
        raise ValueError(f"zone {name!r}: `cidrs` must be a list of CIDRs")
    nets = []
    for j, c in enumerate(cidrs_raw):
        try:
            nets.append(_parse_cidr(c))
        except ValueError as exc:
            raise ValueError(f"zone {name!r}: cidrs[{j}] {exc}") from None
    facing = raw.get("internet_facing", False)
    if facing is None:
        facing = False
    if not isinstance(facing, bool):
        raise ValueError(f"zone {name!r}: internet_facing must be true or false, not {facing!r}")
    try:
        exposed = _port_list(raw.get("exposed_ports") or [], "exposed_ports")
    except ValueError as exc:
        raise ValueError(f"zone {name!r}: {exc}") from None
    desc = raw.get("description")
    return {
        "name": name,
        "nets": nets,
        "internet_facing": facing,
        "exposed_ports": exposed,
        "description": desc if isinstance(desc, str) else None,
    }


def _endpoint(value: object, zones: dict[str, dict], side: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"`{side}` must name a zone")
    name = value.strip()
    if name in zones:
        return name
    if name.upper() == INTERNET_KEY:
        return INTERNET_KEY
    raise ValueError(f"`{side}` names unknown zone {name!r}")


def transform(source: Source, ctx: IngestContext) -> Batch:
    text = source.text()
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BadFile(f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(doc, dict) or "zones" not in doc:
        raise BadFile("not a network.yaml: the top level must be a mapping with `zones`")
    zones_raw, flows_raw = doc.get("zones"), doc.get("flows") or []
    if not isinstance(zones_raw, list):
        raise BadFile("`zones` must be a list")
    if not isinstance(flows_raw, list):
        raise BadFile("`flows` must be a list")

    batch = Batch()
    batch.records = len(zones_raw) + len(flows_raw)
    zones: dict[str, dict] = {}
    cidr_owner: dict[str, str] = {}
    for i, raw in enumerate(zones_raw):
        try:
            zone = _parse_zone(raw)
            if zone["name"] in zones:
                raise ValueError(f"zone {zone['name']!r} is defined twice")
            if zone["name"].upper() == INTERNET_KEY:
                raise ValueError(f"{INTERNET_KEY!r} names the internet, not a zone")
            for net in zone["nets"]:
                if str(net) in cidr_owner:
                    raise ValueError(f"zone {zone['name']!r}: {net} already belongs to zone {cidr_owner[str(net)]!r}")
        except ValueError as exc:
            batch.reject(source.name, f"zones[{i}]", str(exc))
            continue
        zones[zone["name"]] = zone
        for net in zone["nets"]:
            cidr_owner[str(net)] = zone["name"]

    reach: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, zone in zones.items():
        if zone["internet_facing"]:
            reach[(INTERNET_KEY, name)] += zone["exposed_ports"] or ALL_PORTS
    for i, raw in enumerate(flows_raw):
        try:
            if not isinstance(raw, dict):
                raise ValueError("a flow must be a mapping {from, to, ports}")
            src = _endpoint(raw.get("from"), zones, "from")
            dst = _endpoint(raw.get("to"), zones, "to")
            if src == dst == INTERNET_KEY:
                raise ValueError("a flow from the internet to the internet says nothing")
            ports = _port_list(raw.get("ports"), "ports")
            if not ports:
                raise ValueError("`ports` is empty")
        except ValueError as exc:
            batch.reject(source.name, f"flows[{i}]", str(exc))
            continue
        for p in ports:
            if p not in reach[(src, dst)]:
                reach[(src, dst)].append(p)

    zone_rows = [
        {
            "key": z["name"],
            "props": {
                "name": z["name"],
                "internet_facing": z["internet_facing"],
                "exposed_ports": z["exposed_ports"],
                "cidrs": [str(n) for n in z["nets"]],
                "description": z["description"],
            },
        }
        for z in zones.values()
    ]
    subnet_rows, subnet_rels = [], []
    for z in zones.values():
        for net in z["nets"]:
            subnet_rows.append({"key": str(net), "props": {"cidr": str(net), "version": net.version,
                                                           "zone": z["name"]}})
            subnet_rels.append({"src": str(net), "dst": z["name"]})
    batch.add_nodes(ZONE, zone_rows)
    batch.add_nodes(SUBNET, subnet_rows)
    if any(INTERNET_KEY in pair for pair in reach):
        batch.add_nodes(INTERNET, [{"key": INTERNET_KEY, "props": {"name": "Internet"}}])
    batch.add_rels(SUBNET_IN_ZONE, subnet_rels)
    batch.add_rels(CAN_REACH, [{"src": s, "dst": d, "props": {"ports": ports}}
                               for (s, d), ports in reach.items()])
    return batch


class ZoneIndex:
    """Most-specific-CIDR look-up: one dict per (IP version, prefix length), probed
    from the longest prefix down, so a look-up costs at most 33 (IPv4) or 129 (IPv6)
    dict probes however many subnets there are."""

    def __init__(self, subnets: list[tuple[str, str]]) -> None:
        self._tables: dict[tuple[int, int], dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
        for cidr, zone in subnets:
            try:
                net = ipaddress.ip_network(cidr, strict=False)
            except (ValueError, TypeError):
                continue
            self._tables[(net.version, net.prefixlen)][int(net.network_address)].add(zone)
        self._lengths = {
            v: sorted((plen for ver, plen in self._tables if ver == v), reverse=True) for v in (4, 6)
        }

    def __bool__(self) -> bool:
        return bool(self._tables)

    def zones_for(self, address: str) -> set[str]:
        addr = ipaddress.ip_address(address)
        bits = addr.max_prefixlen
        value = int(addr)
        for plen in self._lengths[addr.version]:
            shift = bits - plen
            hit = self._tables[(addr.version, plen)].get((value >> shift) << shift)
            if hit:
                return hit
        return set()


def _addresses(key: str, ip: object, ips: object, linked: list) -> set[str]:
    found: set[str] = set()
    candidates: list[object] = [key, ip, *linked]
    if isinstance(ips, (list, tuple)):
        candidates += list(ips)
    elif isinstance(ips, str):
        candidates += re.findall(r"[0-9A-Fa-f:.]+", ips)
    for c in candidates:
        if isinstance(c, str) and is_ip(c):
            found.add(normalize_ip(c))
    return found


_READ_SUBNETS = "MATCH (s:Subnet)-[:InZone]->(z:Zone) RETURN s.key AS cidr, z.key AS zone"
# Only hosts with an address, or with a zone to lose, matter; AD-only hosts (no IP yet)
# are skipped in the database rather than shipped to Python. A key that looks like an
# address is a host known only by its IP.
_READ_HOSTS = """
MATCH (c:Computer)
WHERE c.ip IS NOT NULL OR c.ips IS NOT NULL OR c.key =~ '[0-9A-Fa-f:.]+'
   OR EXISTS { (c)-[:HasIP]->() } OR EXISTS { (c)-[:InZone]->() }
RETURN c.key AS key, c.ip AS ip, c.ips AS ips,
       [(c)-[:HasIP]->(i:IP) | i.address] AS linked,
       [(c)-[r:InZone]->(z:Zone) WHERE r.source = $source | z.key] AS zones
"""
_DELETE_STALE = """
UNWIND $rows AS row
MATCH (c:Twin {key: row.src})-[r:InZone]->(z:Twin {key: row.dst})
WHERE c:Computer AND z:Zone AND r.source = $source
DELETE r
RETURN count(*) AS c
"""
_DELETE_ALL = """
MATCH (c)-[r:InZone]->() WHERE r.source = $source AND c:Computer
WITH r LIMIT $limit DELETE r RETURN count(*) AS c
"""


def derive_host_zones(writer: TwinWriter, ctx: IngestContext) -> None:
    """Put every host in the zone whose CIDR most specifically holds one of its addresses
    (a multi-homed host may sit in several). Writes only the edges that are missing and
    deletes the ones no longer true, so a run that changes nothing writes nothing."""
    driver, db = writer.driver, writer.database
    subnets = [(r["cidr"], r["zone"]) for r in
               driver.execute_query(_READ_SUBNETS, database_=db, routing_=neo4j.RoutingControl.READ).records]
    index = ZoneIndex(subnets)
    if not index:
        # No zones (the usual case before any network.yaml): nothing to place, and only
        # edges left by zones that have since gone to remove; no need to read every host.
        while True:
            rec = driver.execute_query(_DELETE_ALL, source=writer.source, limit=writer.batch_size,
                                       database_=db).records[0]
            writer.stats.deleted += rec["c"]
            _noted(writer, rec["c"])
            if rec["c"] < writer.batch_size:
                return
    hosts = driver.execute_query(_READ_HOSTS, source=writer.source, database_=db,
                                 routing_=neo4j.RoutingControl.READ).records
    missing, stale = [], []
    for rec in hosts:
        want: set[str] = set()
        for addr in _addresses(rec["key"], rec["ip"], rec["ips"], rec["linked"]):
            want |= index.zones_for(addr)
        have = set(rec["zones"])
        missing += [{"src": rec["key"], "dst": z} for z in sorted(want - have)]
        stale += [{"src": rec["key"], "dst": z} for z in sorted(have - want)]
    if missing:
        writer.rels(HOST_IN_ZONE, missing)
    for start in range(0, len(stale), writer.batch_size):
        chunk = stale[start:start + writer.batch_size]
        rec = driver.execute_query(_DELETE_STALE, rows=chunk, source=writer.source, database_=db).records[0]
        writer.stats.deleted += rec["c"]
        _noted(writer, rec["c"])


def _noted(writer: TwinWriter, deleted: int) -> None:
    """Edges deleted count as InZone written (the derivations after the run read it)."""
    if deleted:
        writer.stats.per_kind[HOST_IN_ZONE.type] = writer.stats.per_kind.get(HOST_IN_ZONE.type, 0) + deleted


def sniff(name: str, head: str) -> bool:
    return name.lower().endswith((".yaml", ".yml")) and bool(_TOP_ZONES.search(head))


CONNECTOR = Connector(
    name="network",
    sniff=sniff,
    transform=transform,
    post_load=derive_host_zones,
    order=5,
    always_post_load=True,
    post_load_kinds=("InZone",),
)
