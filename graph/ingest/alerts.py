"""Alerts (OCSF Detection Finding 2004, Elastic Security) -> `Alert` nodes tied to what
they involve.

Parsing lives in `graph.alert_model` (the investigation reads alert files without
ingesting them); this connector stores each alert and links it with
`(Alert)-[:Involves {role}]->(entity)` to the hosts, accounts, IPs, processes and hashes
that resolve in the twin (`graph.resolve.resolve_alert`; a process or hash is an event
of the event store, which gets a graph node of its own for that edge). It never creates a host or a
user: an alert may name things that do not exist, and that absence is evidence the
investigation must still be able to see (the alert keeps every name it used in its
`named_*` properties).
"""

from __future__ import annotations

import json
import re

from graph import catalog
from graph.alert_model import AlertFormatError, iter_alert_documents, parse_alert
from graph.ingest._eventnodes import event_node, event_schema
from graph.ingest._jsonhead import json_head
from graph.ingest.base import BadFile, Batch, Connector, IngestContext, Source
from graph.resolve import resolve_alert

ALERT = catalog.node("Alert")
INVOLVES = catalog.rel("Involves")

_OCSF_2004 = re.compile(r'"class_uid"\s*:\s*"?2004\b')


def _alert_keys(keys: dict) -> bool:
    """An alert's own top-level keys, or an envelope (hit, es_archive doc) holding one."""
    if str(keys.get("class_uid")) == "2004" or "finding_info" in keys:
        return True
    if "kibana.alert.uuid" in keys or any(k.startswith("kibana.alert.") for k in keys):
        return True
    inner = keys.get("_source")
    if not isinstance(inner, dict) and keys.get("type") == "doc" and isinstance(keys.get("value"), dict):
        inner = keys["value"].get("source")
    return isinstance(inner, dict) and _alert_keys(inner)


def sniff(name: str, head: str) -> bool:
    """By the keys of the document (or of the first one, in an array or JSON lines; see
    graph.ingest._jsonhead), else by what the head's text holds (nested envelopes such as
    a search response's hits)."""
    text = head.lstrip("\ufeff").lstrip()
    if not text.startswith(("{", "[")):
        return False
    h = json_head(head)
    if h is not None and _alert_keys(h.keys):
        return True
    return bool(_OCSF_2004.search(text)) or '"finding_info"' in text or "kibana.alert." in text \
        or ('"kibana"' in text and '"alert"' in text and '"uuid"' in text)


def transform(source: Source, ctx: IngestContext) -> Batch:
    text = source.text()
    batch = Batch()
    alerts = {}
    json_docs = 0
    for where, doc in iter_alert_documents(text):
        batch.records += 1
        if isinstance(doc, ValueError):
            batch.reject(source.name, where, str(doc))
            continue
        json_docs += 1
        try:
            alert = parse_alert(doc)  # type: ignore[arg-type]
        except AlertFormatError as exc:
            batch.reject(source.name, where, str(exc))
            continue
        alerts[alert.id] = alert
    if json_docs == 0:
        raise BadFile("no JSON document in the file" if batch.records == 0
                      else "no line is JSON: not an alert file")
    if not alerts:
        return batch
    index = ctx.twin_index()
    nodes, rels = [], []
    events: dict[tuple[str, str], dict] = {}
    for alert in alerts.values():
        ts = alert.timestamp
        props = {
            "title": alert.title, "rule": alert.rule, "description": alert.description,
            "severity": alert.severity, "severity_raw": alert.severity_raw,
            "risk_score": alert.risk_score, "timestamp": alert.timestamp, "time": alert.time,
            "event_timestamp": alert.event_timestamp, "format": alert.format,
            "techniques": alert.techniques, "product": alert.product,
            "raw": json.dumps(alert.raw, sort_keys=True, default=str),
            "named_hosts": sorted({m.raw for m in alert.hosts}),
            "named_users": sorted({f"{m.domain}\\{m.raw}" if m.domain else m.raw
                                   for m in alert.users}),
            "named_ips": sorted({m.raw for m in alert.ips}),
            "named_processes": sorted({m.raw for m in alert.processes}),
            "named_hashes": sorted({m.raw for m in alert.hashes}),
        }
        nodes.append({"key": alert.id, "firstseen": ts, "lastseen": ts, "props": props})
        roles: dict[str, list[str]] = {}
        resolution = resolve_alert(alert, index, ctx.reader, events=ctx.events)
        for key, row in resolution.events.items():
            events.setdefault((row["kind"], key), row)
        for inv in resolution.involved:
            roles.setdefault(inv.key, [])
            if inv.role not in roles[inv.key]:
                roles[inv.key].append(inv.role)
        for key, rs in roles.items():
            rels.append({"src": alert.id, "dst": key, "firstseen": ts, "lastseen": ts,
                         "props": {"role": rs[0], "roles": rs}})
    kinds: dict[str, list[dict]] = {}
    for (kind, _), row in sorted(events.items()):
        kinds.setdefault(kind, []).append(event_node(row))
    for kind, rows in kinds.items():
        batch.add_nodes(event_schema(kind), rows)
    batch.add_nodes(ALERT, nodes)
    batch.add_rels(INVOLVES, rels)
    return batch


CONNECTOR = Connector(name="alerts", sniff=sniff, transform=transform, order=80)
