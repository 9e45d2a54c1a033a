"""Twins built by hand, written through the real TwinWriter, with answers known in advance.

The tools are tested and benchmarked on these rather than on connector output, so a
tool's test says what the tool does with the model in graph/MODEL.md whatever the
connectors are doing this week. `corp_twin` is small enough to reason about by eye
(every expected path is written down in its docstring); `synthetic_twin` is a
seeded enterprise of a chosen size for the benchmark.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field

import neo4j

from graph import catalog
from graph.events import EventStore, open_store
from graph.events.store import chain_links, event_row
from graph.loader import TwinWriter
from graph.model import NodeSchema, RelSchema

T0 = 1_700_000_000  # the alert's time in corp_twin (2023-11-14T22:13:20Z)
HOUR = 3600
DAY = 86400

# Labels that carry BloodHound's `Base` beside them.
_AD = {"User", "Group", "Computer", "Domain", "OU", "Container", "GPO"}


@dataclass
class TwinBuilder:
    """Collects nodes and edges, then writes them kind by kind through TwinWriter."""

    now: int = T0
    nodes: dict[tuple[str, tuple[str, ...]], list[dict]] = field(default_factory=lambda: defaultdict(list))
    rels: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))

    def node(self, label: str, key: str, *, extra: tuple[str, ...] = (), firstseen: int | None = None,
             lastseen: int | None = None, **props) -> str:
        labels = tuple(sorted(set(extra) | ({"Base"} if label in _AD else set())))
        row = {"key": key, "props": props}
        if firstseen is not None:
            row["firstseen"] = firstseen
        if lastseen is not None:
            row["lastseen"] = lastseen
        self.nodes[(label, labels)].append(row)
        return key

    def edge(self, src: str, rel: str, dst: str, *, firstseen: int | None = None,
             lastseen: int | None = None, **props) -> None:
        row = {"src": src, "dst": dst, "props": props}
        if firstseen is not None:
            row["firstseen"] = firstseen
        if lastseen is not None:
            row["lastseen"] = lastseen
        self.rels[rel].append(row)

    def write(self, driver: neo4j.Driver, database: str | None = None, source: str = "fixture",
              events: EventStore | None = None) -> TwinWriter:
        """The graph, then the events into the event store (`events`, else the twin's own)
        as an ingest leaves them: the tools read events from the store."""
        writer = TwinWriter(driver, source=source, database=database, now=self.now)
        for (label, extra), rows in self.nodes.items():
            writer.nodes(NodeSchema(label, extra), rows)
        for rel, rows in self.rels.items():
            writer.rels(RelSchema(rel), rows)
        self.write_events(events or open_store(database), source)
        return writer

    def write_events(self, store: EventStore, source: str = "fixture") -> int:
        """The events' store rows, with their links and chains from the builder's edges."""
        links: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for rel, rows in self.rels.items():
            for r in rows:
                links[r["src"]].append((rel, r["dst"]))
        chains = chain_links(self.rels.items())
        out = [event_row(r["key"], r["props"], links.get(r["key"], ()), (label, *extra), source, chains.get(r["key"]))
               for (label, extra), rows in self.nodes.items() if label == "Event" for r in rows]
        if out:
            run = store.begin()
            run.append(out)
            run.commit()
        return len(out)

    # -- shorthands for the model's common kinds ------------------------------------
    def user(self, name: str, domain: str, sid: str, enabled: bool = True, **props) -> str:
        key = f"{name.upper()}@{domain}"
        aliases = [key.lower(), *props.pop("aliases", [])]
        return self.node("User", key, name=key, domain=domain, objectid=sid,
                         samaccountname=props.pop("sam", name.lower()), enabled=enabled,
                         aliases=aliases, **props)

    def group(self, name: str, domain: str, sid: str, **props) -> str:
        key = f"{name.upper()}@{domain}"
        return self.node("Group", key, name=key, domain=domain, objectid=sid, **props)

    def computer(self, short: str, domain: str, sid: str, ip: str | None = None, **props) -> str:
        key = f"{short.upper()}.{domain}"
        if ip:
            props.setdefault("ip", ip)
            props.setdefault("ips", [ip])
        return self.node("Computer", key, name=key, shortname=short.upper(), domain=domain,
                         objectid=sid, samaccountname=f"{short.upper()}$", enabled=True, **props)

    def event(self, kind: str, host: str, record: int, event_id: int, ts: int, *, user: str | None = None,
              target: str | None = None, from_host: str | None = None, from_ip: str | None = None,
              channel: str = "Security", **props) -> str:
        key = f"EVT:{host}:{channel}:{record}"
        fields = {k: v for k, v in props.items() if isinstance(v, (str, int))}
        # Raw field names (TargetUserName, ...) stay in `fields`, as graph.ingest.winevents keeps them.
        declared = catalog.properties_of(("Event", kind))
        self.node("Event", key, extra=(kind,), firstseen=ts, lastseen=ts, event_id=event_id, timestamp=ts,
                  time=_iso(ts), host=host, fields=json.dumps(fields, sort_keys=True),
                  **{k: v for k, v in props.items() if k in declared})
        self.edge(key, "OnHost", host, firstseen=ts, lastseen=ts)
        if user:
            self.edge(key, "ByUser", user, firstseen=ts, lastseen=ts)
        if target:
            self.edge(key, "TargetsUser", target, firstseen=ts, lastseen=ts)
        if from_host:
            self.edge(key, "FromHost", from_host, firstseen=ts, lastseen=ts)
        if from_ip:
            self.edge(key, "FromIP", f"IP:{from_ip}", firstseen=ts, lastseen=ts)
        return key


def events_as_nodes(writer: TwinWriter, rows: list[dict]) -> int:
    """Event-store rows written as the graph held events when each was a node (labels,
    fields, raw line, its edges to the twin and its chains): the reference the store's
    reads are held to (tests/test_tools_*_store.py, evals/bench/bench_find_events.py).
    An ingest writes no such nodes. Returns how many."""
    ties = (("OnHost", "host"), ("FromHost", "from_host"), ("FromIP", "from_ip"))
    groups: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for r in rows:
        links = [(rel, r[col]) for rel, col in ties
                 if r[col] and not (rel == "OnHost" and "HostUnresolved" in r["marks"])]
        links += [("ByUser", k) for k in r["by_keys"]] + [("TargetsUser", k) for k in r["target_keys"]]
        labels = tuple(([] if r["kind"] == "Event" else [r["kind"]]) + sorted(r["marks"]))
        groups[labels].append({"key": r["key"], "firstseen": r["ts"], "lastseen": r["ts"], "links": links,
                               "props": {**r["props"], "fields": r["raw"]}})
    links = tuple(catalog.rel(t) for t in ("OnHost", "ByUser", "TargetsUser", "FromHost", "FromIP"))
    for labels, group in sorted(groups.items()):
        writer.nodes(catalog.node("Event", *labels, links=links), group)
    for rel, col in (("InLogonSession", "in_session"), ("SpawnedBy", "parent")):
        writer.rels(catalog.rel(rel), [{"src": r["key"], "dst": r[col], "firstseen": r["ts"], "lastseen": r["ts"]}
                                       for r in rows if r[col]])
    return len(rows)


def _iso(ts: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def corp_twin(driver: neo4j.Driver, database: str | None = None, *, derive: bool = True) -> TwinBuilder:
    """A two-domain enterprise with one identity path, one network path and decoys.

    Known answers (as_of = T0 unless said):
    - HELPDESK1 -MemberOf-> HELPDESK -AdminTo-> WS07 -HasSession-> BOB -MemberOf-> DOMAIN ADMINS
      (tier0), cost 2; BOB's session on WS07 lives T0-1h..T0+1h only.
    - INTERNET -CanExploit(CVE-2021-41773, KEV, 443/tcp)-> WEB01 -InZone-> dmz
      -CanExploit(CVE-2023-2454, 5432/tcp)-> DB01 -HostedOn(rev)-> CUSTOMER-DB (crown jewel), cost 3.
    - WEB01 -HasSession-> SVC_SQL -AdminTo-> DB01: SVC_SQL's session lived T0-10d..T0-9d
      (SVC_SQL is privileged, admincount true, so it is no phishable entry point).
    - 10.20.1.7 was WS01's lease T0-7d..T0-1d, then WS07's from T0-1d+1 to T0+1d.
    - Decoys: WS01A next to WS01, HELPDESK10 next to HELPDESK1; `WS01` is also a host in
      LAB.LOCAL (short name ambiguous); CAROL is disabled.
    - Events: HELPDESK1 logs on to WS07 from WS01 (4624, T0-30min), runs a process on
      WS07 (4688, T0-20min, in that logon's session), WS07 connects to DC01 (Zeek, T0-15min), HELPDESK1 replicates
      from DC01 (4662, T0-5min); BOB replicates from DC01 at T0-2d (outside a 1-day window).
    """
    b = TwinBuilder(now=T0)
    dom, lab = "CORP.LOCAL", "LAB.LOCAL"
    sid = "S-1-5-21-1000"
    b.node("Domain", dom, name=dom, domain=dom, objectid=sid, tier0=True, highvalue=True, functionallevel="2016")
    b.node("Domain", lab, name=lab, domain=lab, objectid="S-1-5-21-2000", tier0=False)

    da = b.group("Domain Admins", dom, f"{sid}-512", tier0=True, highvalue=True, admincount=True)
    du = b.group("Domain Users", dom, f"{sid}-513")
    helpdesk = b.group("Helpdesk", dom, f"{sid}-1201")
    wsadm = b.group("WS Admins", dom, f"{sid}-1202")

    alice = b.user("alice", dom, f"{sid}-1104", email="alice@corp.com", upn="alice@corp.com",
                   aliases=["alice@corp.com"], admincount=False)
    bob = b.user("bob", dom, f"{sid}-1105", admincount=True, email="bob@corp.com")
    hd1 = b.user("helpdesk1", dom, f"{sid}-1106", admincount=False)
    hd10 = b.user("helpdesk10", dom, f"{sid}-1107", admincount=False)
    svc = b.user("svc_sql", dom, f"{sid}-1108", admincount=True, hasspn=True)
    carol = b.user("carol", dom, f"{sid}-1109", enabled=False, admincount=False)
    labuser = b.user("alice", lab, "S-1-5-21-2000-1104", admincount=False)

    dc01 = b.computer("DC01", dom, f"{sid}-1000", ip="10.20.0.10", tier0=True, operatingsystem="Windows Server 2022")
    ws01 = b.computer("WS01", dom, f"{sid}-1301", ip="10.20.1.5", operatingsystem="Windows 11")
    ws01a = b.computer("WS01A", dom, f"{sid}-1302", ip="10.20.1.6", operatingsystem="Windows 11")
    ws07 = b.computer("WS07", dom, f"{sid}-1307", ip="10.20.1.7", operatingsystem="Windows 11")
    web01 = b.computer("WEB01", dom, f"{sid}-1401", ip="10.10.0.5", operatingsystem="Debian 12",
                       criticality="high", owner="web-team")
    db01 = b.computer("DB01", dom, f"{sid}-1402", ip="10.30.0.9", operatingsystem="Debian 12", criticality="critical")
    b.computer("WS01", lab, "S-1-5-21-2000-1301", ip="10.99.0.1")

    for u in (alice, hd1, hd10, svc, carol, bob):
        b.edge(u, "MemberOf", du)
    b.edge(labuser, "MemberOf", du)  # cross-domain oddity; harmless
    b.edge(hd1, "MemberOf", helpdesk)
    b.edge(helpdesk, "MemberOf", wsadm)
    b.edge(bob, "MemberOf", da)
    b.edge(helpdesk, "AdminTo", ws07)
    b.edge(wsadm, "AdminTo", ws01)
    b.edge(wsadm, "CanRDP", ws01a)
    b.edge(da, "AdminTo", dc01)
    b.edge(da, "DCSync", dom)
    b.edge(da, "GenericAll", dom)
    b.edge(svc, "AdminTo", db01)
    b.edge(hd10, "CanRDP", ws01a)
    b.edge(ws07, "HasSession", bob, firstseen=T0 - HOUR, lastseen=T0 + HOUR)
    b.edge(web01, "HasSession", svc, firstseen=T0 - 10 * DAY, lastseen=T0 - 9 * DAY)
    b.edge(ws01, "HasSession", alice, firstseen=T0 - 2 * DAY, lastseen=T0)

    # network
    b.node("Internet", "INTERNET", name="INTERNET")
    for z, facing in (("dmz", True), ("corp", False), ("db", False)):
        b.node("Zone", z, name=z, internet_facing=facing, exposed_ports=["443/tcp"] if facing else [])
    b.edge("INTERNET", "CanReach", "dmz", ports=["443/tcp"])
    b.edge("corp", "CanReach", "dmz", ports=["443/tcp", "22/tcp"])
    b.edge("dmz", "CanReach", "db", ports=["5432/tcp"])
    for host, zone in ((web01, "dmz"), (ws01, "corp"), (ws01a, "corp"), (ws07, "corp"), (dc01, "corp"), (db01, "db")):
        b.edge(host, "InZone", zone)
    for host, port, product in ((web01, 443, "Apache httpd"), (web01, 22, "OpenSSH"), (db01, 5432, "PostgreSQL"),
                                (dc01, 445, "microsoft-ds")):
        skey = f"{host}:{port}/TCP"
        b.node("Service", skey, port=port, protocol="tcp", name=product.lower(), product=product, state="open")
        b.edge(host, "HasService", skey)
    pkgs = {
        "pkg:deb/debian/apache2@2.4.49": ("apache2", "2.4.49", web01),
        "pkg:deb/debian/openssh-server@9.2p1": ("openssh-server", "9.2p1", web01),
        "pkg:deb/debian/postgresql-13@13.1": ("postgresql-13", "13.1", db01),
    }
    for purl, (name, ver, host) in pkgs.items():
        b.node("Package", purl, name=name, version=ver, purl_type="deb", ecosystem="debian")
        b.edge(host, "HasInstalled", purl)
    vulns = {
        "CVE-2021-41773": dict(base_score=7.5, attack_vector="NETWORK", is_kev=True, epss_score=0.944,
                               title="Apache path traversal"),
        "CVE-2023-2454": dict(base_score=7.2, attack_vector="NETWORK", is_kev=False, epss_score=0.012,
                              title="PostgreSQL schema_element"),
        "CVE-2023-38408": dict(base_score=9.8, attack_vector="LOCAL", is_kev=False, epss_score=0.2,
                               title="OpenSSH agent (local here)"),
    }
    for cve, props in vulns.items():
        b.node("Vulnerability", cve, **props)
    b.edge("pkg:deb/debian/apache2@2.4.49", "HasVulnerability", "CVE-2021-41773", installed_version="2.4.49",
           fixed_version="2.4.51")
    b.edge("pkg:deb/debian/postgresql-13@13.1", "HasVulnerability", "CVE-2023-2454")
    b.edge("pkg:deb/debian/openssh-server@9.2p1", "HasVulnerability", "CVE-2023-38408")
    b.node("DataAsset", "CUSTOMER-DB", name="CUSTOMER-DB", criticality="critical", crown_jewel=True,
           owner="dba-team", tags=["pii"])
    b.edge("CUSTOMER-DB", "HostedOn", db01)

    # IP leases: 10.20.1.7 moves from WS01 to WS07
    for ip in ("10.20.1.7", "10.20.1.5", "10.10.0.5", "10.20.0.10"):
        b.node("IP", f"IP:{ip}", address=ip)
    b.edge(ws01, "HasIP", "IP:10.20.1.7", firstseen=T0 - 7 * DAY, lastseen=T0 - DAY)
    b.edge(ws07, "HasIP", "IP:10.20.1.7", firstseen=T0 - DAY + 1, lastseen=T0 + DAY)
    b.edge(ws01, "HasIP", "IP:10.20.1.5", firstseen=T0 - DAY, lastseen=T0 + DAY)
    b.edge(web01, "HasIP", "IP:10.10.0.5", firstseen=T0 - 30 * DAY, lastseen=T0 + DAY)
    b.edge(dc01, "HasIP", "IP:10.20.0.10", firstseen=T0 - 30 * DAY, lastseen=T0 + DAY)

    # events around T0
    b.event("LogonEvent", ws07, 100, 4624, T0 - 1800, target=hd1, from_host=ws01, from_ip="10.20.1.5",
            logon_type=10, ip="10.20.1.5", TargetUserName="helpdesk1", IpAddress="10.20.1.5")
    b.edge(ws07, "HasSession", hd1, firstseen=T0 - 1800, lastseen=T0 - 1800)
    b.edge(hd1, "LoggedOn", ws07, firstseen=T0 - 1800, lastseen=T0 - 1800, logon_types=[10], count=1)
    b.event("ProcessEvent", ws07, 101, 4688, T0 - 1200, user=hd1, image="C:\\Tools\\mimikatz.exe",
            command_line="mimikatz.exe lsadump::dcsync /user:krbtgt")
    b.edge(f"EVT:{ws07}:Security:101", "InLogonSession", f"EVT:{ws07}:Security:100",
           firstseen=T0 - 1200, lastseen=T0 - 1200)
    b.event("ReplicationEvent", dc01, 900, 4662, T0 - 300, user=hd1, from_host=ws07,
            Properties="{1131f6ad-9c07-11d1-f79f-00c04fc2dcd2}")
    b.event("ReplicationEvent", dc01, 800, 4662, T0 - 2 * DAY, user=bob)
    b.event("LogonEvent", ws01a, 50, 4624, T0 - 600, target=hd10, logon_type=2)
    b.edge(ws07, "ConnectedTo", dc01, firstseen=T0 - 900, lastseen=T0 - 890, ports=["445/tcp"], count=3, bytes=1200)
    b.edge("INTERNET", "ConnectedTo", web01, firstseen=T0 - 30 * DAY, lastseen=T0, ports=["443/tcp"], count=500)
    b.node("Alert", "ALERT-DCSYNC-1", title="DCSync from a workstation", rule="dcsync", severity="high",
           timestamp=T0, time=_iso(T0), format="ocsf")
    b.edge("ALERT-DCSYNC-1", "Involves", hd1, role="actor")
    b.edge("ALERT-DCSYNC-1", "Involves", dc01, role="target")
    b.write(driver, database)
    if derive:
        from graph.derive.exploit import derive_exploit_edges

        derive_exploit_edges(driver, database, now=T0)
    return b


def synthetic_twin(driver: neo4j.Driver, database: str | None = None, *, users: int = 300, hosts: int = 150,
                   groups: int = 40, seed: int = 7, events_per_user: int = 1, derive: bool = True) -> dict:
    """A seeded enterprise: nested groups, admin rights, sessions, ACLs, zones, vulnerable
    services, crown-jewel data and logon events. Node count grows ~3.3x users."""
    rng = random.Random(seed)
    b = TwinBuilder(now=T0)
    dom, sid = "CORP.LOCAL", "S-1-5-21-9000"
    b.node("Domain", dom, name=dom, domain=dom, objectid=sid, tier0=True)
    da = b.group("Domain Admins", dom, f"{sid}-512", tier0=True, admincount=True)
    b.edge(da, "DCSync", dom)
    b.edge(da, "GenericAll", dom)
    gkeys = [b.group(f"G{i:04d}", dom, f"{sid}-2{i:05d}") for i in range(groups)]
    ukeys = [b.user(f"user{i:05d}", dom, f"{sid}-3{i:06d}", email=f"user{i}@corp.com", admincount=False)
             for i in range(users)]
    admins = [b.user(f"adm{i:03d}", dom, f"{sid}-4{i:05d}", admincount=True) for i in range(max(2, users // 100))]
    zones = ["dmz", "corp", "srv", "db"]
    b.node("Internet", "INTERNET", name="INTERNET")
    for z in zones:
        b.node("Zone", z, name=z, internet_facing=z == "dmz")
    b.edge("INTERNET", "CanReach", "dmz", ports=["443/tcp", "80/tcp"])
    b.edge("corp", "CanReach", "srv", ports=["443/tcp", "445/tcp", "3389/tcp"])
    b.edge("dmz", "CanReach", "db", ports=["5432/tcp"])
    b.edge("srv", "CanReach", "db", ports=["5432/tcp", "1433/tcp"])
    hkeys: list[str] = []
    zone_of: dict[str, str] = {}
    for i in range(hosts):
        z = "corp" if i % 5 < 3 else zones[i % 5 - 3 + (0 if i % 2 else 2)]  # mostly corp
        short = f"WS{i:05d}" if z == "corp" else f"SRV{i:05d}"
        h = b.computer(short, dom, f"{sid}-5{i:06d}", ip=f"10.{zones.index(z)}.{i // 250}.{i % 250 + 1}")
        hkeys.append(h)
        zone_of[h] = z
        b.edge(h, "InZone", z)
    dcs = hkeys[:2]
    for dc in dcs:
        b.edge(da, "AdminTo", dc)
    for a in admins:
        b.edge(a, "MemberOf", da)
    for i, g in enumerate(gkeys[1:], start=1):
        b.edge(g, "MemberOf", gkeys[rng.randrange(0, i)])
    for u in ukeys:
        for g in rng.sample(gkeys, k=rng.randint(1, 3)):
            b.edge(u, "MemberOf", g)
    for g in gkeys:
        for h in rng.sample(hkeys[2:], k=rng.randint(0, 4)):
            b.edge(g, "AdminTo", h)
    for h in hkeys:
        for u in rng.sample(ukeys, k=rng.randint(0, 2)):
            b.edge(h, "HasSession", u, firstseen=T0 - rng.randint(0, 3 * DAY), lastseen=T0)
        if rng.random() < 0.05:
            b.edge(h, "HasSession", rng.choice(admins), firstseen=T0 - DAY, lastseen=T0)
    for u in rng.sample(ukeys, k=max(1, users // 50)):
        b.edge(u, rng.choice(["GenericAll", "ForceChangePassword", "GenericWrite"]), rng.choice(ukeys + admins))
    # software
    vulns = []
    for i in range(max(5, hosts // 10)):
        cve = f"CVE-2024-{10000 + i}"
        vulns.append(cve)
        b.node("Vulnerability", cve, base_score=round(rng.uniform(4, 10), 1),
               attack_vector="NETWORK" if i % 3 else "LOCAL", is_kev=i % 7 == 0,
               epss_score=round(rng.random(), 3))
    products = [("nginx", 443), ("postgresql", 5432), ("openssh-server", 22), ("samba", 445), ("mssql", 1433)]
    for i, h in enumerate(hkeys):
        if zone_of[h] == "corp" and i % 4:
            continue
        name, port = products[i % len(products)]
        skey = f"{h}:{port}/TCP"
        b.node("Service", skey, port=port, protocol="tcp", name=name, product=name, state="open")
        b.edge(h, "HasService", skey)
        purl = f"pkg:deb/debian/{name}@1.{i % 9}"
        b.node("Package", purl, name=name, version=f"1.{i % 9}", purl_type="deb")
        b.edge(h, "HasInstalled", purl)
        b.edge(purl, "HasVulnerability", vulns[i % len(vulns)])
    jewels = []
    for i, h in enumerate(hk for hk in hkeys if zone_of[hk] == "db"):
        if i >= 5:
            break
        name = f"DATA-{i:02d}"
        b.node("DataAsset", name, name=name, crown_jewel=True, criticality="critical")
        b.edge(name, "HostedOn", h)
        jewels.append(name)
    # events
    for rec, u in enumerate(ukeys[: max(1, int(users * events_per_user))], start=1):
        h = rng.choice(hkeys)
        ts = T0 - rng.randint(0, DAY)
        b.event("LogonEvent", h, rec, 4624, ts, target=u, logon_type=rng.choice([2, 3, 10]))
    b.write(driver, database)
    if derive:
        from graph.derive.exploit import derive_exploit_edges

        derive_exploit_edges(driver, database, now=T0)
    return {"users": ukeys, "admins": admins, "hosts": hkeys, "groups": gkeys, "jewels": jewels,
            "domain": dom, "domain_admins": da, "dcs": dcs}
