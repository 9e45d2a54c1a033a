"""Windows Security / Sysmon / System events in the NXLog JSON-lines shape of the OTRF (Mordor) exports,
and Zeek conn.log lines, with background activity. One `Events` object per scenario.

The event families live in mixins (winevt_proc, winevt_auth, winevt_audit, winevt_background) and the
channel tables in winevt_schema; this module keeps the envelope, identities and output, and re-exports the
names the scenario families import."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from common import COLLECTOR, NETBIOS, UTC, LOCAL_OFFSET, hexdigest, iso, rng_for, ts
from enterprise import COMPUTERS, C, U
from winevt_schema import (COMPUTER_CLASS, DOMAIN_DNS_CLASS, DOMAIN_GUID, GROUP_CLASS, OU_CLASS,  # noqa: F401 (re-exported)
                           PROP_GENERAL_INFO, PROP_KEYCREDLINK, PROP_MEMBER, PROP_PWD_LAST_SET,
                           PROP_USER_ACCOUNT_RESTRICTIONS, REPL_GET_CHANGES, REPL_GET_CHANGES_ALL,
                           REPL_GET_CHANGES_FILTERED, SCM_GUID, SEC_GUID, SEC_TASK, SEC_VERSION, SYSMON_CAT,
                           SYSMON_CH, SYSMON_GUID, SYSMON_VER, USER_CLASS)
from winevt_audit import AuditEvents
from winevt_auth import AuthEvents
from winevt_background import BackgroundEvents
from winevt_proc import Proc, ProcessEvents, hashes, le_hex  # noqa: F401 (re-exported)


class Events(ProcessEvents, AuthEvents, AuditEvents, BackgroundEvents):
    """One scenario's Windows events and Zeek lines, from one seeded rng in call order."""

    def __init__(self, name: str, start: str, end: str):
        self.name = name
        self.rng = rng_for(name)
        self.start, self.end = ts(start), ts(end)
        self.win: list[dict] = []
        self.zeek: list[dict] = []
        self._procs: dict[tuple, Proc] = {}
        self._seq = 0
        self.sessions: dict[str, dict] = {}

    # ------------------------------------------------------------------ envelope
    def _t(self, t) -> datetime:
        if isinstance(t, str):
            return ts(t)
        return t

    def _env(self, host: str, t: datetime, channel: str, eid: int) -> dict:
        r = self.rng
        fq = C(host).fqdn.upper().split(".")[0] + "." + "lmi.intra" if host in COMPUTERS else host
        local = t + LOCAL_OFFSET
        recv = local + timedelta(seconds=r.randint(1, 3))
        lat = 900 + int(hexdigest("lat" + host, 4), 16) % 1600
        d = {"@timestamp": iso(t + timedelta(milliseconds=lat)), "@version": "1", "host": COLLECTOR, "port": 53114,
             "tags": ["lmi-wef"], "SourceModuleName": "eventlog", "SourceModuleType": "im_msvistalog",
             "EventTime": local.strftime("%Y-%m-%d %H:%M:%S"), "EventReceivedTime": recv.strftime("%Y-%m-%d %H:%M:%S"),
             "Hostname": fq, "Channel": channel, "EventID": eid, "_t": t}
        return d

    def sec(self, host: str, t, eid: int, fields: dict, failure: bool = False) -> dict:
        t = self._t(t)
        d = self._env(host, t, "Security", eid)
        task, cat = SEC_TASK.get(eid, (12544, "Logon"))
        d.update({"SourceName": "Microsoft-Windows-Security-Auditing", "ProviderGuid": SEC_GUID, "Task": task, "Category": cat,
                  "Opcode": "Info", "OpcodeValue": 0, "Version": SEC_VERSION.get(eid, 0),
                  "Keywords": -9218868437227405312 if failure else -9214364837600034816,
                  "EventType": "AUDIT_FAILURE" if failure else "AUDIT_SUCCESS", "Severity": "ERROR" if failure else "INFO",
                  "SeverityValue": 4 if failure else 2,
                  "ExecutionProcessID": 4 if eid in (4688, 5140, 5145, 4663, 4656, 5156) else self.lsass(host)["pid"],
                  "ThreadID": self.rng.randint(300, 9000)})
        d.update(fields)
        self.win.append(d)
        return d

    def sysmon(self, host: str, t, eid: int, fields: dict) -> dict:
        t = self._t(t)
        d = self._env(host, t, SYSMON_CH, eid)
        d.update({"SourceName": "Microsoft-Windows-Sysmon", "ProviderGuid": SYSMON_GUID, "Task": eid, "Category": SYSMON_CAT[eid],
                  "Opcode": "Info", "OpcodeValue": 0, "Version": SYSMON_VER[eid], "Keywords": -9223372036854775808,
                  "EventType": "INFO", "Severity": "INFO", "SeverityValue": 2, "ExecutionProcessID": 2860 + (sum(map(ord, host)) % 900),
                  "ThreadID": self.rng.randint(300, 9000), "UserID": "S-1-5-18", "AccountName": "SYSTEM", "Domain": "NT AUTHORITY",
                  "AccountType": "User", "RuleName": "-", "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"})
        d.update(fields)
        self.win.append(d)
        return d

    def system(self, host: str, t, eid: int, fields: dict, source="Service Control Manager", guid=SCM_GUID) -> dict:
        t = self._t(t)
        d = self._env(host, t, "System", eid)
        d.update({"SourceName": source, "ProviderGuid": guid, "Task": 0, "Opcode": "Info", "OpcodeValue": 0, "Version": 0,
                  "Keywords": -9187343239835811840, "EventType": "INFO", "Severity": "INFO", "SeverityValue": 2,
                  "ExecutionProcessID": 712, "ThreadID": self.rng.randint(300, 9000)})
        d.update(fields)
        self.win.append(d)
        return d

    # ------------------------------------------------------------------ identities
    def hid(self, host: str) -> str:
        return hexdigest("hostid" + host, 8)

    def new_logon_id(self) -> str:
        return hex(self.rng.randint(0x100000, 0x9FFFFFF))

    def acct(self, who: str):
        """who: user sam, 'HOST$', 'SYSTEM', 'NETWORK SERVICE', 'LOCAL SERVICE' -> (name, domain, sid)"""
        if who == "SYSTEM":
            return "SYSTEM", "NT AUTHORITY", "S-1-5-18"
        if who == "NETWORK SERVICE":
            return "NETWORK SERVICE", "NT AUTHORITY", "S-1-5-20"
        if who == "LOCAL SERVICE":
            return "LOCAL SERVICE", "NT AUTHORITY", "S-1-5-19"
        if who.endswith("$"):
            c = C(who[:-1])
            return c.sam, NETBIOS, c.sid
        u = U(who)
        return u.sam, NETBIOS, u.sid

    # ------------------------------------------------------------------ output
    def finalize(self):
        self.win.sort(key=lambda d: d["_t"])
        counters: dict[tuple, int] = {}
        t0 = ts("2025-03-01 00:00:00")
        for d in self.win:
            k = (d["Hostname"], d["Channel"])
            h = d["Hostname"].split(".")[0].upper()
            role = C(h).role if h in COMPUTERS else "srv"
            rate = {"Security": 1.6 if role == "dc" else (0.05 if role == "ws" else 0.35), SYSMON_CH: 0.2 if role == "dc" else 0.45,
                    "System": 0.002}[d["Channel"]]
            base = {"Security": 3_000_000, SYSMON_CH: 5_000_000, "System": 60_000}[d["Channel"]] + int(hexdigest(d["Hostname"] + d["Channel"], 6), 16) % 700_000
            nominal = base + int((d["_t"] - t0).total_seconds() * rate)
            prev = counters.get(k, 0)
            counters[k] = max(prev + 1 + (self.rng.randint(0, 2) if prev else 0), nominal)
            d["RecordNumber"] = counters[k]
        self.zeek.sort(key=lambda z: z["ts"])

    def key(self, d: dict) -> str:
        return f"EVT:{d['Hostname'].upper()}:{d['Channel']}:{d['RecordNumber']}"

    def write(self, folder: str, zeek_format: str = "tsv"):
        import os
        os.makedirs(folder, exist_ok=True)
        files = []
        if self.win:
            with open(os.path.join(folder, "windows-events.jsonl"), "w") as f:
                for d in self.win:
                    o = {k: v for k, v in d.items() if k != "_t"}
                    f.write(json.dumps(o, separators=(",", ":")) + "\n")
            files.append("windows-events.jsonl")
        if self.zeek:
            if zeek_format == "json":
                with open(os.path.join(folder, "conn.log.json"), "w") as f:
                    for z in self.zeek:
                        o = dict(z)
                        o["ts"] = datetime.fromtimestamp(z["ts"], UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                        o["_path"] = "conn"
                        o["_write_ts"] = o["ts"]
                        if o["service"] == "-":
                            del o["service"]
                        if o["duration"] is None:
                            del o["duration"]
                        if not o["tunnel_parents"]:
                            del o["tunnel_parents"]
                        f.write(json.dumps(o, separators=(",", ":")) + "\n")
                files.append("conn.log.json")
            else:
                fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration", "orig_bytes",
                          "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
                          "resp_pkts", "resp_ip_bytes", "tunnel_parents"]
                types = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count", "string", "bool",
                         "bool", "count", "string", "count", "count", "count", "count", "set[string]"]
                first = datetime.fromtimestamp(self.zeek[0]["ts"], UTC)
                last = datetime.fromtimestamp(self.zeek[-1]["ts"], UTC)
                with open(os.path.join(folder, "conn.log"), "w") as f:
                    f.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n")
                    f.write(f"#open\t{first.strftime('%Y-%m-%d-%H-%M-%S')}\n#fields\t" + "\t".join(fields) + "\n#types\t" + "\t".join(types) + "\n")
                    for z in self.zeek:
                        vals = []
                        for k in fields:
                            v = z[k]
                            if k == "ts":
                                v = f"{v:.6f}"
                            elif k == "duration":
                                v = "-" if v is None else f"{v:.6f}"
                            elif isinstance(v, bool):
                                v = "T" if v else "F"
                            elif k == "tunnel_parents":
                                v = "(empty)" if not v else ",".join(v)
                            vals.append(str(v))
                        f.write("\t".join(vals) + "\n")
                    f.write(f"#close\t{(last + timedelta(seconds=60)).strftime('%Y-%m-%d-%H-%M-%S')}\n")
                files.append("conn.log")
        return files

