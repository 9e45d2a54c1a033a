"""Windows events from real public captures (OTRF Security-Datasets in ../shared/data/real/otrf):
one record one event whatever the spelling, events that reach their host in any load
order, source hosts learned from the hosts' own traffic, one clock, 7045 service installs,
record-less exports, and rejects summarised by reason.

Every test reads the real files (or a respelled / split copy of their real lines, written
to tmp_path) and skips with the reason when ../shared is absent.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from graph.ingest.registry import forget, ingest
from graph.loader import TwinWriter
from graph.model import NodeSchema
from graph.schema import reset_twin
from graph.timestamps import EventClock, time_readings
from tests.conftest import REPO, real_data

WS5, WS6, DC = "WORKSTATION5.THESHIRE.LOCAL", "WORKSTATION6.THESHIRE.LOCAL", "MORDORDC.THESHIRE.LOCAL"
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def otrf_lines(name: str) -> list[str]:
    """The JSON lines of one OTRF capture (each zip holds one file)."""
    with zipfile.ZipFile(real_data("otrf", f"{name}.zip")) as zf:
        member = next(i for i in zf.infolist() if not i.is_dir())
        return [ln for ln in zf.read(member).decode("utf-8-sig").splitlines() if ln.strip()]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load(twin, *paths: Path):
    return ingest(twin.driver, list(paths), database=twin.database, now=1700000000)


def one(twin, query: str, **params):
    return twin.value(query, **params)


def host_of(twin, key: str) -> str | None:
    """The host an event is tied to (the graph's OnHost once was), None while unresolved."""
    r = twin.event(key)
    return r["host"] if r and "HostUnresolved" not in r["marks"] else None


# --------------------------------------------------------------------------- spelling


def test_one_record_is_one_event_whatever_the_spelling(twin, tmp_path):
    """OTRF writes WORKSTATION6's Security channel as `security` with the FQDN; the same
    records as `Security` with the short name are the same events, and pgustavo's one
    network logon is counted once."""
    lines = otrf_lines("covenant_copy_smb_CreateRequest")
    respelled = []
    for ln in lines:
        obj = json.loads(ln)
        if obj["Channel"] == "security" and obj["Hostname"].startswith("WORKSTATION6."):
            obj["Channel"], obj["Hostname"] = "Security", "WORKSTATION6"
            respelled.append(json.dumps(obj))
    logons = {o["RecordNumber"] for o in map(json.loads, lines) if o["EventID"] == 4624
              and o["Hostname"].startswith("WORKSTATION6.") and o.get("TargetUserName") == "pgustavo"}
    assert len(respelled) == 26 and len(logons) == 1
    load(twin, write(tmp_path / "a.jsonl", lines))
    load(twin, write(tmp_path / "b.jsonl", respelled))
    events = twin.events()
    assert len(events) == len(lines) == 506
    assert [r for r in events if r["channel"] == "security"] == []
    rec = next(iter(logons))
    assert host_of(twin, f"EVT:{WS6}:Security:{rec}") == WS6
    lo = twin.run("MATCH (:User {key: 'PGUSTAVO@THESHIRE.LOCAL'})-[r:LoggedOn]->(:Twin {key: $h}) "
                  "RETURN r.count AS c, r.logon_types AS t", h=WS6)
    assert [(r["c"], r["t"]) for r in lo] == [(1, [3])]
    # the count is the distinct logon events the twin holds, and so it stays on reload
    load(twin, write(tmp_path / "c.jsonl", lines + respelled))
    assert len([r for r in twin.events(on_hosts=[WS6], kinds=["LogonEvent"])
                if "PGUSTAVO@THESHIRE.LOCAL" in r["target_keys"]]) == 1
    assert one(twin, "MATCH ()-[r:LoggedOn]->(:Twin {key: $h}) WHERE r.count <> 1 RETURN count(r)", h=WS6) == 0


# --------------------------------------------------------------------------- hosts


def _rubeus_split(tmp_path: Path) -> tuple[Path, Path, int]:
    """Empire's Rubeus capture names WORKSTATION6 short on its classic PowerShell channel
    and in full everywhere else: the short-named lines alone, and the rest."""
    lines = otrf_lines("empire_shell_rubeus_asktgt_ptt")
    short = [ln for ln in lines if json.loads(ln)["Hostname"] == "WORKSTATION6"]
    rest = [ln for ln in lines if json.loads(ln)["Hostname"] != "WORKSTATION6"]
    return write(tmp_path / "short.jsonl", short), write(tmp_path / "full.jsonl", rest), len(short)


def test_a_short_named_host_is_tied_when_it_arrives_in_any_load_order(twin, tmp_path):
    short, full, n = _rubeus_split(tmp_path)
    assert n == 165
    first = load(twin, short)
    assert first.unresolved["event_hosts"] == n and first.unresolved["examples"]["hosts"] == ["WORKSTATION6"]
    assert len(twin.events(marks=["HostUnresolved"])) == n
    second = load(twin, full)
    assert second.unresolved["event_hosts"] == 0 and second.unresolved["relinked"]["event_hosts"] == n
    assert len([r for r in twin.events(on_hosts=[WS6]) if r["channel"] == "Windows PowerShell"
                and r["key"].startswith(f"EVT:{WS6}:Windows PowerShell:")]) >= n
    assert twin.events(marks=["HostUnresolved"]) == []
    short_then_full = twin.snapshot()

    reset_twin(twin.driver, twin.database)
    load(twin, full)
    assert load(twin, short).unresolved["event_hosts"] == 0
    assert twin.snapshot() == short_then_full


def test_a_tagged_ingest_ties_only_its_own_events_and_forgets_cleanly(twin, tmp_path):
    """The evaluator layers a scenario's events on a shared twin under a tag and forgets
    them after: relinking must not re-key or re-link the shared twin's events."""
    short, full, n = _rubeus_split(tmp_path)
    load(twin, short)
    base = twin.snapshot()
    tagged = ingest(twin.driver, [full], database=twin.database, now=1700000000, tag="scn-x")
    assert tagged.unresolved["event_hosts"] == n and tagged.unresolved["relinked"]["event_hosts"] == 0
    forget(twin.driver, "scn-x", twin.database)
    assert twin.snapshot() == base


def test_a_short_name_takes_the_twins_only_domain(twin, tmp_path):
    short, _, n = _rubeus_split(tmp_path)
    TwinWriter(twin.driver, "fixture", database=twin.database).nodes(
        NodeSchema("Domain", ("Base",)), [{"key": "THESHIRE.LOCAL", "props": {"name": "THESHIRE.LOCAL"}}])
    report = load(twin, short)
    assert report.unresolved["event_hosts"] == 0
    assert len([r for r in twin.events(on_hosts=[WS6]) if r["key"].startswith(f"EVT:{WS6}:")]) == n


def test_a_workgroup_machine_is_not_the_domain_host_of_the_same_short_name(twin):
    """OTRF's fax-service capture comes from a workgroup WORKSTATION5 (its machine account
    is WORKSTATION5$ of WORKGROUP, on 192.168.2.5): not THESHIRE's WORKSTATION5."""
    load(twin, real_data("otrf", "covenant_copy_smb_CreateRequest.zip"))
    report = load(twin, real_data("otrf", "cmd_service_mod_fax.zip"))
    assert report.records == 437 and report.rejected == []
    # a stand-alone machine has no FQDN: it is keyed by its name, apart from THESHIRE's host,
    # and its local accounts by NAME@that name
    assert report.unresolved["event_hosts"] == 0
    assert {host_of(twin, r["key"]) for r in twin.events()
            if r["key"].startswith("EVT:WORKSTATION5:")} == {"WORKSTATION5"}
    assert one(twin, "MATCH (u:User {key: 'WARDOG@WORKSTATION5'}) RETURN u.local") is True
    assert one(twin, "MATCH (:Computer {key: $h})-[:HasIP]->(i:IP {address: '192.168.2.5'}) "
                     "RETURN count(i)", h=WS5) == 0


# --------------------------------------------------------------------------- source hosts


def test_the_lateral_movement_source_is_a_host(twin):
    """schtask_create: WORKSTATION5 creates a task on WORKSTATION6 over the network; the
    logon on WORKSTATION6 came from 172.18.39.5, which WORKSTATION5's own outbound
    Sysmon 3 and firewall events show it using."""
    report = load(twin, real_data("otrf", "schtask_create.zip"))
    assert report.rejected == []
    logon = [r for r in twin.events(on_hosts=[WS6], kinds=["LogonEvent"])
             if r["props"].get("ip") == "172.18.39.5" and r["target_keys"]]
    assert [r["target_keys"] for r in logon] == [["PGUSTAVO@THESHIRE.LOCAL"]]
    assert logon[0]["from_host"] == WS5
    lease = twin.run("MATCH (:Twin {key: $h})-[r:HasIP]->(:IP {address: '172.18.39.5'}) "
                     "RETURN r.evidence AS ev, r.firstseen AS f, r.lastseen AS l", h=WS5)
    assert len(lease) == 1 and lease[0]["ev"] == ["own_traffic"]
    assert 1608361200 <= lease[0]["f"] <= lease[0]["l"] <= 1608447600  # 2020-12-19 UTC
    assert report.unresolved["event_ips"] == 0


def test_a_source_host_learned_from_a_later_file_is_linked_in_any_order(twin, tmp_path):
    """SharpSC: WORKSTATION6's events alone cannot say who 172.18.39.5 is; WORKSTATION5's
    own events, loaded before or after, can."""
    lines = otrf_lines("covenant_sharpsc_create_dcerpc_smb_svcctl")
    target = write(tmp_path / "ws6.jsonl", [ln for ln in lines if '"WORKSTATION6.' in ln])
    source = write(tmp_path / "ws5.jsonl", [ln for ln in lines if '"WORKSTATION5.' in ln])
    alone = load(twin, target)
    assert alone.unresolved["event_ips"] >= 2 and "172.18.39.5" in alone.unresolved["examples"]["ips"]
    after = load(twin, source)
    assert after.unresolved["relinked"]["event_ips"] == alone.unresolved["event_ips"]
    from_ws5 = len([r for r in twin.events(on_hosts=[WS6])
                    if r["props"].get("ip") == "172.18.39.5" and r["from_host"] == WS5])
    assert from_ws5 >= 2
    target_then_source = twin.snapshot()
    # what stays: one NetBIOS datagram WORKSTATION5 received "from" its subnet's broadcast
    assert after.unresolved["examples"]["ips"] == ["172.18.39.255"]
    reset_twin(twin.driver, twin.database)
    load(twin, source)
    again = load(twin, target).unresolved
    assert {k: v for k, v in again.items() if k != "relinked"} == {
        k: v for k, v in after.unresolved.items() if k != "relinked"}
    # WORKSTATION5's `THESHIRE\pgustavo` waited for WORKSTATION6's file to name THESHIRE.LOCAL
    assert again["relinked"]["event_accounts"] > 0 and again["relinked"]["event_ips"] == 0
    assert twin.snapshot() == target_then_source


# --------------------------------------------------------------------------- clock, 7045, record-less


def test_a_logon_sorts_before_the_process_it_started(twin):
    """Covenant's PowerShell remoting: the shipper stamped pgustavo's logon on WORKSTATION6
    2 s after the wsmprovhost.exe it started; the logon's own time (EventTime, local) is first."""
    load(twin, real_data("otrf", "covenant_psremoting_command.zip"))
    events = {r["key"]: r for r in twin.events()}
    pairs = [{"p": p["props"]["time"], "l": lo["props"]["time"], "f": lo["props"]["time_field"], "raw": lo["raw"]}
             for p in events.values() if p["kind"] == "ProcessEvent"
             and str(p["props"].get("image", "")).endswith("wsmprovhost.exe")
             and (lo := events.get(p["in_session"])) and lo["kind"] == "LogonEvent" and host_of(twin, lo["key"]) == WS6]
    assert pairs
    for r in pairs:
        assert r["f"] == "EventTime" and r["l"] <= r["p"], r
        assert json.loads(r["raw"])["@timestamp"] > r["p"]  # what the old reading used


def test_the_clock_corrects_local_times_from_the_file_itself():
    """The 2023 ntdsutil export writes the DC's local time (UTC-7) with a `Z`; Sysmon's
    UtcTime on the same host says so, and the Security events follow."""
    objs = [json.loads(ln) for ln in otrf_lines("cmd_dumping_ntds_dit_file_ntdsutil")]
    clock = EventClock()
    for o in objs:
        clock.observe("DC01", time_readings(o)[0])
    clock.finish()
    logon = next(o for o in objs if o["EventID"] == 4624)
    assert logon["TimeCreated"].startswith("2023-07-19T09:")
    ts, field = clock.time("DC01", time_readings(logon)[0])
    assert field == "TimeCreated"
    assert ts == time_readings(logon)[0][0].ts + 7 * 3600
    # a Sysmon 3 whose ETW-stamped UtcTime is a day behind its own record gives way to it
    stale = next(o for o in objs if o["EventID"] == 3 and o["UtcTime"].startswith("2023-07-18"))
    assert clock.time("DC01", time_readings(stale)[0])[1] == "TimeCreated"


def test_a_service_install_is_linked_like_4697(twin):
    load(twin, real_data("otrf", "covenant_sharpsc_create_dcerpc_smb_svcctl.zip"))
    events = {r["key"]: r for r in twin.events()}
    rows = sorted(({"id": e["event_id"], "u": (e["by_keys"] or [None])[0], "l": e["in_session"],
                    "src": events[e["in_session"]]["from_host"] if e["in_session"] in events else None}
                   for e in twin.events(on_hosts=[WS6], event_ids=[4697, 7045])), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == [4697, 7045]
    assert rows[0]["u"] == rows[1]["u"] == "PGUSTAVO@THESHIRE.LOCAL"
    assert rows[0]["l"] is not None and rows[1]["l"] == rows[0]["l"]
    assert rows[1]["src"] == WS5


def test_a_record_less_export_loads_every_record_and_reloads_idempotently(twin):
    """OTRF's 2023 NTDS-via-ntdsutil capture has no RecordNumber / EventRecordID."""
    path = real_data("otrf", "cmd_dumping_ntds_dit_file_ntdsutil.zip")
    report = load(twin, path)
    assert report.records == 11184 and report.rejected == []
    events = twin.events()
    assert len(events) == 11184  # identical copies included
    assert all(re.fullmatch(r"EVT:DC01\.PANDALAB\.COM:[^:]+:h[0-9a-f]{16}(\.[0-9]+)?", r["key"]) for r in events)
    times = [r["props"]["time"] for r in events if r["channel"] == "Security"]
    assert min(times) >= "2023-07-19T16:02" and max(times) < "2023-07-19T16:07"
    before = twin.snapshot()
    again = load(twin, path)
    assert again.stats.nodes_created == 0 and again.stats.relationships_created == 0
    assert twin.snapshot() == before


# --------------------------------------------------------------------------- rejects


def test_rejects_are_summarised_by_reason(twin, tmp_path):
    lines = [ln for ln in real_data("mordor-dcsync", "sample-head.jsonl").read_text().splitlines() if ln.strip()]
    broken = []
    for i, ln in enumerate(lines):
        obj = json.loads(ln)
        if i % 2:
            del obj["Hostname"]
        broken.append(json.dumps(obj))
    path = write(tmp_path / "broken.jsonl", broken + ["{not json", "[1, 2"])
    report = load(twin, path)
    by_reason = {g["reason"]: g["count"] for g in report.rejected_by_reason()}
    assert by_reason == {"missing Hostname": 15, "not JSON": 2}
    assert len(twin.events()) == 15

    env = os.environ.copy()
    human = subprocess.run([sys.executable, "cli.py", "ingest", str(path)], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=300)
    assert human.returncode == 0, human.stderr
    rejected = [ln for ln in human.stderr.splitlines() if ln.startswith("rejected")]
    assert len(rejected) == 2 and "15 records" in rejected[0] and "missing Hostname" in rejected[0]
    doc = json.loads(subprocess.run([sys.executable, "cli.py", "ingest", str(path), "--json"], cwd=REPO,
                                    env=env, capture_output=True, text=True, timeout=300).stdout)
    assert doc["rejected_count"] == len(doc["rejected"]) == 17
    assert {(g["reason"], g["count"]) for g in doc["rejected_by_reason"]} == {
        ("missing Hostname", 15), ("not JSON", 2)}
    assert doc["unresolved"]["event_hosts"] == 0
    # a run whose every record is refused loaded nothing: it fails
    nothing = write(tmp_path / "nothing.jsonl", [b for i, b in enumerate(broken) if i % 2])
    refused = subprocess.run([sys.executable, "cli.py", "ingest", str(nothing)], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "nothing loaded: all 15 records were rejected" in refused.stderr


def test_unresolved_events_are_counted_in_json_and_warned_about(twin, tmp_path):
    short, _, n = _rubeus_split(tmp_path)
    run = subprocess.run([sys.executable, "cli.py", "ingest", str(short), "--json"], cwd=REPO,
                         env=os.environ.copy(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["unresolved"]["event_hosts"] == n
    warnings = [ln for ln in run.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and f"{n} events name a host" in warnings[0] and "WORKSTATION6" in warnings[0]
