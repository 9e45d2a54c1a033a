"""Alerts as detection products write them: OCSF Detection Finding (class 2004) and
Elastic Security (ECS, Kibana's dotted `kibana.alert.*` keys), built from what the
twin knows about the hosts and accounts involved.

`ocsf_finding` and `ecs_alert` are the builders scenario kits use (through
`graph.generate.telemetry.Telemetry.alert_ocsf` / `alert_ecs`); `write_background_alerts`
writes the benign alerts a SIEM raises every day in this estate - the scheduled scan
trips a port-scan rule, the backup account's admin-share reads trip a lateral-movement
rule - so an investigation meets the known false positives next to whatever a
scenario plants, at the times the background activity really happened.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from graph.generate.model import DAY
from graph.generate.nmap import scan_schedule
from graph.generate.ops import OpsPlan, iso

TECHNIQUES = {
    "T1003": ("OS Credential Dumping", "TA0006", "Credential Access"),
    "T1003.006": ("DCSync", "TA0006", "Credential Access"),
    "T1021.001": ("Remote Desktop Protocol", "TA0008", "Lateral Movement"),
    "T1021.002": ("SMB/Windows Admin Shares", "TA0008", "Lateral Movement"),
    "T1021.006": ("Windows Remote Management", "TA0008", "Lateral Movement"),
    "T1046": ("Network Service Discovery", "TA0007", "Discovery"),
    "T1053.005": ("Scheduled Task", "TA0003", "Persistence"),
    "T1078": ("Valid Accounts", "TA0001", "Initial Access"),
    "T1098": ("Account Manipulation", "TA0003", "Persistence"),
    "T1110": ("Brute Force", "TA0006", "Credential Access"),
    "T1110.003": ("Password Spraying", "TA0006", "Credential Access"),
    "T1190": ("Exploit Public-Facing Application", "TA0001", "Initial Access"),
    "T1543.003": ("Windows Service", "TA0003", "Persistence"),
    "T1550.002": ("Pass the Hash", "TA0008", "Lateral Movement"),
    "T1558.003": ("Kerberoasting", "TA0006", "Credential Access"),
    "T1558.004": ("AS-REP Roasting", "TA0006", "Credential Access"),
    "T1569.002": ("Service Execution", "TA0002", "Execution"),
}
SEVERITY_ID = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
RISK = {"informational": 10, "low": 21, "medium": 47, "high": 73, "critical": 99}


def _ms(ts: float) -> int:
    return int(round(ts * 1000))


def ocsf_finding(uid: str, title: str, technique: str, ts: float, *, severity: str = "high", rule: str | None = None,
                 description: str | None = None, host: str | None = None, host_ip: str | None = None,
                 user: tuple[str, str | None, str | None] | None = None, src_ip: str | None = None,
                 src_host: str | None = None, dst_ip: str | None = None, dst_host: str | None = None,
                 first_seen: float | None = None, product: str = "Sentinel Analytics") -> dict:
    """An OCSF 1.1 Detection Finding. `user` is (name, domain, SID or None)."""
    name, tactic_uid, tactic = TECHNIQUES.get(technique, (technique, None, None))
    attack: dict = {"version": "v14"}
    if "." in technique:
        parent = technique.split(".")[0]
        attack["technique"] = {"uid": parent, "name": TECHNIQUES.get(parent, (parent,))[0]}
        attack["sub_technique"] = {"uid": technique, "name": name}
    else:
        attack["technique"] = {"uid": technique, "name": name}
    if tactic_uid:
        attack["tactic"] = {"uid": tactic_uid, "name": tactic}
    info: dict = {"uid": uid, "title": title, "created_time": _ms(ts), "attacks": [attack],
                  "analytic": {"name": rule or title, "type_id": 1, "type": "Rule"}}
    if description:
        info["desc"] = description
    if first_seen is not None:
        info["first_seen_time"] = _ms(first_seen)
        info["last_seen_time"] = _ms(first_seen)
    doc: dict = {
        "activity_id": 1, "activity_name": "Create", "category_name": "Findings", "category_uid": 2,
        "class_name": "Detection Finding", "class_uid": 2004, "type_uid": 200401,
        "type_name": "Detection Finding: Create", "severity_id": SEVERITY_ID[severity], "severity": severity.title(),
        "status_id": 1, "status": "New", "time": _ms(ts), "time_dt": iso(ts), "message": title,
        "metadata": {"version": "1.1.0", "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ocsf:{uid}")),
                     "product": {"name": product, "vendor_name": "Contoso SecOps", "version": "2.3.1"}},
        "finding_info": info,
    }
    if host or host_ip:
        doc["device"] = {k: v for k, v in (("hostname", host), ("ip", host_ip)) if v}
        doc["device"].update(type_id=2, type="Server")
    if user:
        doc["actor"] = {"user": {k: v for k, v in (("name", user[0]), ("domain", user[1]), ("uid", user[2])) if v}}
    if src_ip or src_host:
        doc["src_endpoint"] = {k: v for k, v in (("ip", src_ip), ("hostname", src_host)) if v}
    if dst_ip or dst_host:
        doc["dst_endpoint"] = {k: v for k, v in (("ip", dst_ip), ("hostname", dst_host)) if v}
    return doc


def ecs_alert(alert_uuid: str, rule_name: str, technique: str, ts: float, *, severity: str = "high",
              reason: str | None = None, user: tuple[str, str | None] | None = None, host: str | None = None,
              source_ip: str | None = None, destination_ip: str | None = None, original_time: float | None = None,
              process: tuple[str, int | None, str | None] | None = None, risk_score: int | None = None) -> dict:
    """An Elastic Security alert as Kibana stores it (dotted kibana.* keys, nested ECS).
    `process` is (executable, pid, command line)."""
    name, tactic_uid, tactic = TECHNIQUES.get(technique, (technique, None, None))
    parent = technique.split(".")[0]
    tech: dict = {"id": parent, "name": TECHNIQUES.get(parent, (parent,))[0],
                  "reference": f"https://attack.mitre.org/techniques/{parent}/"}
    if "." in technique:
        tech["subtechnique"] = [{"id": technique, "name": name,
                                 "reference": f"https://attack.mitre.org/techniques/{technique.replace('.', '/')}/"}]
    threat = {"framework": "MITRE ATT&CK", "technique": [tech]}
    if tactic_uid:
        threat["tactic"] = {"id": tactic_uid, "name": tactic,
                            "reference": f"https://attack.mitre.org/tactics/{tactic_uid}/"}
    doc: dict = {
        "@timestamp": iso(ts),
        "kibana.alert.uuid": alert_uuid,
        "kibana.alert.status": "active",
        "kibana.alert.workflow_status": "open",
        "kibana.alert.rule.name": rule_name,
        "kibana.alert.rule.rule_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"rule:{rule_name}")),
        "kibana.alert.rule.threat": [threat],
        "kibana.alert.severity": severity,
        "kibana.alert.risk_score": risk_score if risk_score is not None else RISK[severity],
        "kibana.alert.reason": reason or rule_name,
        "threat": {"technique": {"id": [technique]}},
        "event": {"kind": "signal"},
    }
    if original_time is not None:
        doc["kibana.alert.original_time"] = iso(original_time)
    if user:
        doc["user"] = {k: v for k, v in (("name", user[0]), ("domain", user[1])) if v}
    if host:
        doc["host"] = {"name": host, "hostname": host.split(".")[0]}
    if source_ip:
        doc["source"] = {"ip": source_ip}
    if destination_ip:
        doc["destination"] = {"ip": destination_ip}
    if process:
        exe, pid, cmd = process
        proc: dict = {"executable": exe, "name": exe.replace("/", "\\").rsplit("\\", 1)[-1]}
        if pid is not None:
            proc["pid"] = pid
        if cmd:
            proc["command_line"] = cmd
        doc["process"] = proc
    return doc


def write_background_alerts(plan: OpsPlan, out_dir: Path) -> dict[str, int]:
    """The estate's daily known false positives: the scan (OCSF) and the backups (ECS)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ent = plan.ent
    ocsf, ecs = [], []
    files = [h for h in ent.hosts if h.role == "file"]
    for d in range(plan.days):
        day0 = plan.start + d * DAY
        schedule = scan_schedule(plan, d)
        first = next(t for _, slots in schedule for h, t in slots if h is not plan.scanner)
        date = iso(day0)[:10]
        ocsf.append(ocsf_finding(
            f"ocsf-portscan-{date}", f"Network service scan from {plan.scanner.short}", "T1046", first + 900,
            severity="low", rule="Internal host probing many ports", first_seen=first,
            description=f"{plan.scanner.fqdn} connected to many ports on many hosts.",
            host=plan.scanner.fqdn, host_ip=plan.scanner.ip, src_ip=plan.scanner.ip,
            user=("svc-scan", ent.netbios, None)))
        if files:
            t = day0 + 3600 + 400  # the backup window opens at 01:01:00 (graph.generate.background)
            ecs.append(ecs_alert(
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"backup:{ent.seed}:{date}")),
                "Administrative share accessed by a service account", "T1021.002", t, severity="low",
                reason=f"svc-backup accessed \\\\*\\D$ on {files[0].short} from {plan.backup.ip}",
                user=("svc-backup", ent.netbios), host=files[0].fqdn, source_ip=plan.backup.ip,
                destination_ip=files[0].ip, original_time=day0 + 3600 + 60.3))
    counts = {}
    for name, docs in (("siem-findings.ocsf.jsonl", ocsf), ("elastic-alerts.ndjson", ecs)):
        if docs:
            (out_dir / name).write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
            counts[name] = len(docs)
    return counts
