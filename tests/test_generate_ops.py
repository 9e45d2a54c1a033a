"""The enterprise's operational data (Nmap, Trivy, SBOMs, Zeek, Windows events, alerts)
and the telemetry kit: consistent with the AD model and with itself, so that an
investigator can trust that a missing record means the thing did not happen, and
loadable through the real connectors into one twin."""

from __future__ import annotations

import json
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.alert_model import parse_alert
from graph.events import EventFilter, open_store
from graph.generate import build_enterprise, generate
from graph.generate.ops import SCAN_PORTS, build_plan
from graph.generate.telemetry import Telemetry
from graph.generate.vulns import VULNS
from graph.ingest.registry import ingest
from graph.schema import reset_twin
from tests.conftest import real_data

SEED, HOSTS, USERS = 11, 24, 48  # 24 hosts: two DCs (so they replicate), three application servers
NETWORK_PORTS = {445, 1433, 5985, 389, 49668}  # what a type 3 logon in this estate arrives on
ROOT_IMAGES = {"winlogon.exe", "services.exe", "svchost.exe"}  # started before the period


@pytest.fixture(scope="module")
def estate(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("ops")
    return out, generate(out, seed=SEED, hosts=HOSTS, users=USERS, ops=True)


def read_events(root: Path) -> list[dict]:
    return [json.loads(line) for f in sorted(root.rglob("*.jsonl")) if "alerts" not in f.parts
            for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_conns(root: Path) -> list[dict]:
    rows = []
    for f in sorted(root.rglob("conn*.log")):
        fields = None
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.startswith("#fields"):
                fields = line.split("\t")[1:]
            elif line and not line.startswith("#"):
                rec = dict(zip(fields, line.split("\t"), strict=True))
                rec["ts"] = float(rec["ts"])
                rows.append(rec)
    return rows


def ts_of(ev: dict) -> float:
    return datetime.fromisoformat(ev["@timestamp"].replace("Z", "+00:00")).timestamp()


def process_logon(ev: dict) -> str:
    if ev["EventID"] == 1:
        return ev["LogonId"]
    return ev["TargetLogonId"] if ev["TargetLogonId"] != "0x0" else ev["SubjectLogonId"]


def check_network_logons(events: list[dict], conns: list[dict], ips: dict[str, str]) -> int:
    """Every type 3 / 10 logon has its connection; returns how many were checked."""
    by_pair = defaultdict(list)
    for c in conns:
        by_pair[(c["id.orig_h"], c["id.resp_h"])].append(c)
    checked = 0
    for ev in events:
        if ev["EventID"] != 4624 or ev["LogonType"] not in ("3", "10"):
            continue
        dst = ips[ev["Hostname"].upper()]
        ports = {3389} if ev["LogonType"] == "10" else NETWORK_PORTS
        t = ts_of(ev)
        hits = [c for c in by_pair[(ev["IpAddress"], dst)] if int(c["id.resp_p"]) in ports and abs(c["ts"] - t) < 1.0
                and (ev["IpPort"] in ("0", "-") or c["id.orig_p"] == ev["IpPort"])]
        assert hits, f"no connection for {ev['Hostname']} record {ev['RecordNumber']} from {ev['IpAddress']}"
        checked += 1
    return checked


def nmap_hosts(root: Path) -> dict[str, str]:
    """FQDN (upper) -> IP as the scans report them."""
    out = {}
    for f in sorted((root / "ops" / "nmap").glob("*.xml")):
        for host in ET.parse(f).getroot().iter("host"):
            ip = host.find("address").get("addr")
            out[host.find("hostnames/hostname").get("name").upper()] = ip
    return out


# --------------------------------------------------------------------------- files only


def test_same_seed_same_bytes_and_the_directory_does_not_change(tmp_path, estate):
    out, _ = estate
    again = tmp_path / "again"
    generate(again, seed=SEED, hosts=HOSTS, users=USERS, ops=True)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert len([f for f in files if f.parts[0] == "ops"]) > 30
    for f in files:
        assert (again / f).read_bytes() == (out / f).read_bytes(), f
    plain = tmp_path / "plain"
    generate(plain, seed=SEED, hosts=HOSTS, users=USERS)
    for f in [*(plain / "ad").iterdir(), plain / "network.yaml"]:
        assert f.read_bytes() == (out / f.relative_to(plain)).read_bytes(), f
    assert not (plain / "ops").exists()


def test_every_network_logon_has_its_zeek_connection(estate):
    out, doc = estate
    events, conns = read_events(out / "ops" / "events"), read_conns(out / "ops" / "zeek")
    ips = {h.upper(): ip for h, ip in nmap_hosts(out).items()}
    assert check_network_logons(events, conns, ips) >= 50
    types = {ev["LogonType"] for ev in events if ev["EventID"] == 4624}
    assert {"2", "3", "7", "10"} <= types
    # share accesses came over a connection of the same source port
    by_src = {(c["id.orig_h"], c["id.orig_p"]) for c in conns if c["id.resp_p"] == "445"}
    shares = [ev for ev in events if ev["EventID"] == 5140]
    assert shares and all((ev["IpAddress"], ev["IpPort"]) in by_src for ev in shares)
    # Kerberos requests on the DCs too
    kerberos = {(c["id.orig_h"], c["id.orig_p"]) for c in conns if c["id.resp_p"] == "88"}
    tickets = [ev for ev in events if ev["EventID"] in (4768, 4769)]
    assert tickets and all((ev["IpAddress"].removeprefix("::ffff:"), ev["IpPort"]) in kerberos for ev in tickets)
    assert {ev["TicketEncryptionType"] for ev in tickets} == {"0x12"}  # AES only: RC4 would be a finding


def test_processes_run_in_a_logon_session_of_their_host_with_a_real_parent(estate):
    out, _ = estate
    events = read_events(out / "ops" / "events")
    logons = defaultdict(dict)
    for ev in events:
        if ev["EventID"] == 4624:
            logons[ev["Hostname"]][ev["TargetLogonId"]] = ts_of(ev)
    procs = [ev for ev in events if ev["EventID"] == 4688 or (ev["EventID"] == 1 and "Sysmon" in ev["Channel"])]
    assert len(procs) > 100
    pids = defaultdict(dict)
    for ev in procs:
        pid = int(ev["NewProcessId"], 16) if ev["EventID"] == 4688 else int(ev["ProcessId"])
        pids[ev["Hostname"]][pid] = ts_of(ev)
    roots = 0
    for ev in procs:
        lid = process_logon(ev)
        assert lid in logons[ev["Hostname"]], (ev["Hostname"], ev["EventID"], lid)
        assert logons[ev["Hostname"]][lid] <= ts_of(ev)
        if ev["EventID"] == 4688:
            ppid, pimage = int(ev["ProcessId"], 16), ev["ParentProcessName"]
        else:
            ppid, pimage = int(ev["ParentProcessId"]), ev["ParentImage"]
        if ppid in pids[ev["Hostname"]]:
            assert pids[ev["Hostname"]][ppid] < ts_of(ev)
        else:
            assert pimage.rsplit("\\", 1)[-1].lower() in ROOT_IMAGES, pimage
            roots += 1
    assert 0 < roots < len(procs) / 2
    sysmon = [ev for ev in procs if ev["EventID"] == 1]
    guids = {ev["ProcessGuid"] for ev in sysmon}
    assert len(guids) == len(sysmon)
    assert sum(ev["ParentProcessGuid"] in guids for ev in sysmon) > len(sysmon) / 2


def test_record_numbers_rise_with_time_and_times_are_utc_in_the_period(estate):
    out, doc = estate
    period = doc["ops"]["period"]
    seen: dict[tuple[str, str], tuple[float, int]] = {}
    for ev in read_events(out / "ops" / "events"):
        assert ev["@timestamp"].endswith("Z")
        t = ts_of(ev)
        assert period["start_epoch"] <= t < period["end_epoch"] + 3 * 3600
        key = (ev["Hostname"], ev["Channel"])
        if key in seen:
            assert (t, ev["RecordNumber"]) > seen[key] and ev["RecordNumber"] > seen[key][1], key
        seen[key] = (t, ev["RecordNumber"])
    assert {k[1] for k in seen} == {"Security", "Microsoft-Windows-Sysmon/Operational"}


def test_addresses_are_the_nmap_leases_and_every_host_was_scanned(estate):
    out, doc = estate
    ent = build_enterprise(SEED, HOSTS, USERS)
    scanned = nmap_hosts(out)
    assert scanned == {h.fqdn: h.ip for h in ent.hosts}
    internal = set(scanned.values())
    for c in read_conns(out / "ops" / "zeek"):
        for ip in (c["id.orig_h"], c["id.resp_h"]):
            assert ip in internal or not ip.startswith("10."), ip
    for ev in read_events(out / "ops" / "events"):
        ip = ev.get("IpAddress", "-").removeprefix("::ffff:")
        assert ip in internal or ip in ("-", "127.0.0.1"), ip
    # the scan itself is in Zeek: every probe from the scanner to every other host
    scanner = doc["planted"]["scanner_host"]["ip"]
    probes = {(c["id.resp_h"], int(c["id.resp_p"])) for c in read_conns(out / "ops" / "zeek")
              if c["id.orig_h"] == scanner}
    assert {(ip, p) for ip in internal - {scanner} for p in SCAN_PORTS} <= probes


def test_scanned_products_are_the_software_trivy_and_the_sbom_report(estate):
    out, doc = estate
    kev = doc["planted"]["kev_exposed"]
    root = ET.parse(out / "ops" / "nmap" / next(f.name for f in (out / "ops" / "nmap").glob("*-dmz.xml"))).getroot()
    host = next(h for h in root.iter("host") if h.find("hostnames/hostname").get("name").upper() == kev["host"])
    https = next(p for p in host.iter("port") if p.get("portid") == "443").find("service")
    trivy = json.loads((out / "ops" / "trivy" / f"{kev['host'].lower()}.json").read_text())
    pkgs = {p["Identifier"]["PURL"]: p for r in trivy["Results"] for p in r["Packages"]}
    catalina = next(p for p in pkgs.values() if p["Name"] == "org.apache.tomcat:tomcat-catalina")
    assert (https.get("product"), https.get("version")) == ("Apache Tomcat", catalina["Version"])
    found = {v["VulnerabilityID"] for r in trivy["Results"] for v in r.get("Vulnerabilities", [])}
    assert set(kev["kev_cves"]) <= found and kev["kev_cves"]
    assert all(VULNS[c].kev for c in kev["kev_cves"])
    sbom = json.loads((out / "ops" / "sbom" / "customer-portal-3.4.1.cdx.json").read_text())
    assert sbom["specVersion"] == "1.5" and sbom["metadata"]["component"]["purl"] == kev["application"]
    assert {c["purl"] for c in sbom["components"]} <= set(pkgs)
    refs = {c["bom-ref"] for c in sbom["components"]} | {kev["application"]}
    assert all(d["ref"] in refs and set(d["dependsOn"]) <= refs for d in sbom["dependencies"])
    assert any(c.get("properties") for c in sbom["components"])  # version constraints where they matter
    rows = (out / "inventory.csv").read_text().splitlines()
    assert any(r.startswith(kev["application"] + ",service,") and kev["host"] in r for r in rows)
    for f in (out / "ops" / "trivy").glob("*.json"):
        for r in json.loads(f.read_text()).get("Results", []):
            assert all(v["VulnerabilityID"] in VULNS for v in r.get("Vulnerabilities", []))


def test_dc_replication_is_by_dc_accounts_from_dc_addresses(estate):
    out, doc = estate
    dcs = {d["account"]: d["ip"] for d in doc["planted"]["dc_machine_accounts"]}
    assert len(dcs) == 2
    events = read_events(out / "ops" / "events")
    sessions = {(ev["Hostname"], ev["TargetLogonId"]): ev for ev in events if ev["EventID"] == 4624}
    repl = [ev for ev in events if ev["EventID"] == 4662]
    assert len(repl) == 48  # each DC pulls from its partner every hour
    for ev in repl:
        assert "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2" in ev["Properties"]
        logon = sessions[(ev["Hostname"], ev["SubjectLogonId"])]
        assert ev["SubjectUserName"] in dcs and logon["IpAddress"] == dcs[ev["SubjectUserName"]]


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10**6), hosts=st.integers(20, 40))
def test_consistency_holds_for_any_seed_and_size(seed, hosts):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        doc = generate(out, seed=seed, hosts=hosts, users=hosts * 2, ops=True)
        ips = {h.upper(): ip for h, ip in nmap_hosts(out).items()}
        assert check_network_logons(read_events(out / "ops" / "events"), read_conns(out / "ops" / "zeek"), ips) > 0
        assert doc["planted"]["kev_exposed"]["host"].startswith("WEB01.")


def test_kit_alerts_are_documents_the_alert_model_reads():
    ent = build_enterprise(SEED, HOSTS, USERS)
    tel = Telemetry(ent, start=1_736_300_000)
    dc, ws = (next(h for h in ent.hosts if h.role == r) for r in ("dc", "workstation"))
    user = next(u for u in ent.users if u.kind == "staff" and u.enabled)
    o = parse_alert(tel.alert_ocsf("Possible DCSync", "T1003.006", host=dc, user=user, src=ws))
    e = parse_alert(tel.alert_ecs("Lateral movement", "T1021.002", host=dc, user=user, src=ws, dst=dc,
                                  severity="critical"))
    assert (o.format, sorted(o.techniques), o.severity) == ("ocsf", ["T1003", "T1003.006"], "high")
    assert (e.format, e.techniques[-1], e.severity) == ("ecs", "T1021.002", "critical")
    for a in (o, e):
        assert {m.raw.split(".")[0].upper() for m in a.hosts} == {dc.short}
        assert {m.raw.upper() for m in a.users} == {user.sam.upper()}
        assert ws.ip in {m.raw for m in a.ips}


def test_kit_ids_never_collide_with_the_background(estate):
    out, doc = estate
    ent = build_enterprise(SEED, HOSTS, USERS)
    fs = next(h for h in ent.hosts if h.role == "file")
    ws = next(h for h in ent.hosts if h.role == "workstation")
    admin = next(u for u in ent.users if u.kind == "tier1")
    tel = Telemetry(ent, start=doc["ops"]["period"]["end_epoch"] - 3600)
    s = tel.logon(fs, admin, 3, src_host=ws)
    tel.process(s, "C:\\Windows\\System32\\cmd.exe", "cmd.exe /c whoami")
    background = read_events(out / "ops" / "events")
    keys = {(e["Hostname"], e["Channel"], e["RecordNumber"]) for e in background}
    lids = {(e["Hostname"], e["TargetLogonId"]) for e in background if e["EventID"] == 4624}
    assert not keys & {(e["Hostname"], e["Channel"], e["RecordNumber"]) for e in tel.events}
    assert (tel.names.hostname(fs), s.logon_id) not in lids


def test_kit_writes_nothing_it_was_not_asked_for(tmp_path):
    ent = build_enterprise(SEED, HOSTS, USERS)
    tel = Telemetry(ent, start=1_736_300_000)
    tel.connection("INTERNET", "WEB01", 443, src_ip="185.220.101.47", bytes=5000)
    assert tel.write(tmp_path) == {"conn.log": 1}
    assert not (tmp_path / "events.jsonl").exists()
    with pytest.raises(ValueError):
        tel.connection("INTERNET", "WEB01", 443)  # a source outside needs its address
    with pytest.raises(KeyError):
        tel.logon("NOPE99", "nobody", 3, src_host="WEB01")


def test_kit_directory_change_comes_from_a_session_of_the_actor():
    ent = build_enterprise(SEED, HOSTS, USERS)
    tel = Telemetry(ent, start=1_736_300_000)
    dc = next(h for h in ent.hosts if h.role == "dc")
    admin = next(u for u in ent.users if u.kind == "tier1")
    victim = next(u for u in ent.users if u.kind == "staff" and u.enabled)
    paw = tel.home_host(admin)
    assert paw.role == "jump"
    change = tel.directory_change(dc, admin.name, victim.name, 4724)
    [logon] = [e for e in tel.events if e["EventID"] == 4624]
    assert (logon["IpAddress"], logon["LogonType"], logon["TargetUserName"]) == (paw.ip, "3", admin.sam)
    assert change["SubjectLogonId"] == logon["TargetLogonId"] and change["TargetSid"] == victim.sid
    assert {(c.orig_h, c.resp_h, c.resp_p) for c in tel.conns} >= {(paw.ip, dc.ip, 389)}
    with pytest.raises(ValueError):
        tel.directory_change(dc, admin, victim, 4740)


def test_kit_service_logon_runs_the_service_under_services_exe():
    """A service (a web server exploited later) runs in a type 5 logon the host's service
    control manager makes: no network side, and its process's parent is services.exe."""
    ent = build_enterprise(SEED, HOSTS, USERS)
    tel = Telemetry(ent, start=1_736_300_000)
    web = next(h for h in ent.hosts if h.role == "web")
    s = tel.logon(web, "svc-web", 5)
    httpd = tel.process(s, "C:\\Apache24\\bin\\httpd.exe", "httpd.exe -k runservice")
    shell = tel.process(s, "C:\\Windows\\System32\\cmd.exe", "cmd.exe /c whoami", parent=httpd)
    [logon] = [e for e in tel.events if e["EventID"] == 4624]
    assert (logon["LogonType"], logon["TargetUserName"], logon["SubjectUserName"], logon["SubjectLogonId"]) == \
        ("5", "svc-web", f"{web.short}$", "0x3e7")
    assert logon["ProcessName"].endswith("services.exe") and logon["IpAddress"] == "-"
    assert tel.conns == []
    [p4688] = [e for e in httpd.events if e["EventID"] == 4688]
    assert p4688["ParentProcessName"].endswith("services.exe") and p4688["SubjectLogonId"] == s.logon_id
    [sysmon] = [e for e in shell.events if e["EventID"] == 1]
    assert (sysmon["ParentProcessGuid"], sysmon["TerminalSessionId"]) == (httpd.guid, "0")


def test_kit_replication_calls_share_one_bind():
    """A DCSync of several accounts is one RPC bind and one logon on the DC, then one
    4662 per call; a directory read has no replication rights."""
    ent = build_enterprise(SEED, HOSTS, USERS)
    tel = Telemetry(ent, start=1_736_300_000)
    dc = next(h for h in ent.hosts if h.role == "dc")
    ws = next(h for h in ent.hosts if h.role == "workstation")
    hd = next(u for u in ent.users if u.kind == "helpdesk")
    evs = tel.replication(dc, hd, ws, requests=3)
    [logon] = [e for e in evs if e["EventID"] == 4624]
    calls = [e for e in evs if e["EventID"] == 4662]
    assert len(calls) == 3 and {e["SubjectLogonId"] for e in calls} == {logon["TargetLogonId"]}
    assert all("1131f6ad-9c07-11d1-f79f-00c04fc2dcd2" in e["Properties"] for e in calls)
    assert sorted(c.resp_p for c in tel.conns if c.resp_h == dc.ip and c.resp_p != 88) == [135, 49668]
    read = tel.replication(dc, hd, ws, with_replication_guids=False)
    assert [e["AccessMask"] for e in read if e["EventID"] == 4662] == ["0x10"]
    with pytest.raises(ValueError):
        tel.replication(dc, hd, ws, requests=0)


# --------------------------------------------------------------------------- through the connectors


@pytest.fixture(scope="module")
def loaded(driver, neo4j_settings, estate):
    reset_twin(driver, neo4j_settings.database)
    out, doc = estate
    report = ingest(driver, [out / p for p in doc["ingest_paths"]], database=neo4j_settings.database)

    def q(query: str, **params):
        return [r.data() for r in driver.execute_query(query, params, database_=neo4j_settings.database).records]

    return report, q, doc


def test_the_estate_ingests_without_rejects(loaded):
    report, q, doc = loaded
    assert report.rejected == []
    assert {"sharphound", "network", "inventory", "nmap", "trivy", "cyclonedx", "zeek", "winevents", "alerts"} \
        <= set(report.formats)
    assert q("MATCH (c:Computer) WHERE NOT 'sharphound' IN c.sources AND NOT coalesce(c.external, false) "
             "RETURN collect(c.key) AS k")[0]["k"] == \
        [a["key"] for a in doc["planted"]["appliances"]]  # no host only an operational source knows
    assert q("MATCH (u:User) WHERE NOT 'sharphound' IN u.sources RETURN count(u) AS n")[0]["n"] == 0


def test_the_dmz_web_host_is_one_node_with_every_source(loaded, neo4j_settings):
    _, q, doc = loaded
    kev = doc["planted"]["kev_exposed"]
    [node] = q("MATCH (c:Computer) WHERE c.key = $k OR c.ip = $ip RETURN c.key AS key, c.sources AS s, c.ip AS ip",
               k=kev["host"], ip=kev["ip"])
    assert node["key"] == kev["host"] and node["ip"] == kev["ip"]
    assert {"sharphound", "nmap", "trivy", "zeek", "winevents", "inventory"} <= set(node["s"])
    [app] = q("MATCH (a:Application {key: $a})-[r:HostedOn]->(c:Computer {key: $k}) "
              "RETURN a.sources AS s, r.sources AS rs, count{(a)-[:HasInstalled]->(:Package)} AS libs",
              a=kev["application"], k=kev["host"])
    assert "cyclonedx" in app["s"] and "inventory" in app["rs"] and app["libs"] > 10
    [svc] = q("MATCH (:Computer {key: $k})-[:HasService]->(s:Service {port: 443}) RETURN s.product AS p", k=kev["host"])
    assert svc["p"] == "Apache Tomcat"
    [seen] = q("MATCH (:Internet)-[r:ConnectedTo]->(:Computer {key: $k}) RETURN r.ports AS p, r.count AS n",
               k=kev["host"])
    assert seen["p"] == ["443/tcp"] and seen["n"] > 100
    assert open_store(neo4j_settings.database).query(EventFilter(on_hosts=[kev["host"]], limit=1))
    assert q("MATCH (:Computer {key: $k})-[:HasInstalled]->(p:Package)-[:HasVulnerability]->(v) "
             "WHERE v.key IN $cves RETURN count(DISTINCT v) AS n", k=kev["host"], cves=kev["kev_cves"])[0]["n"] == \
        len(kev["kev_cves"])


def test_internet_can_exploit_the_exposed_kev_host(loaded):
    _, q, doc = loaded
    kev = doc["planted"]["kev_exposed"]
    [edge] = q("MATCH (:Internet)-[r:CanExploit]->(:Computer {key: $k}) RETURN r.cve AS cve, r.port AS port",
               k=kev["host"])
    assert edge["port"] == "443/tcp" and edge["cve"] in kev["kev_cves"]
    internal = doc["planted"]["internal_kev"]
    assert q("MATCH (z:Zone {key: 'corp'})-[r:CanExploit]->(:Computer {key: $k}) RETURN r.cves AS c",
             k=internal["host"])[0]["c"]


def test_the_kev_catalog_flags_the_exposure(loaded, driver, neo4j_settings):
    _, q, doc = loaded
    catalog = real_data("kev", "known_exploited_vulnerabilities.json")
    assert ingest(driver, [catalog], database=neo4j_settings.database).rejected == []
    kev = doc["planted"]["kev_exposed"]
    [edge] = q("MATCH (:Internet)-[r:CanExploit]->(:Computer {key: $k}) RETURN r.cve AS cve, r.is_kev AS kev",
               k=kev["host"])
    assert edge["kev"] is True and edge["cve"] in kev["kev_cves"]
    # the table's own KEV marks agree with the catalog for every CVE the scanners reported
    found = q("MATCH (v:Vulnerability) WHERE v.key IN $keys AND 'trivy' IN v.sources "
              "RETURN v.key AS k, v.is_kev AS kev", keys=sorted(VULNS))
    assert len(found) > 10 and all(r["kev"] is VULNS[r["k"]].kev for r in found)


def test_events_are_tied_to_the_twin(loaded, neo4j_settings):
    _, q, doc = loaded
    events = open_store(neo4j_settings.database).query(EventFilter())
    by_key = {e["key"]: e for e in events}
    computers = set(q("MATCH (c:Computer) RETURN collect(c.key) AS k")[0]["k"])
    assert events and all(e["host"] in computers and not e["marks"] for e in events)
    assert all(e["from_host"] in computers for e in events
               if e["kind"] == "LogonEvent" and e["props"].get("logon_type") in (3, 10))
    assert all(by_key.get(e["in_session"], {}).get("kind") == "LogonEvent" for e in events
               if e["kind"] == "ProcessEvent" and e["channel"] != "Security")
    dcs = [d["key"] for d in doc["planted"]["dc_machine_accounts"]]
    assert len([e for e in events if e["kind"] == "ReplicationEvent" and set(e["by_keys"]) & set(dcs)]) == 48


def test_kit_lateral_movement_round_trip(loaded, driver, neo4j_settings, tmp_path):
    _, q, doc = loaded
    ent = build_enterprise(SEED, HOSTS, USERS)
    plan = build_plan(ent)
    ws = next(h for h in ent.hosts if h.role == "workstation")
    fs = next(h for h in ent.hosts if h.role == "file")
    admin = next(u for u in ent.users if u.kind == "tier1")
    tel = Telemetry(ent, start=plan.end - 1800)
    s = tel.logon(fs.fqdn, admin.name, 3, src_host=ws.fqdn)
    tel.share_access(s, "ADMIN$")
    tel.service_install(s, "PSEXESVC", "%SystemRoot%\\PSEXESVC.exe")
    p = tel.process(s, "C:\\Windows\\PSEXESVC.exe", "C:\\Windows\\PSEXESVC.exe")
    tel.process(s, "C:\\Windows\\System32\\cmd.exe", "cmd.exe /c whoami", parent=p)
    tel.write(tmp_path)
    assert ingest(driver, [tmp_path], database=neo4j_settings.database).rejected == []
    events = {e["key"]: e for e in open_store(neo4j_settings.database).query(EventFilter())}
    [logon] = [e for e in events.values() if e["kind"] == "LogonEvent" and e["host"] == fs.fqdn
               and e["props"].get("target_logon_id") == s.logon_id]
    assert (logon["from_host"], logon["target_keys"]) == (ws.fqdn, [admin.name])
    [conn] = q("MATCH (:Computer {key: $a})-[r:ConnectedTo]->(:Computer {key: $b}) RETURN r.ports AS p",
               a=ws.fqdn, b=fs.fqdn)
    assert "445/tcp" in conn["p"]
    chain = [events[c["parent"]]["props"]["image"] for c in events.values()
             if c["kind"] == "ProcessEvent" and c["props"].get("command_line") == "cmd.exe /c whoami"
             and c["parent"] in events and events[c["parent"]]["kind"] == "ProcessEvent"
             and events.get(c["in_session"], {}).get("key") == logon["key"]]
    assert chain and set(chain) == {"C:\\Windows\\PSEXESVC.exe"}
