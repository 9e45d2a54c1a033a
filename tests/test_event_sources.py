"""The twin's live layer: Zeek conn.log, Windows Security/Sysmon events, OCSF and Elastic
alerts, and the resolution that ties what they name to the twin's own nodes.

Fixtures under tests/data/events are hand-written in the formats as their tools write
them; the base twin (AD hosts and users, Nmap-style HasIP leases) is written directly
through the shared TwinWriter so these tests do not depend on the other connectors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.alert_model import SEVERITIES, AlertFormatError, parse_alert, parse_alert_file
from graph.catalog import HAS_IP, IP
from graph.ingest import alerts, winevents, zeek
from graph.ingest.base import BadFile, IngestContext, Source
from graph.ingest.registry import connectors, ingest, sniff
from graph.loader import TwinWriter
from graph.model import NodeSchema, RelSchema
from graph.resolve import INTERNET_KEY, TwinIndex, classify_ip
from tests.conftest import real_data

DATA = Path(__file__).parent / "data" / "events"
T0 = 1710237600  # 2024-03-12T10:00:00Z
DOM_SID = "S-1-5-21-1111-2222-3333"
MORDOR = "covenant_dcsync_dcerpc_drsuapi_DsGetNCChanges_2020-08-05020926.json"


# --------------------------------------------------------------------------- base twin


def write_base(twin) -> None:
    """CORP.LOCAL: DC01, WS01, WS02, FILE01; alice, helpdesk1, svc_sql; and leases in
    which 10.20.1.7 is WS01's until T0+1h and WS02's from T0+2h."""
    w = TwinWriter(twin.driver, "fixture", database=twin.database, now=T0 - 86400)
    w.nodes(NodeSchema("Domain", ("Base",)), [
        {"key": "CORP.LOCAL", "props": {"name": "CORP.LOCAL", "objectid": DOM_SID}}])
    w.nodes(NodeSchema("Computer", ("Base",)), [
        {"key": f"{h}.CORP.LOCAL", "props": {"name": f"{h}.CORP.LOCAL", "shortname": h,
                                              "objectid": f"{DOM_SID}-{rid}", "domain": "CORP.LOCAL"}}
        for h, rid in (("DC01", 1000), ("WS01", 1101), ("WS02", 1102), ("FILE01", 1103))])
    w.nodes(NodeSchema("User", ("Base",)), [
        {"key": "ALICE@CORP.LOCAL", "props": {
            "name": "ALICE@CORP.LOCAL", "samaccountname": "alice", "objectid": f"{DOM_SID}-1105",
            "domain": "CORP.LOCAL", "upn": "alice@corp.example.com",
            "aliases": ["alice", "alice@corp.local", "alice@corp.example.com"]}},
        {"key": "HELPDESK1@CORP.LOCAL", "props": {
            "name": "HELPDESK1@CORP.LOCAL", "samaccountname": "helpdesk1",
            "objectid": f"{DOM_SID}-1106", "domain": "CORP.LOCAL"}},
        {"key": "SVC_SQL@CORP.LOCAL", "props": {
            "name": "SVC_SQL@CORP.LOCAL", "samaccountname": "svc_sql",
            "objectid": f"{DOM_SID}-1107", "domain": "CORP.LOCAL"}},
    ])
    leases = [("WS01", "10.20.1.7", T0 - 86400, T0 + 3600), ("WS02", "10.20.1.7", T0 + 7200, T0 + 86400),
              ("DC01", "10.10.0.5", T0 - 30 * 86400, T0 + 86400),
              ("FILE01", "10.10.0.20", T0 - 30 * 86400, T0 + 86400)]
    w.nodes(NodeSchema("IP"), [{"key": f"IP:{ip}", "props": {"address": ip}} for ip in
                               sorted({lease[1] for lease in leases})])
    w.rels(RelSchema("HasIP"), [{"src": f"{h}.CORP.LOCAL", "dst": f"IP:{ip}", "firstseen": f,
                                 "lastseen": la} for h, ip, f, la in leases])


def ctx_for(twin) -> IngestContext:
    return IngestContext(driver=twin.driver, database=twin.database, now=T0 + 86400)


def run(twin, *names: str, now: int = T0 + 86400):
    return ingest(twin.driver, [DATA / n for n in names], database=twin.database, now=now)


def edge(twin, a: str, t: str, b: str) -> dict | None:
    recs = twin.run(f"MATCH (:Twin {{key: $a}})-[r:{t}]->(:Twin {{key: $b}}) RETURN properties(r) AS p",
                    a=a, b=b)
    return dict(recs[0]["p"]) if recs else None


# An event's ties, as the graph's edges named them when events were graph nodes.
_TIES = {"OnHost": "host", "FromHost": "from_host", "FromIP": "from_ip", "InLogonSession": "in_session",
         "SpawnedBy": "parent", "ByUser": "by_keys", "TargetsUser": "target_keys"}


def targets(twin, src: str, t: str) -> set[str]:
    """What `src` points to by `t`: a graph edge, or for an event (a row of the event
    store) the column holding that tie (no host while the event's host is unresolved)."""
    if src.startswith(("EVT:", "ZEEK:")) and t in _TIES:
        r = twin.event(src)
        if r is None or (t == "OnHost" and "HostUnresolved" in r["marks"]):
            return set()
        v = r[_TIES[t]]
        return set(v) if isinstance(v, list) else ({v} if v else set())
    return set(twin.value(f"MATCH (:Twin {{key: $k}})-[:{t}]->(x) RETURN collect(x.key)", k=src))


def event_props(twin, key: str) -> dict:
    """An event's normalised fields, and its raw line as `fields`."""
    r = twin.event(key)
    return {**r["props"], "fields": r["raw"]}


# --------------------------------------------------------------------------- resolution (pure)


def test_ip_classes():
    assert classify_ip("10.20.1.7").kind == "internal"
    assert classify_ip("::ffff:10.20.1.7").address == "10.20.1.7"
    assert classify_ip("185.220.101.47").kind == "internet"
    assert classify_ip("224.0.0.251").kind == "ignore"
    assert classify_ip("127.0.0.1").kind == "ignore"
    assert classify_ip("255.255.255.255").kind == "ignore"
    assert classify_ip("fe80::1%eth0").kind == "internal"
    assert classify_ip("10.20.1.300") is None and classify_ip("-") is None and classify_ip(7) is None


def test_lease_choice_by_time():
    idx = TwinIndex()
    idx.add_lease("10.0.0.9", "A", 100, 200)
    idx.add_lease("10.0.0.9", "B", 300, 400)
    idx.add_lease("10.0.0.9", "C", 350, 500)  # overlaps B: the later-starting lease wins
    assert idx.host_for_ip("10.0.0.9", 150) == "A"
    assert idx.host_for_ip("10.0.0.9", 250) == "A"  # gap: the lease that ended last before
    assert idx.host_for_ip("10.0.0.9", 320) == "B"
    assert idx.host_for_ip("10.0.0.9", 360) == "C"
    assert idx.host_for_ip("10.0.0.9", 900) == "C"
    assert idx.host_for_ip("10.0.0.9", 50) == "A"  # before every lease: the earliest
    idx.add_host("SRV.CORP.LOCAL", ip="10.0.0.50")
    assert idx.host_for_ip("10.0.0.50", 0) == "SRV.CORP.LOCAL"  # no leases: the host's ip
    assert idx.host_for_ip("10.0.0.51", 0) is None


def test_account_name_forms_pure():
    idx = TwinIndex()
    idx.add_domain("CORP.LOCAL", objectid=DOM_SID)
    idx.add_user("ALICE@CORP.LOCAL", sam="alice", objectid=f"{DOM_SID}-1105",
                 aliases=["alice@corp.example.com"])
    idx.add_host("WS01.CORP.LOCAL", short="WS01", objectid=f"{DOM_SID}-1101")
    forms = [("CORP\\alice", None, None), ("alice@corp.local", None, None),
             ("alice", "CORP.LOCAL", None), ("alice", "CORP", None), ("ALICE", None, None),
             ("alice@corp.example.com", None, None), ("-", "-", f"{DOM_SID}-1105"),
             ("whatever", "CORP", f"{DOM_SID}-1105")]
    for name, dom, sid in forms:
        acct = idx.resolve_account(name, dom, sid)
        assert acct is not None and acct.key == "ALICE@CORP.LOCAL" and acct.exists, (name, dom, sid)
    assert idx.resolve_account("WS01$", "CORP").key == "WS01.CORP.LOCAL"
    new = idx.resolve_account("bob", "CORP")
    assert new.key == "BOB@CORP.LOCAL" and not new.exists  # domain known: may be created
    assert idx.resolve_account("mallory", "FOREIGN") is None  # unknown domain: no key
    assert idx.resolve_account("SYSTEM", "NT AUTHORITY", "S-1-5-18") is None
    assert idx.resolve_account("DWM-1", "Window Manager") is None
    assert idx.resolve_account("Administrator", "WS01", host_short="WS01") is None


def test_learning_netbios_and_sids_from_the_data():
    idx = TwinIndex()  # an empty twin: only the events say who is who
    idx.learn_account("pgustavo", "THESHIRE.LOCAL", "S-1-5-21-1-2-3-1104")
    idx.learn_account("pgustavo", "THESHIRE", "S-1-5-21-1-2-3-1104")
    idx.learn_account("-", "-", "S-1-5-21-1-2-3-1200")
    idx.finish_learning()
    assert idx.netbios["THESHIRE"] == "THESHIRE.LOCAL"
    assert idx.resolve_account("-", "-", "S-1-5-21-1-2-3-1104").key == "PGUSTAVO@THESHIRE.LOCAL"
    assert idx.resolve_account("THESHIRE\\pgustavo").key == "PGUSTAVO@THESHIRE.LOCAL"


# --------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize("name,expected", [
    ("conn.log", "zeek"), ("conn.json", "zeek"), ("windows.jsonl", "winevents"),
    ("ocsf_dcsync.json", "alerts"), ("ocsf_findings.jsonl", "alerts"),
    ("elastic_alert.json", "alerts"), ("elastic_alerts.ndjson", "alerts"),
])
def test_sniffing_picks_the_connector(name, expected):
    source = Source.from_path(DATA / name)
    assert sniff(source, None, connectors()).name == expected


def test_mordor_is_sniffed_as_windows_events():
    path = real_data("mordor-dcsync", MORDOR)
    assert sniff(Source.from_path(path), None, connectors()).name == "winevents"


# --------------------------------------------------------------------------- Zeek


def test_zeek_tsv_aggregates_per_host_pair(twin):
    write_base(twin)
    report = run(twin, "conn.log")
    assert report.records == 12
    rejected = {r.record: r.error for r in report.rejected}
    assert set(rejected) == {"line 18", "line 19", "line 20"}
    assert "bad ts" in rejected["line 18"] and "bad IP" in rejected["line 19"]
    assert "fields" in rejected["line 20"]
    ws01_dc = edge(twin, "WS01.CORP.LOCAL", "ConnectedTo", "DC01.CORP.LOCAL")
    assert ws01_dc["ports"] == ["53/udp", "88/tcp", "445/tcp"]
    assert ws01_dc["count"] == 4
    assert ws01_dc["bytes"] == 1220 + 904 + 880 + 612 + 1534 + 1461 + 42 + 58
    assert (ws01_dc["firstseen"], ws01_dc["lastseen"]) == (1710237700, 1710237850)
    # not one per record: 5 host pairs, and each flow with a public address twice more — to
    # the host known by that address and summed on the Internet node
    assert twin.value("MATCH ()-[r:ConnectedTo]->() WHERE NOT coalesce(startNode(r).external, false) "
                      "AND NOT coalesce(endNode(r).external, false) RETURN count(r)") == 5
    assert twin.value("MATCH (c:Computer {external: true}) RETURN count(c)") >= 1
    inbound = edge(twin, INTERNET_KEY, "ConnectedTo", "FILE01.CORP.LOCAL")
    assert inbound["ports"] == ["3389/tcp"] and inbound["bytes"] == 0
    assert edge(twin, "WS01.CORP.LOCAL", "ConnectedTo", INTERNET_KEY)["ports"] == ["443/tcp"]
    # an internal address no source knows becomes a host keyed by its IP
    assert twin.value("MATCH (c:Computer {key: '10.20.1.99'}) RETURN c.ip") == "10.20.1.99"
    assert edge(twin, "10.20.1.99", "ConnectedTo", "FILE01.CORP.LOCAL")["count"] == 1
    # multicast names no host
    assert twin.value("MATCH (n {key: '224.0.0.251'}) RETURN count(n)") == 0


def test_zeek_same_ip_two_hosts_at_two_times(twin):
    write_base(twin)
    run(twin, "conn.log")
    later = edge(twin, "WS02.CORP.LOCAL", "ConnectedTo", "DC01.CORP.LOCAL")
    assert later["count"] == 1 and later["ports"] == ["445/tcp"]
    assert later["firstseen"] == 1710245300
    assert edge(twin, "WS01.CORP.LOCAL", "ConnectedTo", "DC01.CORP.LOCAL")["lastseen"] < T0 + 3600
    assert twin.value("MATCH (n {key: '10.20.1.7'}) RETURN count(n)") == 0


def test_zeek_json_adds_up_and_reingest_changes_nothing(twin):
    write_base(twin)
    run(twin, "conn.log")
    report = run(twin, "conn.json")
    assert report.records == 5
    assert {r.record for r in report.rejected} == {"line 4", "line 5"}
    e = edge(twin, "WS01.CORP.LOCAL", "ConnectedTo", "DC01.CORP.LOCAL")
    assert e["count"] == 7
    assert e["ports"] == ["53/udp", "88/tcp", "135/tcp", "445/tcp", "49667/tcp"]
    assert e["bytes"] == 6711 + 72 + 84 + 18220 + 944120
    before = twin.snapshot()
    again = run(twin, "conn.log", "conn.json", now=T0 + 2 * 86400)
    assert again.stats.nodes_created == 0 and again.stats.relationships_created == 0
    assert twin.snapshot() == before


def test_zeek_headerless_or_foreign_file_is_a_bad_file(twin):
    ctx = ctx_for(twin)
    with pytest.raises(BadFile):
        zeek.transform(Source("x.log", b"1710237700.1\tC1\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\n"), ctx)
    with pytest.raises(BadFile, match="lacks query: not a Zeek dns log"):
        zeek.transform(Source("dns.log", b"#separator \\x09\n#fields\tts\tuid\tanswers\n"), ctx)


# --------------------------------------------------------------------------- Windows events


def test_windows_events_subtypes_links_and_rejects(twin):
    write_base(twin)
    report = run(twin, "windows.jsonl")
    assert report.records == 25
    rejected = {r.record: r.error for r in report.rejected}
    assert rejected == {
        "line 4": rejected["line 4"], "line 5": "missing EventID", "line 13": "missing Hostname",
        "line 14": rejected["line 14"], "line 24": "not a JSON object", "line 25": rejected["line 25"],
    }
    assert rejected["line 4"].startswith("not JSON")
    assert rejected["line 14"].startswith("missing time")
    assert rejected["line 25"].startswith("bad time")
    assert len(twin.events()) == 19
    assert twin.value("MATCH (e:Event) RETURN count(e)") == 0  # events are the store's rows

    def labels(rec: int, host: str, channel: str = "Security") -> set[str]:
        r = twin.event(f"EVT:{host}:{channel}:{rec}")
        return {"Event", r["kind"], *r["marks"]}

    sysmon = "Microsoft-Windows-Sysmon/Operational"
    assert "LogonEvent" in labels(58210, "WS01.CORP.LOCAL")
    assert "ReplicationEvent" in labels(912007, "DC01.CORP.LOCAL")
    assert "DirectoryAccessEvent" in labels(912010, "DC01.CORP.LOCAL")
    assert "ReplicationEvent" not in labels(912010, "DC01.CORP.LOCAL")
    assert "ProcessEvent" in labels(58217, "WS01.CORP.LOCAL")
    assert "ProcessEvent" in labels(771209, "WS01.CORP.LOCAL", sysmon)
    assert "NetworkEvent" in labels(771215, "WS01.CORP.LOCAL", sysmon)
    assert "TicketEvent" in labels(912015, "DC01.CORP.LOCAL")
    assert "LogonFailureEvent" in labels(912022, "DC01.CORP.LOCAL")
    assert labels(33101, "FILE01.CORP.LOCAL") == {"Event"}  # 5145: kept, generic

    dcsync = "EVT:DC01.CORP.LOCAL:Security:912007"
    assert targets(twin, dcsync, "OnHost") == {"DC01.CORP.LOCAL"}
    assert targets(twin, dcsync, "ByUser") == {"ALICE@CORP.LOCAL"}
    assert targets(twin, dcsync, "InLogonSession") == {"EVT:DC01.CORP.LOCAL:Security:912004"}
    props = event_props(twin, dcsync)
    assert props["event_id"] == 4662 and props["access_mask"] == "0x100"
    assert props["time"] == "2024-03-12T10:11:00.733Z" and props["timestamp"] == 1710238260
    assert json.loads(props["fields"])["RecordNumber"] == 912007

    # the 4624 on DC01 came from 10.20.1.7, which was WS01's address then
    logon = "EVT:DC01.CORP.LOCAL:Security:912004"
    assert targets(twin, logon, "FromHost") == {"WS01.CORP.LOCAL"}
    assert targets(twin, logon, "FromIP") == {"IP:10.20.1.7"}
    assert targets(twin, logon, "TargetsUser") == {"ALICE@CORP.LOCAL"}
    # an RDP logon leaves a session; a network logon is LoggedOn only
    assert edge(twin, "WS01.CORP.LOCAL", "HasSession", "ALICE@CORP.LOCAL") is not None
    assert edge(twin, "DC01.CORP.LOCAL", "HasSession", "ALICE@CORP.LOCAL") is None
    lo = edge(twin, "ALICE@CORP.LOCAL", "LoggedOn", "DC01.CORP.LOCAL")
    assert lo["logon_types"] == [3] and lo["count"] == 1 and lo["firstseen"] == 1710238260
    assert edge(twin, "ALICE@CORP.LOCAL", "LoggedOn", "WS01.CORP.LOCAL")["logon_types"] == [10]

    # process chains: 4688 by parent pid + logon id, Sysmon by ProcessGuid
    assert targets(twin, "EVT:WS01.CORP.LOCAL:Security:58217", "SpawnedBy") == {
        "EVT:WS01.CORP.LOCAL:Security:58214"}
    assert targets(twin, "EVT:WS01.CORP.LOCAL:Security:58214", "SpawnedBy") == set()
    assert targets(twin, f"EVT:WS01.CORP.LOCAL:{sysmon}:771209", "SpawnedBy") == {
        f"EVT:WS01.CORP.LOCAL:{sysmon}:771203"}
    assert targets(twin, "EVT:WS01.CORP.LOCAL:Security:58217", "InLogonSession") == {
        "EVT:WS01.CORP.LOCAL:Security:58210"}

    # Kerberos: RC4 service ticket; TGT without pre-authentication from the internet
    tgs = event_props(twin, "EVT:DC01.CORP.LOCAL:Security:912015")
    assert tgs["ticket_encryption_type"] == "0x17" and tgs["ticket_encryption"] == "RC4-HMAC"
    assert targets(twin, "EVT:DC01.CORP.LOCAL:Security:912015", "TargetsUser") == {"SVC_SQL@CORP.LOCAL"}
    asrep = "EVT:DC01.CORP.LOCAL:Security:912020"
    assert event_props(twin, asrep)["pre_auth_type"] == 0
    assert targets(twin, asrep, "FromIP") == {"IP:185.220.101.47"}
    assert targets(twin, asrep, "FromHost") == set()
    assert targets(twin, asrep, "TargetsUser") == {"SVC_BACKUP@CORP.LOCAL"}  # domain known: created

    # no junk: unknown domain, local account, unknown short host name
    assert twin.value("MATCH (u:User) WHERE u.key CONTAINS 'MALLORY' OR u.key CONTAINS 'ADMINISTRATOR' "
                      "OR u.key CONTAINS 'KIOSK' RETURN count(u)") == 0
    mallory = event_props(twin, "EVT:WS01.CORP.LOCAL:Security:58230")
    assert mallory["target_user"] == "FOREIGN\\mallory"
    assert targets(twin, "EVT:WS01.CORP.LOCAL:Security:58230", "TargetsUser") == set()
    # a short host name the twin does not know is a host of the twin's only domain
    assert twin.value("MATCH (n) WHERE n.key STARTS WITH 'LAPTOP77' RETURN collect(n.key)") == [
        "LAPTOP77.CORP.LOCAL"]
    assert targets(twin, f"EVT:LAPTOP77.CORP.LOCAL:{sysmon}:1200", "OnHost") == {"LAPTOP77.CORP.LOCAL"}
    # an event is keyed by its host as the twin keys it, whatever the file calls it
    assert targets(twin, f"EVT:WS02.CORP.LOCAL:{sysmon}:402118", "OnHost") == {"WS02.CORP.LOCAL"}


def test_windows_name_forms_resolve_to_one_user(twin):
    write_base(twin)
    run(twin, "windows.jsonl")
    sysmon = "Microsoft-Windows-Sysmon/Operational"
    forms = {  # event -> how it names alice
        "EVT:WS01.CORP.LOCAL:Security:58210": "TargetsUser",  # CORP\alice + SID
        "EVT:DC01.CORP.LOCAL:Security:912004": "TargetsUser",  # alice + CORP.LOCAL
        "EVT:DC01.CORP.LOCAL:Security:912015": "ByUser",  # alice@CORP.LOCAL
        "EVT:WS01.CORP.LOCAL:Security:58240": "TargetsUser",  # UPN alice@corp.example.com
        "EVT:DC01.CORP.LOCAL:Security:912030": "ByUser",  # SID only
        f"EVT:WS01.CORP.LOCAL:{sysmon}:771203": "ByUser",  # Sysmon User CORP\alice
    }
    for key, rel in forms.items():
        assert targets(twin, key, rel) == {"ALICE@CORP.LOCAL"}, key
    assert twin.value("MATCH (u:User) WHERE toUpper(u.key) STARTS WITH 'ALICE' RETURN count(u)") == 1
    # a machine account is the computer
    assert targets(twin, "EVT:WS01.CORP.LOCAL:Security:58210", "ByUser") == {"WS01.CORP.LOCAL"}


def test_windows_reingest_changes_nothing(twin):
    write_base(twin)
    run(twin, "windows.jsonl")
    before = twin.snapshot()
    again = run(twin, "windows.jsonl", now=T0 + 5 * 86400)
    assert again.stats.nodes_created == 0 and again.stats.relationships_created == 0
    assert twin.snapshot() == before


def test_mordor_dcsync_real_events(twin):
    path = real_data("mordor-dcsync", MORDOR)
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    report = ingest(twin.driver, [path], database=twin.database, now=1700000000)
    events = twin.events()
    assert report.records == len(lines) == 869
    assert len(events) + len(report.rejected) == len(lines)
    assert report.events_stored == len(events)
    assert all(r.record.startswith("line ") and r.error for r in report.rejected)
    by_channel: dict[str, int] = {}
    for r in events:
        by_channel[r["channel"]] = by_channel.get(r["channel"], 0) + 1
    assert by_channel == {"Security": 193, "Microsoft-Windows-Sysmon/Operational": 676}
    reps = [r for r in events if r["kind"] == "ReplicationEvent"]
    assert len(reps) == 3
    for r in reps:
        assert r["host"] == "MORDORDC.THESHIRE.LOCAL" and r["marks"] == []
        assert r["by_keys"] == ["PGUSTAVO@THESHIRE.LOCAL"]
        # the event's own time (EventTime 02:10:02 in the collector's UTC-4), not the
        # shipper's @timestamp 06:10:03.798Z
        assert r["props"]["time"].startswith("2020-08-05T06:10:02")
    assert [r for r in events if r["event_id"] == 4662 and r["kind"] != "ReplicationEvent"] == []
    # the DCSync ran in pgustavo's network logon from WORKSTATION5's address
    by_key = {r["key"]: r for r in events}
    sess = {(by_key[r["in_session"]]["props"].get("ip"), by_key[r["in_session"]]["props"].get("logon_id"))
            for r in reps if r["in_session"] and by_key[r["in_session"]]["kind"] == "LogonEvent"}
    assert sess == {("172.18.39.5", "0x824909")}


def test_mordor_sample_head_loads(twin):
    path = real_data("mordor-dcsync", "sample-head.jsonl")
    report = ingest(twin.driver, [path], database=twin.database, now=1700000000)
    assert report.records == 30 and report.rejected == []
    assert len(twin.events()) == 30


# --------------------------------------------------------------------------- alerts


def test_parse_alert_files_without_a_twin():
    [dcsync] = parse_alert_file(DATA / "ocsf_dcsync.json")
    assert dcsync.id == "ocsf-dcsync-0001" and dcsync.format == "ocsf"
    assert dcsync.severity == "high" and dcsync.rule == "Non-DC Directory Replication"
    assert dcsync.techniques == ["T1003.006", "T1003"]
    assert dcsync.time == "2024-03-12T10:11:15.000Z" and dcsync.event_timestamp == 1710238260
    assert {m.raw for m in dcsync.hosts} == {"DC01", "DC01.corp.local"}
    assert {(m.raw, m.domain) for m in dcsync.users} >= {("alice", "CORP"), ("CORP\\alice", None)}
    assert {m.raw for m in dcsync.ips} == {"10.20.1.7", "10.10.0.5"}
    [ecs] = parse_alert_file(DATA / "elastic_alert.json")
    assert ecs.id.startswith("3f9d0c7e") and ecs.format == "ecs" and ecs.severity == "high"
    assert ecs.techniques == ["T1059", "T1059.001"] and ecs.risk_score == 73
    assert {m.raw for m in ecs.processes} == {"powershell.exe", "explorer.exe"}
    assert {m.algorithm for m in ecs.hashes} == {"sha256", "md5"}
    [nested] = parse_alert_file(DATA / "elastic_alerts.ndjson")
    assert nested.severity == "medium" and nested.techniques == ["T1558", "T1558.003"]
    with pytest.raises(AlertFormatError, match="line 2"):
        parse_alert_file(DATA / "ocsf_findings.jsonl")


def test_severity_normalisation():
    base = {"class_uid": 2004, "finding_info": {"uid": "x"}, "time": 1710237600000}
    assert parse_alert({**base, "severity_id": 6}).severity == "critical"
    assert parse_alert({**base, "severity_id": 1}).severity == "informational"
    assert parse_alert({**base, "severity_id": 99, "severity": "Low"}).severity == "low"
    ecs = {"@timestamp": "2024-03-12T10:00:00Z", "kibana.alert.uuid": "u"}
    assert parse_alert({**ecs, "kibana.alert.risk_score": 80}).severity == "critical"
    assert parse_alert({**ecs, "kibana.alert.severity": "LOW"}).severity == "low"
    with pytest.raises(AlertFormatError):
        parse_alert({"class_uid": 4001, "metadata": {"uid": "net"}, "time": 1})


def test_ocsf_alert_involves_what_resolves(twin):
    write_base(twin)
    run(twin, "windows.jsonl")
    run(twin, "ocsf_dcsync.json")
    alert = twin.run("MATCH (a:Alert {key: 'ocsf-dcsync-0001'}) RETURN a AS a")[0]["a"]
    assert alert["severity"] == "high" and alert["format"] == "ocsf"
    assert alert["techniques"] == ["T1003.006", "T1003"]
    assert json.loads(alert["raw"])["class_uid"] == 2004
    inv = {r["k"]: r["role"] for r in twin.run(
        "MATCH (:Alert {key: 'ocsf-dcsync-0001'})-[r:Involves]->(x) RETURN x.key AS k, r.role AS role")}
    assert inv["DC01.CORP.LOCAL"] == "host"
    assert inv["ALICE@CORP.LOCAL"] == "user"
    assert inv["WS01.CORP.LOCAL"] == "src_ip"  # 10.20.1.7 at the activity's time


def test_ocsf_alert_about_absent_things_creates_nothing(twin):
    write_base(twin)
    nodes_before = twin.value("MATCH (n) WHERE NOT n:Alert RETURN count(n)")
    report = run(twin, "ocsf_findings.jsonl")
    assert {r.record for r in report.rejected} == {"line 2", "line 3"}
    assert "2001" in next(r.error for r in report.rejected if r.record == "line 2")
    ghost = twin.run("MATCH (a:Alert {key: 'meta-uid-ghost-77'}) RETURN a AS a")[0]["a"]
    assert ghost["named_hosts"] == ["FILE01", "WS-99.corp.local"]
    assert ghost["techniques"] == ["T1021.002"]
    assert twin.value("MATCH (n) WHERE NOT n:Alert RETURN count(n)") == nodes_before
    inv = targets(twin, "meta-uid-ghost-77", "Involves")
    assert inv == {"FILE01.CORP.LOCAL", "IP:10.10.0.20"}  # WS-99, bob, psexec do not exist


def test_elastic_alerts_involve_hosts_users_processes_hashes(twin):
    write_base(twin)
    run(twin, "windows.jsonl")
    run(twin, "elastic_alert.json", "elastic_alerts.ndjson")
    sysmon = "Microsoft-Windows-Sysmon/Operational"
    key = "3f9d0c7e1a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5"
    roles = {r["k"]: r["roles"] for r in twin.run(
        "MATCH (:Alert {key: $a})-[r:Involves]->(x) RETURN x.key AS k, r.roles AS roles", a=key)}
    assert "host" in roles["WS01.CORP.LOCAL"] and "src_ip" in roles["WS01.CORP.LOCAL"]
    assert "user" in roles["ALICE@CORP.LOCAL"]
    assert "dst_ip" in roles["DC01.CORP.LOCAL"]
    proc = f"EVT:WS01.CORP.LOCAL:{sysmon}:771203"
    assert set(roles[proc]) == {"process", "hash"}
    # the process is a row of the event store; the alert's edge gives it (and only the
    # events alerts involve) a graph node, tied as its row is
    assert twin.value("MATCH (e:Event) WHERE NOT ()-[:Involves]->(e) RETURN count(e)") == 0
    assert twin.value("MATCH (e:ProcessEvent {key: $k})-[:OnHost]->(h) RETURN h.key", k=proc) == "WS01.CORP.LOCAL"
    assert twin.value("MATCH (e:Event {key: $k}) RETURN e.fields", k=proc) == twin.event(proc)["raw"]
    nested = {r["k"]: r["role"] for r in twin.run(
        "MATCH (:Alert {key: 'e1a7b2c3-nested-0002'})-[r:Involves]->(x) RETURN x.key AS k, r.role AS role")}
    assert nested["DC01.CORP.LOCAL"] == "host" and nested["ALICE@CORP.LOCAL"] == "user"
    assert nested["WS01.CORP.LOCAL"] == "src_ip"
    sev = twin.value("MATCH (a:Alert {key: 'e1a7b2c3-nested-0002'}) RETURN a.severity")
    assert sev == "medium"


# --------------------------------------------------------------------------- malformed input

_junk_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
_json_scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.integers(-10**400, 10**400)
                 | st.floats() | st.text(max_size=30))
_json = st.recursive(_json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(
    st.text(max_size=12), c, max_size=5), max_leaves=12)
_event_keys = st.sampled_from(["EventID", "Hostname", "Channel", "RecordNumber", "@timestamp",
                               "UtcTime", "TimeCreated", "EventTime", "SubjectUserName",
                               "SubjectDomainName", "SubjectUserSid", "TargetUserName",
                               "TargetLogonId", "IpAddress", "LogonType", "ProcessId",
                               "NewProcessId", "Properties", "TicketEncryptionType", "Hashes",
                               "ParentProcessGuid", "winlog"])
_event = st.dictionaries(_event_keys, _json_scalars | st.sampled_from(
    ["4624", 4662, "0x17", "WS01.corp.local", "2024-03-12T10:00:00Z", "::ffff:10.0.0.1", "-"]),
    max_size=10)
_zeek_cell = st.sampled_from(["-", "(empty)", "10.20.1.7", "1710237700.5", "445", "tcp", "x",
                              "999999999999999999999", "nan", "-1", "fe80::1", "", "²"])
_zeek_line = st.lists(_zeek_cell | st.text(max_size=8), min_size=0, max_size=8).map("\t".join)
_HEADER = (DATA / "conn.log").read_text().split("1710237700.118262")[0]


def _no_crash(connector, name: str, data: bytes) -> None:
    try:
        batch = connector.transform(Source(name, data), IngestContext(None, None, T0))
    except BadFile:
        return
    assert len(batch.rejected) <= batch.records


def test_odd_values_are_rejected_with_reasons_not_crashes():
    """Values of the wrong type or absurd size, as hand-edited or corrupted exports have."""
    ok = {"EventID": 4624, "Hostname": "WS01.corp.local", "Channel": "Security", "RecordNumber": 7,
          "@timestamp": "2024-03-12T10:00:00Z"}
    odd = [
        {**ok, "TargetUserName": ["alice"], "SubjectUserSid": {"x": 1}, "TargetLogonId": [1]},
        {**ok, "RecordNumber": 8, "@timestamp": 10**400},
        {**ok, "RecordNumber": 9, "@timestamp": "0001-01-01T00:00:00+14:00"},
        {**ok, "RecordNumber": -1},
        {**ok, "RecordNumber": 10, "EventID": 10**30},
    ]
    batch = winevents.transform(Source("e.jsonl", "\n".join(json.dumps(o) for o in odd).encode()),
                                IngestContext(None, None, T0))
    assert batch.records == 5
    assert {r.record for r in batch.rejected} == {"line 2", "line 3", "line 4", "line 5"}
    assert all(r.error for r in batch.rejected)
    [row] = batch.events
    assert "target_user" not in row["props"]  # a list is no account name
    zeek_odd = [{"ts": 10**400, "id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2", "id.resp_p": 1},
                {"ts": 1.0, "id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2", "id.resp_p": {"p": 1}},
                {"ts": "0001-01-01T00:00:00+14:00", "id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2",
                 "id.resp_p": 1, "conn_state": "SF"}]
    zb = zeek.transform(Source("c.json", "\n".join(json.dumps(o) for o in zeek_odd).encode()),
                        IngestContext(None, None, T0))
    assert zb.records == 3 and len(zb.rejected) == 3
    alert = {"class_uid": 2004, "finding_info": {"uid": "f"}, "time": 10**400,
             "actor": {"process": {"name": "x.exe", "pid": 10**30}}}
    with pytest.raises(AlertFormatError, match="time"):
        parse_alert(alert)
    parsed = parse_alert({**alert, "time": 1710237600000})
    assert parsed.processes[0].pid is None and parsed.timestamp == T0


@settings(max_examples=150, deadline=None)
@given(st.lists(_zeek_line, max_size=8), _junk_text)
def test_zeek_never_crashes(lines, junk):
    _no_crash(zeek, "conn.log", (_HEADER + "\n".join(lines)).encode())
    _no_crash(zeek, "conn.log", junk.encode())
    _no_crash(zeek, "conn.json", "\n".join(json.dumps(
        {"ts": c, "id.orig_h": c, "id.resp_h": "10.0.0.1", "id.resp_p": c}) for c in lines).encode())


@settings(max_examples=150, deadline=None)
@given(st.lists(_event | _json, max_size=6), _junk_text)
def test_winevents_never_crash(objs, junk):
    lines = [json.dumps(o, default=str) if not isinstance(o, float) else "1e999" for o in objs]
    _no_crash(winevents, "e.jsonl", "\n".join(lines + [junk]).encode())
    _no_crash(winevents, "e.json", json.dumps(objs, default=str).encode())


@settings(max_examples=150, deadline=None)
@given(_json, st.dictionaries(st.sampled_from(
    ["class_uid", "finding_info", "metadata", "time", "severity_id", "device", "actor",
     "evidences", "observables", "kibana.alert.uuid", "@timestamp", "host", "user",
     "kibana.alert.rule.threat", "process", "source"]), _json, max_size=8))
def test_alert_parsing_never_crashes(doc, fields):
    for candidate in (doc, fields, {**fields, "class_uid": 2004}, {**fields, "kibana.alert.uuid": "u"}):
        try:
            parsed = parse_alert(candidate)
        except AlertFormatError:
            continue
        assert parsed.id and parsed.severity in SEVERITIES and parsed.format in ("ocsf", "ecs")
    _no_crash(alerts, "a.json", json.dumps([doc, fields], default=str).encode())


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.sampled_from(["conn.log", "events.jsonl", "alert.json"]),
       st.lists(_junk_text | _json.map(json.dumps), min_size=1, max_size=5))
def test_rejected_files_leave_the_twin_unchanged(twin, tmp_path, name, lines):
    """Only rejected records (or a rejected file) must leave no trace in the twin."""
    write_base(twin) if twin.value("MATCH (n) RETURN count(n)") == 0 else None
    before = twin.snapshot()
    path = tmp_path / name
    path.write_text("\n".join(lines), encoding="utf-8")
    fmt = {"conn.log": "zeek", "events.jsonl": "winevents", "alert.json": "alerts"}[name]
    report = ingest(twin.driver, [path], database=twin.database, forced_format=fmt, now=T0)
    if report.files == 0 or report.records == len(report.rejected):  # nothing valid in it
        assert twin.snapshot() == before


# --------------------------------------------------------------------------- one index per ingest run


def _index_state(ix: TwinIndex) -> tuple:
    return (sorted(ix.hosts), sorted(ix.users), {k: sorted(v) for k, v in ix.host_by_short.items()},
            dict(sorted(ix.static_ips.items())), {k: sorted(v) for k, v in ix.user_by_sam.items()},
            dict(sorted(ix.by_objectid.items())), sorted(ix.domains),
            {ip: sorted((le.first, le.last, le.host) for le in ls) for ip, ls in ix.leases.items()})


def test_the_run_index_follows_what_each_batch_writes(twin):
    write_base(twin)
    ctx = ctx_for(twin)
    first = ctx.twin_index()
    assert "WS01.CORP.LOCAL" in first.hosts
    # a file teaches its copy an account; the next file's copy does not know it
    first.learn_account("bob", "NEWDOM.LOCAL", "S-1-5-21-9-9-9-1200")
    first.finish_learning()
    assert "NEWDOM.LOCAL" in first.learned_fqdns and not ctx.twin_index().learned_fqdns
    # new hosts and users, as a connector writes them: added without a reload
    batch = zeek.Batch()
    batch.add_nodes(zeek.COMPUTER, [{"key": "10.99.0.5", "props": {"name": "10.99.0.5", "ip": "10.99.0.5"}},
                                    {"key": "WS01.CORP.LOCAL", "props": {}, "lastseen": T0 + 5}])
    batch.add_nodes(winevents.USER, [{"key": "BOB@CORP.LOCAL", "props": {"name": "BOB@CORP.LOCAL",
                                                                           "domain": "CORP.LOCAL"}}])
    w = TwinWriter(twin.driver, "test", database=twin.database, now=T0)
    for schema, rows in batch.nodes:
        w.nodes(schema, rows)
    kept = ctx._index
    ctx.loaded(batch)
    assert ctx._index is kept  # updated in place, not read again
    assert _index_state(ctx.twin_index()) == _index_state(TwinIndex.load(twin.driver, twin.database))
    assert ctx.twin_index().host_for_ip("10.99.0.5") == "10.99.0.5"
    # leases of known hosts (a DNS answer, a machine's own traffic): merged as the edges
    # now hold them, not read again; a new address and a lease that grows both ways
    leases = zeek.Batch()
    leases.add_nodes(IP, [{"key": "IP:10.20.5.5", "props": {"address": "10.20.5.5"}}])
    leases.add_rels(HAS_IP, [
        {"src": "WS01.CORP.LOCAL", "dst": "IP:10.20.5.5", "firstseen": T0 + 100, "lastseen": T0 + 200},
        {"src": "WS02.CORP.LOCAL", "dst": "IP:10.20.1.7", "firstseen": T0 + 3000, "lastseen": T0 + 2 * 86400},
        {"src": "WS02.CORP.LOCAL", "dst": "IP:10.20.1.7", "firstseen": T0 + 2 * 86400 + 5}])
    w.nodes(IP, leases.nodes[0][1])
    w.rels(HAS_IP, leases.rels[0][1])
    ctx.loaded(leases)
    assert ctx._index is kept
    assert _index_state(ctx.twin_index()) == _index_state(TwinIndex.load(twin.driver, twin.database))
    assert ctx.twin_index().host_for_ip("10.20.1.7", T0 + 3500) == "WS02.CORP.LOCAL"
    # a known node written again with properties the index does not read (a Zeek log
    # re-sending a host only Zeek knows, a display name): kept
    again = zeek.Batch()
    again.add_nodes(zeek.COMPUTER, [{"key": "10.99.0.5", "props": {"name": "10.99.0.5", "ip": "10.99.0.5"}},
                                    {"key": "WS02.CORP.LOCAL", "props": {"name": "ws02", "external": False}}])
    w.nodes(zeek.COMPUTER, again.nodes[0][1])
    ctx.loaded(again)
    assert ctx._index is kept
    assert _index_state(ctx.twin_index()) == _index_state(TwinIndex.load(twin.driver, twin.database))
    # new properties on a known node: the index is read again, whole
    changed = zeek.Batch()
    changed.add_nodes(zeek.COMPUTER, [{"key": "WS02.CORP.LOCAL", "props": {"ip": "10.20.9.9"}}])
    w.nodes(zeek.COMPUTER, changed.nodes[0][1])
    ctx.loaded(changed)
    assert ctx._index is None
    assert ctx.twin_index().host_for_ip("10.20.9.9") == "WS02.CORP.LOCAL"


def test_files_in_one_run_resolve_like_files_in_separate_runs(twin, tmp_path):
    """The second log names a host only the first one introduced (an IP-keyed host)."""
    header = (DATA / "conn.log").read_text().split("\n")
    fields = [ln for ln in header if ln.startswith("#")]
    def log(name: str, rows: list[tuple[str, str, int]]) -> Path:
        lines = [ln for ln in fields if not ln.startswith("#close")]
        cols = next(ln for ln in fields if ln.startswith("#fields")).split("\t")[1:]
        for i, (src, dst, port) in enumerate(rows):
            rec = {c: "-" for c in cols}
            rec.update({"ts": f"{T0 + 60 * i}.0", "uid": f"C{name}{i}", "id.orig_h": src, "id.orig_p": "50000",
                        "id.resp_h": dst, "id.resp_p": str(port), "proto": "tcp", "conn_state": "SF",
                        "orig_bytes": "100", "resp_bytes": "200", "duration": "0.1"})
            lines.append("\t".join(rec[c] for c in cols))
        p = tmp_path / name / "conn.log"
        p.parent.mkdir()
        p.write_text("\n".join(lines) + "\n")
        return p
    a = log("a", [("10.99.0.5", "10.20.1.7", 445), ("10.20.1.7", "10.10.0.20", 445)])
    b = log("b", [("10.99.0.5", "10.10.0.20", 3389), ("10.20.1.7", "10.99.0.5", 22)])
    write_base(twin)
    ingest(twin.driver, [a, b], database=twin.database, now=T0 + 86400)
    together = twin.snapshot()
    twin.run("MATCH (n) DETACH DELETE n")
    write_base(twin)
    ingest(twin.driver, [a], database=twin.database, now=T0 + 86400)
    ingest(twin.driver, [b], database=twin.database, now=T0 + 86400)
    assert twin.snapshot() == together
    assert twin.value("MATCH (:Computer {key: '10.99.0.5'})-[r:ConnectedTo]->() RETURN count(r)") == 2
