"""What an alert says, read from the formats detection products write, without a twin.

Two formats (contract section 3): OCSF Detection Finding 1.x (class_uid 2004) and
Elastic Security alert documents (ECS, `kibana.alert.*`, both as Kibana stores them -
dotted keys at the top - and fully nested). `parse_alert` turns either into one
`ParsedAlert`: its id (the twin key of the alert), title, rule, severity on the
contract's five-step scale, time, ATT&CK techniques, and every entity it mentions
with the raw string it used and the role it gave it. Resolution against the twin
(`graph.resolve`) is a separate step: the investigation needs to know what the alert
*claimed* as much as what exists, because a named host that does not exist is
evidence too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from graph.timestamps import epoch_seconds

SEVERITIES = ("informational", "low", "medium", "high", "critical")
_OCSF_SEVERITY_ID = {1: "informational", 2: "low", 3: "medium", 4: "high", 5: "critical",
                     6: "critical"}
_SEVERITY_WORDS = {
    "info": "informational", "informational": "informational", "information": "informational",
    "low": "low", "medium": "medium", "moderate": "medium", "high": "high",
    "critical": "critical", "fatal": "critical", "severe": "high",
}
_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
_SID = re.compile(r"^S-1-\d+(-\d+)+$", re.IGNORECASE)
_HASH = re.compile(r"^[0-9a-fA-F]{32}$|^[0-9a-fA-F]{40}$|^[0-9a-fA-F]{64}$|^[0-9a-fA-F]{128}$")


class AlertFormatError(ValueError):
    """The document is not an alert of a supported format (the message says why)."""


class Mention(BaseModel):
    """One entity as the alert names it. `raw` is the string exactly as written."""

    raw: str
    role: str  # host | user | src_ip | dst_ip | host_ip | process | parent_process | hash | ...
    field: str  # where in the document it was found
    domain: str | None = None  # users: the domain the alert gives, if any
    sid: str | None = None  # users: the SID the alert gives, if any
    pid: int | None = None  # processes
    path: str | None = None  # processes: executable path
    command_line: str | None = None
    algorithm: str | None = None  # hashes: md5 | sha1 | sha256 | ...


class ParsedAlert(BaseModel):
    id: str
    format: str  # "ocsf" | "ecs"
    title: str
    rule: str | None = None
    description: str | None = None
    severity: str = "informational"
    severity_raw: str | None = None
    risk_score: float | None = None
    time: str  # ISO 8601 UTC of the alert
    timestamp: int  # epoch seconds of the alert
    event_timestamp: int | None = None  # when the detected activity happened, if given
    techniques: list[str] = Field(default_factory=list)
    product: str | None = None
    hosts: list[Mention] = Field(default_factory=list)
    users: list[Mention] = Field(default_factory=list)
    ips: list[Mention] = Field(default_factory=list)
    processes: list[Mention] = Field(default_factory=list)
    hashes: list[Mention] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def activity_timestamp(self) -> int:
        """The time to resolve IP addresses at: the activity's when known."""
        return self.event_timestamp if self.event_timestamp is not None else self.timestamp


# --------------------------------------------------------------------------- helpers


def _s(v: object) -> str | None:
    if v is None or isinstance(v, (dict, list, bool)):
        return None
    t = str(v).strip()
    return t or None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _d(v: object) -> dict:
    return v if isinstance(v, dict) else {}


def _l(v: object) -> list:
    if isinstance(v, list):
        return v
    return [] if v is None else [v]


def normalize_severity(value: object) -> str | None:
    """A severity word (any case, OCSF caption or ECS value) -> the contract's scale."""
    t = _s(value)
    return _SEVERITY_WORDS.get(t.lower()) if t else None


def _risk_to_severity(score: float) -> str:
    """Elastic's own bands: 0-21 low, 22-47 medium, 48-73 high, 74-100 critical."""
    if score >= 74:
        return "critical"
    if score >= 48:
        return "high"
    if score >= 22:
        return "medium"
    return "low"


def _technique(value: object) -> str | None:
    t = _s(value)
    if not t:
        return None
    t = t.upper()
    return t if _TECHNIQUE.match(t) else None


class _Collector:
    def __init__(self) -> None:
        self.hosts: dict[tuple, Mention] = {}
        self.users: dict[tuple, Mention] = {}
        self.ips: dict[tuple, Mention] = {}
        self.processes: dict[tuple, Mention] = {}
        self.hashes: dict[tuple, Mention] = {}

    def host(self, value: object, role: str, field: str) -> None:
        v = _s(value)
        if v and v != "-":
            self.hosts.setdefault((v.lower(), role), Mention(raw=v, role=role, field=field))

    def ip(self, value: object, role: str, field: str) -> None:
        for item in _l(value):
            v = _s(item)
            if v and v != "-":
                self.ips.setdefault((v, role), Mention(raw=v, role=role, field=field))

    def user(self, name: object, domain: object, role: str, field: str, sid: object = None) -> None:
        v = _s(name)
        if not v or v == "-":
            return
        dom = _s(domain)
        sid_s = _s(sid)
        sid_s = sid_s if sid_s and _SID.match(sid_s) else None
        if _SID.match(v):
            sid_s = sid_s or v
        self.users.setdefault((v.lower(), (dom or "").lower(), role),
                              Mention(raw=v, role=role, field=field, domain=dom, sid=sid_s))

    def process(self, proc: dict, role: str, field: str) -> None:
        if not isinstance(proc, dict):
            return
        file = _d(proc.get("file"))
        name = _s(proc.get("name")) or _s(file.get("name"))
        path = _s(proc.get("executable")) or _s(file.get("path")) or _s(proc.get("path"))
        cmd = _s(proc.get("cmd_line")) or _s(proc.get("command_line"))
        pid = proc.get("pid")
        pid = pid if isinstance(pid, int) and not isinstance(pid, bool) else (
            int(pid) if isinstance(pid, str) and pid.isascii() and pid.isdigit() else None)
        if pid is not None and not 0 <= pid < 1 << 32:
            pid = None
        raw = name or (path.replace("/", "\\").rsplit("\\", 1)[-1] if path else None)
        if not raw and pid is None:
            return
        m = Mention(raw=raw or str(pid), role=role, field=field, pid=pid, path=path,
                    command_line=cmd)
        self.processes.setdefault((m.raw.lower(), pid, role), m)

    def hash(self, value: object, algorithm: str | None, field: str) -> None:
        v = _s(value)
        if v and _HASH.match(v):
            self.hashes.setdefault((v.lower(),), Mention(raw=v, role="hash", field=field,
                                                         algorithm=algorithm))


def _hashes_of(col: _Collector, obj: dict, field: str) -> None:
    """OCSF `hashes: [{algorithm, value}]` and ECS `hash: {sha256: ...}`."""
    for h in _l(obj.get("hashes")):
        if isinstance(h, dict):
            col.hash(h.get("value"), _s(h.get("algorithm")), f"{field}.hashes")
    for alg, v in _d(obj.get("hash")).items():
        col.hash(v, alg, f"{field}.hash.{alg}")


# --------------------------------------------------------------------------- OCSF


def _ocsf_endpoint(col: _Collector, ep: object, role_host: str, role_ip: str, field: str) -> None:
    ep = _d(ep)
    col.host(ep.get("hostname") or ep.get("name"), role_host, f"{field}.hostname")
    col.ip(ep.get("ip"), role_ip, f"{field}.ip")


def _ocsf_actor(col: _Collector, actor: object, field: str) -> None:
    actor = _d(actor)
    user = _d(actor.get("user"))
    col.user(user.get("name") or user.get("uid"), user.get("domain"), "user", f"{field}.user",
             sid=user.get("uid"))
    proc = _d(actor.get("process"))
    if proc:
        col.process(proc, "process", f"{field}.process")
        _hashes_of(col, _d(proc.get("file")), f"{field}.process.file")
        parent = _d(proc.get("parent_process"))
        if parent:
            col.process(parent, "parent_process", f"{field}.process.parent_process")
        puser = _d(proc.get("user"))
        col.user(puser.get("name"), puser.get("domain"), "user", f"{field}.process.user")


_OBSERVABLE_TYPES = {1: "hostname", 2: "ip", 4: "user", 5: "email", 8: "hash", 9: "process",
                     7: "file"}


def _parse_ocsf(doc: dict) -> ParsedAlert:
    cls = doc.get("class_uid")
    if cls != 2004 and str(cls) != "2004":
        raise AlertFormatError(f"OCSF class_uid {cls!r} is not Detection Finding (2004)")
    info = _d(doc.get("finding_info")) or _d(doc.get("finding"))
    meta = _d(doc.get("metadata"))
    uid = _s(info.get("uid")) or _s(meta.get("uid"))
    if not uid:
        raise AlertFormatError("OCSF finding has neither finding_info.uid nor metadata.uid")
    ts = epoch_seconds(doc.get("time")) or epoch_seconds(doc.get("time_dt")) or epoch_seconds(info.get("created_time")) or epoch_seconds(
        info.get("created_time_dt"))
    if ts is None:
        raise AlertFormatError("OCSF finding has no usable time")
    event_ts = (epoch_seconds(info.get("first_seen_time")) or epoch_seconds(info.get("first_seen_time_dt"))
                or epoch_seconds(doc.get("start_time")) or epoch_seconds(doc.get("start_time_dt")))
    analytic = _d(info.get("analytic"))
    rule = _s(analytic.get("name")) or _s(_d(doc.get("rule")).get("name")) or _s(
        analytic.get("uid"))
    title = _s(info.get("title")) or _s(doc.get("message")) or rule or uid
    sev_id = doc.get("severity_id")
    severity = _OCSF_SEVERITY_ID.get(sev_id if isinstance(sev_id, int) else -1) or \
        normalize_severity(doc.get("severity")) or "informational"
    techniques: list[str] = []
    for attack in _l(info.get("attacks")) + _l(doc.get("attacks")):
        attack = _d(attack)
        for part in ("sub_technique", "technique"):
            t = _technique(_d(attack.get(part)).get("uid"))
            if t and t not in techniques:
                techniques.append(t)
    col = _Collector()
    device = _d(doc.get("device"))
    col.host(device.get("hostname") or device.get("name"), "host", "device.hostname")
    col.ip(device.get("ip"), "host_ip", "device.ip")
    dev_owner = _d(device.get("owner"))
    col.user(dev_owner.get("name"), dev_owner.get("domain"), "user", "device.owner")
    _ocsf_actor(col, doc.get("actor"), "actor")
    _ocsf_endpoint(col, doc.get("src_endpoint"), "src_host", "src_ip", "src_endpoint")
    _ocsf_endpoint(col, doc.get("dst_endpoint"), "dst_host", "dst_ip", "dst_endpoint")
    user = _d(doc.get("user"))
    col.user(user.get("name"), user.get("domain"), "target_user", "user")
    for i, ev in enumerate(_l(doc.get("evidences"))):
        ev = _d(ev)
        f = f"evidences[{i}]"
        d = _d(ev.get("device"))
        col.host(d.get("hostname") or d.get("name"), "host", f"{f}.device.hostname")
        col.ip(d.get("ip"), "host_ip", f"{f}.device.ip")
        _ocsf_actor(col, ev.get("actor"), f"{f}.actor")
        _ocsf_endpoint(col, ev.get("src_endpoint"), "src_host", "src_ip", f"{f}.src_endpoint")
        _ocsf_endpoint(col, ev.get("dst_endpoint"), "dst_host", "dst_ip", f"{f}.dst_endpoint")
        u = _d(ev.get("user"))
        col.user(u.get("name"), u.get("domain"), "target_user", f"{f}.user")
        if ev.get("process"):
            col.process(_d(ev.get("process")), "process", f"{f}.process")
            _hashes_of(col, _d(_d(ev.get("process")).get("file")), f"{f}.process.file")
        if ev.get("file"):
            _hashes_of(col, _d(ev.get("file")), f"{f}.file")
    for i, r in enumerate(_l(doc.get("resources"))):
        r = _d(r)
        rtype = (_s(r.get("type")) or "").lower()
        if rtype in ("host", "device", "computer", "endpoint"):
            col.host(r.get("name") or r.get("uid"), "host", f"resources[{i}]")
    for i, ob in enumerate(_l(doc.get("observables"))):
        ob = _d(ob)
        kind = _OBSERVABLE_TYPES.get(ob.get("type_id") if isinstance(ob.get("type_id"), int) else -1)
        if kind is None:
            kind = {"hostname": "hostname", "ip address": "ip", "user name": "user",
                    "email address": "email", "hash": "hash", "process name": "process"}.get(
                (_s(ob.get("type")) or "").lower())
        value, f = ob.get("value"), f"observables[{i}]"
        if kind == "hostname":
            col.host(value, "host", f)
        elif kind == "ip":
            col.ip(value, "ip", f)
        elif kind in ("user", "email"):
            col.user(value, None, "user", f)
        elif kind == "hash":
            col.hash(value, None, f)
        elif kind == "process":
            col.process({"name": value}, "process", f)
    product = _s(_d(meta.get("product")).get("name"))
    return _finish(
        col, id=uid, format="ocsf", title=title, rule=rule, description=_s(info.get("desc")),
        severity=severity, severity_raw=_s(doc.get("severity")) or _s(sev_id),
        risk_score=float(doc["risk_score"]) if isinstance(doc.get("risk_score"), (int, float))
        and not isinstance(doc.get("risk_score"), bool) else None,
        ts=ts, event_ts=event_ts, techniques=techniques, product=product, raw=doc)


# --------------------------------------------------------------------------- ECS


def _flat(doc: dict, prefix: str = "") -> dict[str, Any]:
    """Kibana writes `kibana.alert.*` as dotted keys and the source event nested; both
    forms (and their mixtures) become one dotted view."""
    out: dict[str, Any] = {}
    for k, v in doc.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flat(v, key + "."))
        else:
            out.setdefault(key, v)
    return out


def _parse_ecs(doc: dict) -> ParsedAlert:
    f = _flat(doc)
    uid = _s(f.get("kibana.alert.uuid")) or _s(f.get("signal.id"))
    if not uid:
        raise AlertFormatError("Elastic alert has no kibana.alert.uuid")
    ts = epoch_seconds(f.get("@timestamp"))
    if ts is None:
        raise AlertFormatError("Elastic alert has no usable @timestamp")
    event_ts = epoch_seconds(f.get("kibana.alert.original_time")) or epoch_seconds(f.get("signal.original_time"))
    rule = _s(f.get("kibana.alert.rule.name")) or _s(f.get("signal.rule.name"))
    reason = _s(f.get("kibana.alert.reason")) or _s(f.get("signal.reason"))
    title = rule or reason or uid  # Kibana lists alerts by rule name; the reason is the detail
    risk = f.get("kibana.alert.risk_score", f.get("signal.rule.risk_score"))
    risk = float(risk) if isinstance(risk, (int, float)) and not isinstance(risk, bool) else None
    severity = normalize_severity(f.get("kibana.alert.severity")) or normalize_severity(
        f.get("signal.rule.severity")) or (_risk_to_severity(risk) if risk is not None else None) \
        or "informational"
    techniques: list[str] = []

    def add_t(value: object) -> None:
        for v in _l(value):
            t = _technique(v)
            if t and t not in techniques:
                techniques.append(t)

    for threat in _l(f.get("kibana.alert.rule.threat")) + _l(f.get("signal.rule.threat")):
        for tech in _l(_d(threat).get("technique")):
            tech = _d(tech)
            add_t(tech.get("id"))
            for sub in _l(tech.get("subtechnique")):
                add_t(_d(sub).get("id"))
    add_t(f.get("threat.technique.id"))
    add_t(f.get("threat.technique.subtechnique.id"))
    col = _Collector()
    col.host(f.get("host.hostname"), "host", "host.hostname")
    col.host(f.get("host.name"), "host", "host.name")
    col.ip(f.get("host.ip"), "host_ip", "host.ip")
    col.user(f.get("user.name"), f.get("user.domain"), "user", "user.name", sid=f.get("user.id"))
    col.user(f.get("user.target.name"), f.get("user.target.domain"), "target_user",
             "user.target.name")
    # A service ticket's account (4769 ServiceName) is what a Kerberoast takes; machine
    # accounts and krbtgt are every ticket's, not a target.
    code = _s(f.get("event.code")) or _s(f.get("winlog.event_id"))
    svc = _s(f.get("winlog.event_data.ServiceName"))
    if code == "4769" and svc and not svc.endswith("$") and svc.lower() not in ("krbtgt", "-"):
        col.user(svc, f.get("winlog.event_data.TargetDomainName"), "target_user", "winlog.event_data.ServiceName")
    col.host(f.get("source.domain"), "src_host", "source.domain")
    col.ip(f.get("source.ip"), "src_ip", "source.ip")
    col.user(f.get("source.user.name"), f.get("source.user.domain"), "user", "source.user.name")
    col.host(f.get("destination.domain"), "dst_host", "destination.domain")
    col.ip(f.get("destination.ip"), "dst_ip", "destination.ip")
    proc = {k[len("process."):]: v for k, v in f.items() if k.startswith("process.")
            and not k.startswith("process.parent.")}
    if proc:
        col.process({"name": proc.get("name"), "executable": proc.get("executable"),
                     "pid": proc.get("pid"), "command_line": proc.get("command_line")},
                    "process", "process")
    parent = {k[len("process.parent."):]: v for k, v in f.items() if k.startswith("process.parent.")}
    if parent:
        col.process({"name": parent.get("name"), "executable": parent.get("executable"),
                     "pid": parent.get("pid"), "command_line": parent.get("command_line")},
                    "parent_process", "process.parent")
    for k, v in f.items():
        if ".hash." in k or k.startswith("hash."):
            col.hash(v, k.rsplit(".", 1)[-1], k)
    return _finish(
        col, id=uid, format="ecs", title=title, rule=rule,
        description=reason or _s(f.get("kibana.alert.rule.description")), severity=severity,
        severity_raw=_s(f.get("kibana.alert.severity")), risk_score=risk, ts=ts,
        event_ts=event_ts, techniques=techniques, product="Elastic Security", raw=doc)


def _finish(col: _Collector, *, ts: float, event_ts: float | None, **kw: Any) -> ParsedAlert:
    return ParsedAlert(
        time=_iso(ts), timestamp=int(ts),
        event_timestamp=int(event_ts) if event_ts is not None else None,
        hosts=list(col.hosts.values()), users=list(col.users.values()),
        ips=list(col.ips.values()), processes=list(col.processes.values()),
        hashes=list(col.hashes.values()), **kw)


# --------------------------------------------------------------------------- entry points


def alert_format(doc: object) -> str | None:
    """`ocsf`, `ecs`, or None for a document of neither format."""
    if not isinstance(doc, dict):
        return None
    if "class_uid" in doc or "finding_info" in doc:
        return "ocsf"
    if "kibana.alert.uuid" in doc or "kibana" in doc or any(
            k.startswith("kibana.alert.") for k in doc) or "signal" in doc and isinstance(
            doc.get("signal"), dict):
        return "ecs"
    return None


def unwrap(doc: object) -> object:
    """The alert inside the envelopes alerts travel in: an Elasticsearch hit
    (`{"_id", "_source": {...}}`) and a Kibana `es_archive` document (`{"type": "doc",
    "value": {"id", "source": {...}}}`, how Kibana's own test archives and exports keep
    alerts). Kibana's alert id is the document id, so an alert without
    `kibana.alert.uuid` takes the envelope's."""
    if not isinstance(doc, dict):
        return doc
    inner, doc_id = None, None
    if isinstance(doc.get("_source"), dict):
        inner, doc_id = doc["_source"], doc.get("_id")
    elif doc.get("type") == "doc" and isinstance(doc.get("value"), dict) \
            and isinstance(doc["value"].get("source"), dict):
        inner, doc_id = doc["value"]["source"], doc["value"].get("id")
    if inner is None:
        return doc
    if isinstance(doc_id, str) and doc_id.strip() and alert_format(inner) == "ecs" \
            and not _s(_flat(inner).get("kibana.alert.uuid")):
        inner = {**inner, "kibana.alert.uuid": doc_id.strip()}
    return inner


def parse_alert(doc: dict) -> ParsedAlert:
    """One alert document -> ParsedAlert; AlertFormatError says why it is not one.
    Envelopes (Elasticsearch hits, Kibana archive documents) are unwrapped first."""
    doc = unwrap(doc)  # type: ignore[assignment]
    kind = alert_format(doc)
    if kind == "ocsf":
        return _parse_ocsf(doc)
    if kind == "ecs":
        return _parse_ecs(doc)
    raise AlertFormatError("neither an OCSF Detection Finding (class_uid 2004) nor an "
                           "Elastic Security alert (kibana.alert.uuid)")


def _hits(doc: object) -> object:
    """An Elasticsearch search response's hits (`{"hits": {"hits": [...]}}`), else `doc`."""
    if isinstance(doc, dict) and isinstance(_d(doc.get("hits")).get("hits"), list):
        return doc["hits"]["hits"]
    return doc


def _concatenated(text: str) -> list[tuple[int, object]] | None:
    """(line, document) for JSON documents one after another, pretty-printed or not (Kibana
    `es_archive` data files separate documents by blank lines); None unless the whole
    text reads that way."""
    decoder = json.JSONDecoder()
    out, pos, end, line, counted = [], 0, len(text), 1, 0
    while True:
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos >= end:
            return out
        try:
            doc, nxt = decoder.raw_decode(text, pos)
        except ValueError:
            return None
        line += text.count("\n", counted, pos)
        counted = pos
        out.append((line, doc))
        pos = nxt


def iter_alert_documents(text: str) -> Iterator[tuple[str, object]]:
    """(where, document) for a single JSON object, a JSON array, an Elasticsearch search
    response, JSON lines, or JSON documents one after another (an `es_archive` file). A
    line that is not JSON yields its decode error as the document (a `ValueError`), so
    callers can reject it by name."""
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        return
    try:
        whole = json.loads(stripped)
    except ValueError:
        whole = None
        lines = True
    else:
        lines = False
    if not lines:
        whole = _hits(whole)
        if isinstance(whole, list):
            for i, item in enumerate(whole, 1):
                yield f"item {i}", item
        else:
            yield "document", whole
        return
    docs = _concatenated(text.lstrip("\ufeff"))
    if docs is not None:
        for line, doc in docs:
            inner = _hits(doc)
            if isinstance(inner, list):
                for i, item in enumerate(inner, 1):
                    yield f"line {line} item {i}", item
            else:
                yield f"line {line}", doc
        return
    for n, line in enumerate(text.split("\n"), 1):
        s = line.strip()
        if not s:
            continue
        try:
            yield f"line {n}", json.loads(s)
        except ValueError as exc:
            yield f"line {n}", ValueError(f"not JSON: {str(exc)[:80]}")


def parse_alert_file(path: str | Path) -> list[ParsedAlert]:
    """Every alert in a file, for the investigation workflow (no twin needed). Raises
    AlertFormatError naming the first record that is not an alert."""
    text = Path(path).read_text(encoding="utf-8-sig")
    out = []
    for where, doc in iter_alert_documents(text):
        if isinstance(doc, ValueError):
            raise AlertFormatError(f"{path}: {where}: {doc}")
        try:
            out.append(parse_alert(doc))  # type: ignore[arg-type]
        except AlertFormatError as exc:
            raise AlertFormatError(f"{path}: {where}: {exc}") from None
    if not out:
        raise AlertFormatError(f"{path}: no alert in the file")
    return out
