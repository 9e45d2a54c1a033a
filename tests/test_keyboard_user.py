"""Who was at a host's keyboard when an activity left it: a scan or an AS-REP request names
no account, yet the person at the source is what an analyst reports. Read from the host's
own events on the real twin: the latest interactive logon whose session had not ended,
else the latest process a person started there."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from agents.offline import OfflineAnalyst
from agents.toolkit import Toolkit
from graph.ingest.registry import ingest
from tests.test_event_sources import T0, write_base

WS01, WS02 = "WS01.CORP.LOCAL", "WS02.CORP.LOCAL"


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _logon(rec: int, host: str, user: str, t: int, logon_id: str, logon_type: int = 2) -> dict:
    return {"SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security", "EventID": 4624,
            "RecordNumber": rec, "Hostname": f"{host}.corp.local", "@timestamp": _iso(t),
            "SubjectUserName": f"{host}$", "SubjectDomainName": "CORP", "SubjectLogonId": "0x3e7",
            "TargetUserName": user, "TargetDomainName": "CORP", "TargetLogonId": logon_id,
            "LogonType": str(logon_type), "IpAddress": "127.0.0.1", "IpPort": "0"}


def _logoff(rec: int, host: str, user: str, t: int, logon_id: str) -> dict:
    return {"SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security", "EventID": 4634,
            "RecordNumber": rec, "Hostname": f"{host}.corp.local", "@timestamp": _iso(t),
            "TargetUserName": user, "TargetDomainName": "CORP", "TargetLogonId": logon_id, "LogonType": "2"}


def _process(rec: int, host: str, user: str, t: int, image: str) -> dict:
    return {"SourceName": "Microsoft-Windows-Sysmon", "Channel": "Microsoft-Windows-Sysmon/Operational",
            "EventID": 1, "RecordNumber": rec, "Hostname": f"{host}.corp.local", "@timestamp": _iso(t),
            "UtcTime": datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.000"),
            "ProcessGuid": f"{{5f0c2a4e-0000-0000-0000-{rec:012d}}}", "ProcessId": str(rec),
            "Image": image, "CommandLine": image, "User": user, "LogonId": "0x99"}


def test_the_person_at_the_keyboard_is_the_open_session_else_who_started_processes(twin, tmp_path):
    write_base(twin)
    t = T0 + 3 * 3600
    events = [
        # WS01: helpdesk1 logged on and off again; alice's console session is still open at t
        _logon(1, "WS01", "helpdesk1", t - 2 * 3600, "0x11"),
        _logon(2, "WS01", "alice", t - 3600, "0x22"),
        _logoff(3, "WS01", "helpdesk1", t - 1800, "0x11"),
        _logon(4, "WS01", "WS01$", t - 600, "0x33", logon_type=3),  # the machine itself: not a person
        # WS02: no logon recorded, but helpdesk1 ran the tool; SYSTEM ran something later
        _process(5, "WS02", "CORP\\helpdesk1", t - 300, "C:\\Users\\helpdesk1\\Downloads\\nmap.exe"),
        _process(6, "WS02", "NT AUTHORITY\\SYSTEM", t - 60, "C:\\Windows\\System32\\svchost.exe"),
        _process(7, "WS02", "CORP\\WS02$", t - 30, "C:\\Windows\\System32\\gpupdate.exe"),  # the machine
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    ingest(twin.driver, [path], database=twin.database, now=T0 + 86400)

    kit = Toolkit(twin.driver, twin.database, t, "context_gatherer")
    st = SimpleNamespace(as_of=t)
    analyst = OfflineAnalyst()
    notes: list[str] = []
    at_ws01 = analyst._interactive_user(st, kit, WS01, t, notes)
    assert at_ws01 is not None and at_ws01[0] == "ALICE@CORP.LOCAL" and at_ws01[1].startswith("EVT:")
    at_ws02 = analyst._interactive_user(st, kit, WS02, t, notes)
    assert at_ws02 is not None and at_ws02[0] == "HELPDESK1@CORP.LOCAL"
    # before alice logged on, helpdesk1's session was the open one
    earlier = analyst._interactive_user(st, kit, WS01, t - 5400, notes)
    assert earlier is not None and earlier[0] == "HELPDESK1@CORP.LOCAL"
    assert not notes
