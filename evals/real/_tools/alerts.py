"""Builders for the two alert formats the real-telemetry scenarios use.

OCSF Detection Finding (class_uid 2004, OCSF 1.1, host profile) and Elastic Security
alert documents (the `_source` of a `.alerts-security.alerts-default` document: the
`kibana.alert.*` fields dotted, the ECS fields copied from the source event nested).

Only what a detection would really carry goes in: the host, the account, the process,
a source address, the ATT&CK mapping and a pointer to the source event (winlog record id).
Nothing here is copied from a capture; every value is written in the scenario spec.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

NS = uuid.UUID("5f1d0c7e-4a51-4f0e-9a3e-7f3b2d9c0a11")  # namespace of this scenario set

TACTICS = {
    "TA0002": "Execution",
    "TA0003": "Persistence",
    "TA0004": "Privilege Escalation",
    "TA0005": "Defense Evasion",
    "TA0006": "Credential Access",
    "TA0007": "Discovery",
    "TA0008": "Lateral Movement",
}

SEVERITY = {  # name -> (OCSF severity_id, OCSF caption, Elastic risk score)
    "informational": (1, "Informational", 21),
    "low": (2, "Low", 21),
    "medium": (3, "Medium", 47),
    "high": (4, "High", 73),
    "critical": (5, "Critical", 99),
}


def uid(scenario_id: str, what: str = "alert") -> str:
    return str(uuid.uuid5(NS, f"{scenario_id}/{what}"))


def parse_ts(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _short(host: str) -> str:
    return host.split(".")[0]


def _domain(host: str) -> str | None:
    return host.split(".", 1)[1] if "." in host else None


# ---------------------------------------------------------------- OCSF 2004

def _ocsf_process(p: dict | None) -> dict | None:
    if not p:
        return None
    out = {
        "name": p["executable"].split("\\")[-1],
        "file": {"path": p["executable"], "name": p["executable"].split("\\")[-1]},
    }
    if p.get("command_line"):
        out["cmd_line"] = p["command_line"]
    if p.get("pid") is not None:
        out["pid"] = int(p["pid"])
    if p.get("entity_id"):
        out["uid"] = p["entity_id"]
    if p.get("user"):
        out["user"] = {"name": p["user"]["name"], "domain": p["user"].get("domain")}
    if p.get("integrity"):
        out["integrity"] = p["integrity"]
    if p.get("parent"):
        out["parent_process"] = _ocsf_process(p["parent"])
    return out


def ocsf_finding(s: dict) -> dict:
    a = s["alert"]
    when = parse_ts(a["time"])
    created = when + timedelta(seconds=a.get("delay_s", 45))
    sev_id, sev_name, _ = SEVERITY[a["severity"]]
    attacks = []
    for tech_id, tech_name, tactic in a["attack"]:
        attacks.append({
            "version": "14.1",
            "tactic": {"uid": tactic, "name": TACTICS[tactic]},
            "technique": {"uid": tech_id, "name": tech_name},
        })
    host = a["host"]
    device = {
        "hostname": host["name"],
        "name": _short(host["name"]),
        "type_id": host.get("type_id", 2),
        "type": host.get("type", "Desktop"),
        "os": {"name": "Windows", "type_id": 100, "type": "Windows"},
    }
    if _domain(host["name"]):
        device["domain"] = _domain(host["name"])
    if host.get("ip"):
        device["ip"] = host["ip"]

    evidence: dict = {}
    proc = _ocsf_process(a.get("process"))
    if proc:
        evidence["process"] = proc
    if a.get("user"):
        evidence["actor"] = {"user": {k: v for k, v in {
            "name": a["user"]["name"], "domain": a["user"].get("domain"),
            "uid": a["user"].get("sid"), "type_id": 1, "type": "User"}.items() if v}}
        if a["user"].get("logon_id"):
            evidence["actor"]["session"] = {"uid": a["user"]["logon_id"]}
    if a.get("source"):
        src = {k: v for k, v in {"ip": a["source"].get("ip"), "port": a["source"].get("port"),
                                 "hostname": a["source"].get("hostname")}.items() if v}
        evidence["src_endpoint"] = src
    if a.get("destination"):
        evidence["dst_endpoint"] = {k: v for k, v in {
            "ip": a["destination"].get("ip"), "port": a["destination"].get("port"),
            "hostname": a["destination"].get("hostname"),
            "svc_name": a["destination"].get("service")}.items() if v}
    if a.get("file"):
        evidence["file"] = {"path": a["file"], "name": a["file"].split("\\")[-1], "type_id": 1}
    if a.get("target_process"):
        evidence["data"] = {"target_process": a["target_process"]}
    extra = a.get("evidence_data")
    if extra:
        evidence.setdefault("data", {}).update(extra)

    finding = {
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "severity_id": sev_id,
        "severity": sev_name,
        "status_id": 1,
        "status": "New",
        "confidence_id": a.get("confidence_id", 3),
        "confidence": {1: "Low", 2: "Medium", 3: "High"}[a.get("confidence_id", 3)],
        "time": ms(when),
        "message": a["title"],
        "metadata": {
            "version": "1.1.0",
            "profiles": ["host"],
            "uid": uid(s["id"], "metadata"),
            "product": {"name": a.get("product", "Windows Event Analytics"),
                        "vendor_name": a.get("vendor", "THESHIRE SOC")},
            "log_name": a["source_event"]["channel"],
            "original_time": a["source_event"].get("original_time", a["time"]),
        },
        "finding_info": {
            "uid": uid(s["id"]),
            "title": a["title"],
            "desc": a["description"],
            "types": a.get("types", [TACTICS[a["attack"][0][2]]]),
            "created_time": ms(created),
            "first_seen_time": ms(when),
            "last_seen_time": ms(when),
            "analytic": {"name": a["rule"], "uid": uid(s["id"], "rule"), "type_id": 1,
                         "type": "Rule"},
            "attacks": attacks,
            "data_sources": a.get("data_sources", [a["source_event"]["channel"]]),
            "related_events": [{
                "uid": str(a["source_event"].get("record_id", "")) or a["source_event"].get("uid", ""),
                "type_uid": a["source_event"].get("type_uid"),
                "type_name": a["source_event"].get("type_name"),
                "time": ms(when),
            }],
        },
        "device": device,
        "evidences": [evidence],
        "unmapped": {"winlog": {k: v for k, v in {
            "channel": a["source_event"]["channel"],
            "event_id": a["source_event"]["event_id"],
            "record_id": a["source_event"].get("record_id"),
            "computer_name": host["name"],
            "event_data": a["source_event"].get("event_data"),
        }.items() if v is not None}},
    }
    if a.get("user"):
        finding["actor"] = evidence["actor"]
    if a.get("resources"):
        finding["resources"] = a["resources"]
    rel = finding["finding_info"]["related_events"][0]
    for k in [k for k, v in rel.items() if v in (None, "")]:
        del rel[k]
    return finding


# ---------------------------------------------------------------- Elastic alert

def _ecs_process(p: dict | None) -> dict | None:
    if not p:
        return None
    out = {"executable": p["executable"], "name": p["executable"].split("\\")[-1]}
    if p.get("command_line"):
        out["command_line"] = p["command_line"]
    if p.get("pid") is not None:
        out["pid"] = int(p["pid"])
    if p.get("entity_id"):
        out["entity_id"] = p["entity_id"]
    if p.get("parent"):
        out["parent"] = _ecs_process(p["parent"])
    return out


def elastic_alert(s: dict) -> dict:
    a = s["alert"]
    when = parse_ts(a["time"])
    created = when + timedelta(seconds=a.get("delay_s", 60))
    _, _, risk = SEVERITY[a["severity"]]
    threat = []
    by_tactic: dict[str, list] = {}
    for tech_id, tech_name, tactic in a["attack"]:
        by_tactic.setdefault(tactic, []).append((tech_id, tech_name))
    for tactic, techs in by_tactic.items():
        entries = []
        for tech_id, tech_name in techs:
            base = tech_id.split(".")[0]
            entry = {"id": base, "name": tech_name if "." not in tech_id else a.get(
                "parent_names", {}).get(base, tech_name),
                "reference": f"https://attack.mitre.org/techniques/{base}/"}
            if "." in tech_id:
                entry["subtechnique"] = [{
                    "id": tech_id, "name": tech_name,
                    "reference": f"https://attack.mitre.org/techniques/{tech_id.replace('.', '/')}/"}]
            entries.append(entry)
        threat.append({"framework": "MITRE ATT&CK",
                       "tactic": {"id": tactic, "name": TACTICS[tactic],
                                  "reference": f"https://attack.mitre.org/tactics/{tactic}/"},
                       "technique": entries})
    host = a["host"]
    ev = a["source_event"]
    alert_id = uid(s["id"])
    doc: dict = {
        "@timestamp": iso(created),
        "kibana.alert.uuid": alert_id,
        "kibana.alert.start": iso(created),
        "kibana.alert.last_detected": iso(created),
        "kibana.alert.original_time": iso(when),
        "kibana.alert.status": "active",
        "kibana.alert.workflow_status": "open",
        "kibana.alert.depth": 1,
        "kibana.alert.severity": a["severity"] if a["severity"] != "informational" else "low",
        "kibana.alert.risk_score": risk,
        "kibana.alert.reason": a["reason"],
        "kibana.alert.rule.name": a["rule"],
        "kibana.alert.rule.description": a["description"],
        "kibana.alert.rule.uuid": uid(s["id"], "rule-object"),
        "kibana.alert.rule.rule_id": uid(s["id"], "rule"),
        "kibana.alert.rule.type": a.get("rule_type", "eql"),
        "kibana.alert.rule.rule_type_id": f"siem.{a.get('rule_type', 'eql')}Rule",
        "kibana.alert.rule.category": {"eql": "Event Correlation Rule",
                                       "query": "Custom Query Rule",
                                       "threshold": "Threshold Rule"}[a.get("rule_type", "eql")],
        "kibana.alert.rule.consumer": "siem",
        "kibana.alert.rule.producer": "siem",
        "kibana.alert.rule.severity": a["severity"] if a["severity"] != "informational" else "low",
        "kibana.alert.rule.risk_score": risk,
        "kibana.alert.rule.threat": threat,
        "kibana.alert.rule.tags": a.get("tags", ["Domain: Endpoint", "OS: Windows"]),
        "kibana.alert.rule.version": 1,
        "kibana.alert.rule.enabled": True,
        "kibana.alert.rule.from": "now-9m",
        "kibana.alert.rule.interval": "5m",
        "kibana.alert.rule.index": ["logs-windows.*", "winlogbeat-*", "logs-system.*"],
        "kibana.alert.ancestors": [{"id": uid(s["id"], "source-event"), "type": "event",
                                    "index": a.get("index", "winlogbeat-7.9.1"), "depth": 0}],
        "kibana.alert.original_event.kind": "event",
        "kibana.alert.original_event.code": str(ev["event_id"]),
        "kibana.alert.original_event.provider": ev.get("provider"),
        "kibana.alert.original_event.action": ev.get("action"),
        "kibana.space_ids": ["default"],
        "event": {"kind": "signal", "code": str(ev["event_id"]), "provider": ev.get("provider"),
                  "action": ev.get("action"), "category": ev.get("category", []),
                  "type": ev.get("type", [])},
        "host": {k: v for k, v in {"name": host["name"], "hostname": _short(host["name"]),
                                   "ip": host.get("ip"),
                                   "os": {"family": "windows", "platform": "windows",
                                          "type": "windows"}}.items() if v},
        "winlog": {k: v for k, v in {
            "channel": ev["channel"], "computer_name": host["name"],
            "event_id": str(ev["event_id"]), "record_id": ev.get("record_id"),
            "provider_name": ev.get("provider"),
            "event_data": ev.get("event_data"),
        }.items() if v is not None},
        "agent": {"type": "winlogbeat"},
        "ecs": {"version": "8.11.0"},
    }
    for k in [k for k, v in doc.items() if v is None]:
        del doc[k]
    if a.get("user"):
        u = a["user"]
        doc["user"] = {k: v for k, v in {"name": u["name"], "domain": u.get("domain"),
                                         "id": u.get("sid")}.items() if v}
    proc = _ecs_process(a.get("process"))
    if proc:
        doc["process"] = proc
    if a.get("source"):
        doc["source"] = {k: v for k, v in {"ip": a["source"].get("ip"),
                                           "port": a["source"].get("port"),
                                           "domain": a["source"].get("hostname")}.items() if v}
    if a.get("destination"):
        doc["destination"] = {k: v for k, v in {"ip": a["destination"].get("ip"),
                                                "port": a["destination"].get("port")}.items() if v}
    if a.get("file"):
        doc["file"] = {"path": a["file"], "name": a["file"].split("\\")[-1]}
    if a.get("registry"):
        doc["registry"] = a["registry"]
    if a.get("target_process"):
        doc["Target"] = {"process": a["target_process"]}
    if a.get("ecs_extra"):
        for k, v in a["ecs_extra"].items():
            doc[k] = v
    return doc
