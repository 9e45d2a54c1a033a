"""Alerts as the products write them: OCSF 1.3 Detection Finding (class 2004) and Elastic Security
alert documents (`kibana.alert.*` with the source event's ECS fields)."""
from __future__ import annotations

from datetime import timedelta

from common import DOMAIN, NETBIOS, iso, stable_uuid, ts, hexdigest

TACTICS = {"TA0001": "Initial Access", "TA0002": "Execution", "TA0003": "Persistence", "TA0004": "Privilege Escalation",
           "TA0005": "Defense Evasion", "TA0006": "Credential Access", "TA0007": "Discovery", "TA0008": "Lateral Movement",
           "TA0009": "Collection", "TA0010": "Exfiltration", "TA0011": "Command and Control", "TA0040": "Impact", "TA0043": "Reconnaissance"}
TECH = {
    "T1003": "OS Credential Dumping", "T1003.001": "LSASS Memory", "T1003.002": "Security Account Manager",
    "T1003.003": "NTDS", "T1003.004": "LSA Secrets", "T1003.006": "DCSync",
    "T1558": "Steal or Forge Kerberos Tickets", "T1558.003": "Kerberoasting", "T1558.004": "AS-REP Roasting",
    "T1110": "Brute Force", "T1110.003": "Password Spraying",
    "T1021": "Remote Services", "T1021.001": "Remote Desktop Protocol", "T1021.002": "SMB/Windows Admin Shares",
    "T1021.006": "Windows Remote Management", "T1047": "Windows Management Instrumentation", "T1569.002": "Service Execution",
    "T1190": "Exploit Public-Facing Application", "T1059": "Command and Scripting Interpreter", "T1059.001": "PowerShell",
    "T1059.003": "Windows Command Shell", "T1071": "Application Layer Protocol", "T1071.001": "Web Protocols",
    "T1571": "Non-Standard Port", "T1041": "Exfiltration Over C2 Channel", "T1048": "Exfiltration Over Alternative Protocol",
    "T1567": "Exfiltration Over Web Service", "T1567.002": "Exfiltration to Cloud Storage",
    "T1222.001": "Windows File and Directory Permissions Modification", "T1098": "Account Manipulation",
    "T1484": "Domain or Tenant Policy Modification", "T1098.007": "Additional Local or Domain Groups",
    "T1531": "Account Access Removal", "T1046": "Network Service Discovery", "T1078": "Valid Accounts",
    "T1078.002": "Domain Accounts", "T1556": "Modify Authentication Process", "T1053.005": "Scheduled Task",
    "T1070.001": "Clear Windows Event Logs", "T1133": "External Remote Services", "T1219": "Remote Access Software",
    "T1105": "Ingress Tool Transfer", "T1550.002": "Pass the Hash", "T1558.001": "Golden Ticket",
    "T1649": "Steal or Forge Authentication Certificates", "T1098.001": "Additional Cloud Credentials",
    "T1556.007": "Hybrid Identity", "T1087.002": "Domain Account", "T1098.005": "Device Registration",
    "T1569": "System Services", "T1560": "Archive Collected Data", "T1560.001": "Archive via Utility", "T1005": "Data from Local System",
    "T1570": "Lateral Tool Transfer", "T1053": "Scheduled Task/Job", "T1070": "Indicator Removal", "T1090": "Proxy",
    "T1203": "Exploitation for Client Execution", "T1566": "Phishing", "T1566.001": "Spearphishing Attachment",
    "T1204.002": "Malicious File", "T1204": "User Execution", "T1018": "Remote System Discovery", "T1595": "Active Scanning",
    "T1595.002": "Vulnerability Scanning", "T1136": "Create Account", "T1207": "Rogue Domain Controller", "T1543.003": "Windows Service",
    "T1543": "Create or Modify System Process", "T1095": "Non-Application Layer Protocol",
    "T1222": "File and Directory Permissions Modification", "T1547": "Boot or Logon Autostart Execution",
    "T1547.001": "Registry Run Keys / Startup Folder", "T1484.001": "Group Policy Modification",
}
TECH_TACTIC = {"T1003": "TA0006", "T1558": "TA0006", "T1110": "TA0006", "T1021": "TA0008", "T1047": "TA0002", "T1569": "TA0002",
               "T1190": "TA0001", "T1059": "TA0002", "T1071": "TA0011", "T1571": "TA0011", "T1041": "TA0010", "T1048": "TA0010",
               "T1567": "TA0010", "T1222": "TA0005", "T1098": "TA0003", "T1484": "TA0004", "T1531": "TA0040", "T1046": "TA0007",
               "T1078": "TA0001", "T1556": "TA0006", "T1053": "TA0003", "T1070": "TA0005", "T1133": "TA0001", "T1219": "TA0011",
               "T1105": "TA0011", "T1550": "TA0008", "T1649": "TA0006", "T1087": "TA0007",
               "T1560": "TA0009", "T1005": "TA0009", "T1570": "TA0008", "T1090": "TA0011", "T1203": "TA0002", "T1566": "TA0001",
               "T1204": "TA0002", "T1018": "TA0007", "T1595": "TA0043", "T1136": "TA0003", "T1207": "TA0005", "T1543": "TA0003", "T1095": "TA0011",
               "T1547": "TA0003"}
SEV = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEV_NAME = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
RISK = {"informational": 9, "low": 21, "medium": 47, "high": 73, "critical": 99}


def _ms(s: str) -> int:
    return int(ts(s).timestamp() * 1000)


def _iso(s: str) -> str:
    return iso(ts(s))


def ocsf_attacks(techniques: list[str]) -> list:
    out = []
    for t in techniques:
        base = t.split(".")[0]
        tac = TECH_TACTIC[base]
        a = {"version": "v16", "tactic": {"uid": tac, "name": TACTICS[tac]}, "technique": {"uid": base, "name": TECH[base]}}
        if "." in t:
            a["sub_technique"] = {"uid": t, "name": TECH[t]}
        out.append(a)
    return out


def ocsf_user(sam: str | None = None, domain: str = NETBIOS, sid: str | None = None, name: str | None = None) -> dict:
    d = {"name": name or sam, "domain": domain, "type_id": 1, "type": "User"}
    if sid:
        d["uid"] = sid
    return d


def ocsf_endpoint(ip: str | None = None, hostname: str | None = None, port: int | None = None, name: str | None = None) -> dict:
    d = {}
    if hostname:
        d["hostname"] = hostname
    if name:
        d["name"] = name
    if ip:
        d["ip"] = ip
    if port is not None:
        d["port"] = port
    return d


def ocsf_finding(uid: str, time: str, title: str, desc: str, severity: str, product: tuple, analytic: tuple,
                 techniques: list[str], evidences: list, device: dict | None = None, resources: list | None = None,
                 related: list | None = None, first_seen: str | None = None, last_seen: str | None = None,
                 confidence: int = 70, data_sources: list | None = None, unmapped: dict | None = None,
                 types: list | None = None, message: str | None = None, observables: list | None = None) -> dict:
    sid_ = SEV[severity]
    conf_id = 3 if confidence >= 80 else (2 if confidence >= 50 else 1)
    d = {
        "activity_id": 1, "activity_name": "Create", "category_uid": 2, "category_name": "Findings",
        "class_uid": 2004, "class_name": "Detection Finding", "type_uid": 200401, "type_name": "Detection Finding: Create",
        "time": _ms(time), "time_dt": _iso(time), "severity_id": sid_, "severity": SEV_NAME[sid_],
        "status_id": 1, "status": "New", "confidence_id": conf_id, "confidence": {1: "Low", 2: "Medium", 3: "High"}[conf_id],
        "confidence_score": confidence, "risk_level_id": min(sid_ - 1, 4), "risk_level": ["Info", "Low", "Medium", "High", "Critical"][min(sid_ - 1, 4)],
        "risk_score": RISK[severity], "is_alert": True, "message": message or title,
        "finding_info": {
            "uid": uid, "title": title, "desc": desc, "types": types or [analytic[2] if len(analytic) > 2 else "Detection"],
            "created_time": _ms(time), "created_time_dt": _iso(time),
            "first_seen_time": _ms(first_seen or time), "first_seen_time_dt": _iso(first_seen or time),
            "last_seen_time": _ms(last_seen or time), "last_seen_time_dt": _iso(last_seen or time),
            "analytic": {"uid": analytic[0], "name": analytic[1], "type_id": 1, "type": "Rule"},
            "attacks": ocsf_attacks(techniques), "data_sources": data_sources or ["Windows Security Event Log"],
        },
        "evidences": evidences,
        "metadata": {"version": "1.3.0", "product": {"name": product[0], "vendor_name": product[1], "version": product[2]},
                     "uid": stable_uuid("ocsf-meta", uid).lower(), "log_name": "detections", "original_time": _iso(first_seen or time),
                     "profiles": ["host", "security_control", "datetime"], "logged_time": _ms(time) + 2100},
    }
    if related:
        d["finding_info"]["related_events"] = related
    if device:
        d["device"] = device
    if resources:
        d["resources"] = resources
    if observables:
        d["observables"] = observables
    if unmapped:
        d["unmapped"] = unmapped
    return d


def ocsf_device(hostname: str, ip: str | None = None, kind: str = "Server", os_name: str = "Windows Server 2022") -> dict:
    tid = {"Server": 1, "Desktop": 2, "Laptop": 3}[kind]
    d = {"hostname": hostname, "name": hostname.split(".")[0], "type_id": tid, "type": kind, "domain": DOMAIN,
         "os": {"name": os_name, "type_id": 100, "type": "Windows"}}
    if ip:
        d["ip"] = ip
    return d


def related_event(win_event: dict, product: str = "Microsoft Windows") -> dict:
    return {"uid": str(win_event["RecordNumber"]), "type_uid": 0, "type_name": f"{win_event['Channel']} {win_event['EventID']}",
            "product_uid": win_event["Hostname"], "time": int(ts(win_event["@timestamp"].replace("T", " ").rstrip("Z")).timestamp() * 1000)}


# ------------------------------------------------------------------ Elastic
def elastic_threat(techniques: list[str]) -> list:
    by_tac: dict[str, dict] = {}
    for t in techniques:
        base = t.split(".")[0]
        tac = TECH_TACTIC[base]
        e = by_tac.setdefault(tac, {"framework": "MITRE ATT&CK", "tactic": {"id": tac, "name": TACTICS[tac], "reference": f"https://attack.mitre.org/tactics/{tac}/"},
                                    "technique": []})
        tech = next((x for x in e["technique"] if x["id"] == base), None)
        if not tech:
            tech = {"id": base, "name": TECH[base], "reference": f"https://attack.mitre.org/techniques/{base}/"}
            e["technique"].append(tech)
        if "." in t:
            tech.setdefault("subtechnique", []).append({"id": t, "name": TECH[t], "reference": f"https://attack.mitre.org/techniques/{base}/{t.split('.')[1]}/"})
    return list(by_tac.values())


def elastic_alert(uuid_seed: str, time: str, rule_name: str, description: str, severity: str, techniques: list[str],
                  reason: str, source: dict, rule_type: str = "eql", query: str = "", index: list | None = None,
                  original_time: str | None = None, ancestors: list | None = None, original_event: dict | None = None,
                  extra: dict | None = None, rule_id: str | None = None, false_positives: list | None = None) -> dict:
    auuid = hexdigest("kibana-alert" + uuid_seed, 64)
    rid = rule_id or stable_uuid("elastic-rule", rule_name).lower()
    ruuid = stable_uuid("elastic-rule-so", rule_name).lower()
    idx = index or ["logs-system.security*", "logs-windows.sysmon_operational-*", "winlogbeat-*"]
    t_alert = (ts(time) + timedelta(seconds=41)).strftime("%Y-%m-%d %H:%M:%S")
    d = {
        "kibana.version": "8.15.3",
        "kibana.alert.rule.category": {"eql": "Event Correlation Rule", "query": "Custom Query Rule", "threshold": "Threshold Rule",
                                       "new_terms": "New Terms Rule", "esql": "ES|QL Rule"}[rule_type],
        "kibana.alert.rule.consumer": "siem", "kibana.alert.rule.execution.uuid": stable_uuid("exec", uuid_seed).lower(),
        "kibana.alert.rule.name": rule_name, "kibana.alert.rule.producer": "siem",
        "kibana.alert.rule.rule_type_id": {"eql": "siem.eqlRule", "query": "siem.queryRule", "threshold": "siem.thresholdRule",
                                           "new_terms": "siem.newTermsRule", "esql": "siem.esqlRule"}[rule_type],
        "kibana.alert.rule.uuid": ruuid, "kibana.space_ids": ["default"], "kibana.alert.rule.tags": ["Domain: Endpoint", "OS: Windows", "Use Case: Threat Detection", "LMI-SOC"],
        "@timestamp": _iso(t_alert),
    }
    d.update(source)
    d.update({
        "event.kind": "signal",
        "kibana.alert.ancestors": ancestors or [],
        "kibana.alert.status": "active", "kibana.alert.workflow_status": "open", "kibana.alert.depth": 1,
        "kibana.alert.reason": reason, "kibana.alert.severity": severity, "kibana.alert.risk_score": RISK[severity],
        "kibana.alert.rule.parameters": {"description": description, "risk_score": RISK[severity], "severity": severity,
                                         "license": "Elastic License v2", "author": ["Elastic", "LMI SOC"], "false_positives": false_positives or [],
                                         "from": "now-9m", "rule_id": rid, "max_signals": 100, "risk_score_mapping": [], "severity_mapping": [],
                                         "threat": elastic_threat(techniques), "to": "now", "references": [], "version": 7,
                                         "exceptions_list": [], "immutable": False, "type": rule_type, "language": "eql" if rule_type == "eql" else "kuery",
                                         "index": idx, "query": query},
        "kibana.alert.rule.actions": [], "kibana.alert.rule.created_at": "2024-10-02T14:11:05.118Z", "kibana.alert.rule.created_by": "soc-engineering",
        "kibana.alert.rule.enabled": True, "kibana.alert.rule.interval": "5m", "kibana.alert.rule.updated_at": "2025-02-18T09:40:51.327Z",
        "kibana.alert.rule.updated_by": "soc-engineering", "kibana.alert.rule.type": rule_type, "kibana.alert.rule.description": description,
        "kibana.alert.rule.risk_score": RISK[severity], "kibana.alert.rule.severity": severity, "kibana.alert.rule.license": "Elastic License v2",
        "kibana.alert.rule.author": ["Elastic", "LMI SOC"], "kibana.alert.rule.false_positives": false_positives or [], "kibana.alert.rule.from": "now-9m",
        "kibana.alert.rule.rule_id": rid, "kibana.alert.rule.max_signals": 100, "kibana.alert.rule.risk_score_mapping": [],
        "kibana.alert.rule.severity_mapping": [], "kibana.alert.rule.threat": elastic_threat(techniques), "kibana.alert.rule.to": "now",
        "kibana.alert.rule.references": [], "kibana.alert.rule.version": 7, "kibana.alert.rule.exceptions_list": [], "kibana.alert.rule.immutable": False,
        "kibana.alert.original_time": _iso(original_time or time),
    })
    for k, v in (original_event or {}).items():
        d[f"kibana.alert.original_event.{k}"] = v
    if extra:
        d.update(extra)
    d["kibana.alert.uuid"] = auuid
    return d


def ecs_host(short: str, ip: str | None, os_name: str = "Windows Server 2022 Standard") -> dict:
    h = {"name": short.lower(), "hostname": short.lower(), "os": {"family": "windows", "type": "windows", "platform": "windows",
                                                                   "name": os_name, "kernel": "10.0.20348.2340 (WinBuild.160101.0800)", "version": "10.0"},
         "architecture": "x86_64", "id": stable_uuid("hostid", short).lower()}
    if ip:
        h["ip"] = [ip]
    return h


def ecs_winlog(ev: dict, extra: dict | None = None) -> dict:
    skip = {"@timestamp", "@version", "host", "port", "tags", "SourceModuleName", "SourceModuleType", "EventTime", "EventReceivedTime",
            "Hostname", "Channel", "EventID", "RecordNumber", "SourceName", "ProviderGuid", "Task", "Category", "Opcode", "OpcodeValue",
            "Version", "Keywords", "EventType", "Severity", "SeverityValue", "ExecutionProcessID", "ThreadID", "UserID", "AccountName",
            "Domain", "AccountType", "_t"}
    w = {"channel": ev["Channel"], "event_id": str(ev["EventID"]), "record_id": str(ev["RecordNumber"]), "computer_name": ev["Hostname"],
         "provider_name": ev["SourceName"], "provider_guid": ev["ProviderGuid"], "api": "wineventlog",
         "process": {"pid": ev.get("ExecutionProcessID"), "thread": {"id": ev.get("ThreadID")}},
         "event_data": {k: v for k, v in ev.items() if k not in skip}, "opcode": "Info", "task": ev.get("Category", "")}
    if extra:
        w.update(extra)
    return w


def ancestors_for(events: list[dict], index: str) -> list:
    return [{"id": hexdigest("doc" + e["Hostname"] + str(e["RecordNumber"]), 20), "type": "event", "index": index, "depth": 0} for e in events]


SYSMON_INDEX = ".ds-logs-windows.sysmon_operational-default-2025.03.10-000009"
SECURITY_INDEX = ".ds-logs-system.security-default-2025.03.10-000014"


def ecs_from_sysmon1(ev: dict, os_name: str = "Windows Server 2022 Standard") -> dict:
    short = ev["Hostname"].split(".")[0]
    from enterprise import IP_OF
    dom, _, name = ev["User"].partition("\\")
    return {"host": ecs_host(short, IP_OF.get(short.upper()), os_name), "ecs": {"version": "8.11.0"},
            "agent": {"type": "filebeat", "version": "8.15.3", "name": short.lower()},
            "data_stream": {"namespace": "default", "type": "logs", "dataset": "windows.sysmon_operational"},
            "event": {"code": "1", "provider": "Microsoft-Windows-Sysmon", "action": "Process creation", "category": ["process"],
                      "type": ["start"], "module": "windows", "dataset": "windows.sysmon_operational"},
            "process": {"name": ev["Image"].split("\\")[-1], "executable": ev["Image"], "command_line": ev["CommandLine"],
                        "pid": int(ev["ProcessId"]), "entity_id": ev["ProcessGuid"], "working_directory": ev["CurrentDirectory"],
                        "pe": {"original_file_name": ev["OriginalFileName"], "description": ev["Description"], "company": ev["Company"]},
                        "hash": {"sha256": ev["Hashes"].split("SHA256=")[1].split(",")[0].lower()},
                        "parent": {"name": ev["ParentImage"].split("\\")[-1], "executable": ev["ParentImage"], "command_line": ev["ParentCommandLine"],
                                   "pid": int(ev["ParentProcessId"]), "entity_id": ev["ParentProcessGuid"]}},
            "user": {"name": name, "domain": dom}, "winlog": ecs_winlog(ev, {"logon": {"id": ev["LogonId"]}})}


def ecs_from_security(ev: dict, os_name: str = "Windows Server 2022 Standard", action: str = "", category=("authentication",),
                      outcome: str = "success") -> dict:
    short = ev["Hostname"].split(".")[0]
    from enterprise import IP_OF
    d = {"host": ecs_host(short, IP_OF.get(short.upper()), os_name), "ecs": {"version": "8.11.0"},
         "agent": {"type": "filebeat", "version": "8.15.3", "name": short.lower()},
         "data_stream": {"namespace": "default", "type": "logs", "dataset": "system.security"},
         "event": {"code": str(ev["EventID"]), "provider": ev["SourceName"], "action": action, "category": list(category),
                   "outcome": outcome, "module": "system", "dataset": "system.security"},
         "winlog": ecs_winlog(ev)}
    u = ev.get("TargetUserName") if ev["EventID"] in (4624, 4625, 4634) else ev.get("SubjectUserName")
    dom = ev.get("TargetDomainName") if ev["EventID"] in (4624, 4625, 4634) else ev.get("SubjectDomainName")
    if u and u != "-":
        d["user"] = {"name": u, "domain": dom}
    ip = ev.get("IpAddress")
    if ip and ip not in ("-", "127.0.0.1", "::1"):
        d["source"] = {"ip": ip.replace("::ffff:", ""), "port": int(ev["IpPort"]) if str(ev.get("IpPort", "-")).isdigit() else None}
        if ev.get("WorkstationName") not in (None, "-"):
            d["source"]["domain"] = ev["WorkstationName"]
    if ev["EventID"] in (4624, 4625):
        d["winlog"]["logon"] = {"id": ev.get("TargetLogonId"), "type": {"2": "Interactive", "3": "Network", "10": "RemoteInteractive", "5": "Service"}.get(ev.get("LogonType"), ev.get("LogonType"))}
    return d
