"""Windows Security and Sysmon events as JSON lines -> `Event` nodes tied to the twin.

The shape is what NXLog / Logstash exports hold (the Security-Datasets "mordor" files:
flat `EventID`, `Hostname`, `Channel`, `RecordNumber`, `SubjectUserName`, ...);
Winlogbeat's nested `winlog.*` documents are flattened to the same shape. Every event is
kept (an unknown EventID is a plain `Event` with its fields): an investigation may need
the one event nobody planned for.

An event becomes evidence only when it is tied to what the twin knows, so each one is
linked to its host (`OnHost`), its acting and target accounts (`ByUser`, `TargetsUser`),
the host behind its source IP at that time (`FromHost`, through the HasIP leases) and
the IP itself (`FromIP`); logons (4624) refresh `HasSession` and the aggregated
`LoggedOn`; process creations chain to their parent (`SpawnedBy`) and events to the
logon session they ran in (`InLogonSession`).

Accounts are resolved in two passes: the first reads every line and learns which SIDs
and domain names go together (the file itself says that S-1-5-21-...-1104 is
`pgustavo@THESHIRE.LOCAL`, and that NetBIOS `THESHIRE` is `THESHIRE.LOCAL`); the second
resolves against the twin plus what was learned. A user is created only when its domain
FQDN is known; otherwise the name stays on the event (`subject_user`, `target_user`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from graph.identity import short_hostname
from graph.ingest._live import (
    JSONDecodeErrors,
    accumulate,
    existing_edges,
    file_digest,
    loads,
    no_gc,
)
from graph.ingest.base import BadFile, Batch, Connector, IngestContext, Source
from graph.model import NodeSchema, RelSchema
from graph.resolve import Account, TwinIndex, classify_ip
from graph.timestamps import epoch_seconds

COMPUTER = NodeSchema("Computer", snapshot=False)
USER = NodeSchema("User", snapshot=False)
IP = NodeSchema("IP", snapshot=False)
ON_HOST = RelSchema("OnHost", snapshot=False)
BY_USER = RelSchema("ByUser", snapshot=False)
TARGETS_USER = RelSchema("TargetsUser", snapshot=False)
FROM_HOST = RelSchema("FromHost", snapshot=False)
FROM_IP = RelSchema("FromIP", snapshot=False)
# An event's edges to what the twin already holds travel with the event (NodeSchema.links):
# a million events a day are written as "create the event and its edges", not as a merge
# of the event followed by a merge per edge kind. Edges between events (the logon
# session, the parent process) follow once every event of the file is in.
EVENT_LINKS = (ON_HOST, BY_USER, TARGETS_USER, FROM_HOST, FROM_IP)
SUBTYPES = ("LogonEvent", "LogonFailureEvent", "ReplicationEvent", "DirectoryAccessEvent",
            "ProcessEvent", "TicketEvent", "NetworkEvent")
EVENT_SCHEMAS = {None: NodeSchema("Event", snapshot=False, links=EVENT_LINKS)} | {
    s: NodeSchema("Event", (s,), snapshot=False, links=EVENT_LINKS) for s in SUBTYPES
}
IN_LOGON_SESSION = RelSchema("InLogonSession", snapshot=False)
SPAWNED_BY = RelSchema("SpawnedBy", snapshot=False)
HAS_SESSION = RelSchema("HasSession", snapshot=False)
LOGGED_ON = RelSchema("LoggedOn", snapshot=False)

# DS-Replication-Get-Changes, -Get-Changes-All, -Get-Changes-In-Filtered-Set: the
# control-access rights a DCSync exercises (4662 Properties carry them).
REPLICATION_GUIDS = ("1131f6aa-9c07-11d1-f79f-00c04fc2dcd2",
                     "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2",
                     "89e95b76-444d-4c62-991a-0facbeda640c")
TICKET_ENCRYPTION = {
    "0x1": "DES-CBC-CRC", "0x3": "DES-CBC-MD5", "0x11": "AES128-CTS-HMAC-SHA1-96",
    "0x12": "AES256-CTS-HMAC-SHA1-96", "0x17": "RC4-HMAC", "0x18": "RC4-HMAC-EXP",
    "0xffffffff": "FAILURE",
}
# Logon types that leave reusable credentials on the host (interactive, batch, service,
# unlock, new credentials, remote interactive, cached interactive): what BloodHound's
# session collection sees and what a `HasSession` edge promises an attacker. Network
# logons (3, 8) are kept on `LoggedOn` only.
SESSION_LOGON_TYPES = frozenset({2, 4, 5, 7, 9, 10, 11})
_NO_SESSION = frozenset({"0x0", "0x3e7", "0x3e4", "0x3e5"})  # none, SYSTEM, NETWORK/LOCAL SERVICE
_TIME_FIELDS = ("TimeCreated", "UtcTime", "@timestamp", "EventTime", "TimeGenerated", "timestamp")
_SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"


def sniff(name: str, head: str) -> bool:
    text = head.lstrip("\ufeff").lstrip()
    first = text.split("\n", 1)[0]
    if not first.startswith(("{", "[")) or '"kibana' in first or '"class_uid"' in first:
        return False
    if '"EventID"' in first and ('"Hostname"' in first or '"Channel"' in first
                                 or '"Computer"' in first):
        return True
    return '"winlog"' in first and '"event_id"' in first


class _Reject(Exception):
    pass


def _text(v: object) -> str | None:
    """A field's value as text, None when unset (`-`, empty) as Windows writes it."""
    if type(v) is str:
        s = v.strip()
        return s if s and s != "-" else None
    if v is None or isinstance(v, (dict, list)):
        return None
    s = v if isinstance(v, str) else str(v)
    s = s.strip()
    return s if s and s != "-" else None


def _int(v: object) -> int | None:
    """Decimal or `0x` hex (process ids and logon ids come in both)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if -(1 << 63) <= v < (1 << 63) else None
    s = _text(v)
    if s is None:
        return None
    try:
        n = int(s, 16) if s[:2].lower() == "0x" else int(s)
    except ValueError:
        return None
    return n if -(1 << 63) <= n < (1 << 63) else None


def _hexid(v: object) -> str | None:
    """Logon ids as lower-case hex (`0x824909`), however the exporter wrote them."""
    n = _int(v)
    return None if n is None or n < 0 else hex(n)


def _ts_of(value: object) -> float | None:
    if isinstance(value, dict):  # XML-derived exports: {"SystemTime": "..."}
        value = value.get("SystemTime") or value.get("#text")
    return epoch_seconds(value)


def _time(obj: dict) -> float:
    bad = None
    for name in _TIME_FIELDS:
        value = obj.get(name)
        if value is None or value == "":
            continue
        ts = _ts_of(value)
        if ts is not None:
            return ts
        bad = bad or f"bad time {name}={str(value)[:40]!r}"
    raise _Reject(bad or "missing time (TimeCreated / UtcTime / @timestamp / EventTime)")


def _flatten_winlogbeat(obj: dict) -> dict:
    w = obj.get("winlog")
    if not isinstance(w, dict):
        return obj
    out: dict = {}
    for part in ("event_data", "user_data"):
        if isinstance(w.get(part), dict):
            out.update(w[part])
    host = obj.get("host") if isinstance(obj.get("host"), dict) else {}
    event = obj.get("event") if isinstance(obj.get("event"), dict) else {}
    out["EventID"] = w.get("event_id", event.get("code"))
    out["Hostname"] = w.get("computer_name") or host.get("name")
    out["Channel"] = w.get("channel")
    out["RecordNumber"] = w.get("record_id")
    out["SourceName"] = w.get("provider_name")
    out["@timestamp"] = obj.get("@timestamp")
    return out


class _Ev:
    __slots__ = ("key", "eid", "ts", "host", "host_short", "label", "props", "subject", "target",
                 "ip", "session", "target_logon", "pid", "ppid", "plogon", "guid", "pguid",
                 "logon_type", "line", "failed")

    def __init__(self) -> None:
        self.subject = self.target = self.ip = self.session = self.target_logon = None
        self.pid = self.ppid = self.plogon = self.guid = self.pguid = self.logon_type = None


# (normalised name, source fields in preference order)
_COMMON = (
    ("command_line", ("CommandLine",)),
    ("parent_command_line", ("ParentCommandLine",)),
    ("service_name", ("ServiceName",)),
    ("access_mask", ("AccessMask",)),
    ("object_type", ("ObjectType",)),
    ("object_name", ("ObjectName",)),
    ("object_server", ("ObjectServer",)),
    ("operation_type", ("OperationType",)),
    ("ticket_options", ("TicketOptions",)),
    ("status", ("Status",)),
    ("sub_status", ("SubStatus",)),
    ("failure_reason", ("FailureReason",)),
    ("logon_process", ("LogonProcessName",)),
    ("auth_package", ("AuthenticationPackageName",)),
    ("workstation", ("WorkstationName", "Workstation")),
    ("ip_port", ("IpPort",)),
    ("share_name", ("ShareName",)),
    ("target_image", ("TargetImage",)),
    ("granted_access", ("GrantedAccess",)),
    ("target_filename", ("TargetFilename",)),
    ("target_object", ("TargetObject",)),
    ("query_name", ("QueryName",)),
    ("privileges", ("PrivilegeList",)),
    ("user", ("User",)),
)


_FIELD_NAMES = {src: name for name, sources in _COMMON for src in sources}
# Source fields in preference order: an event rarely holds more than a few of them, so
# they are found by one set intersection rather than by walking every field of the event.
_FIELD_RANK = {src: i for i, src in enumerate(_FIELD_NAMES)}


def _account(name: object, domain: object, sid: object) -> tuple | None:
    """(name, domain, sid) as text, or None when the event names no account."""
    acct = (_text(name), _text(domain), _text(sid))
    return acct if acct[0] or acct[2] else None


def _parse(obj: dict, line: str) -> _Ev:
    eid = _int(obj.get("EventID"))
    if eid is None:
        raise _Reject("missing EventID" if obj.get("EventID") in (None, "") else
                      f"bad EventID {str(obj.get('EventID'))[:20]!r}")
    hostname = _text(obj.get("Hostname")) or _text(obj.get("Computer"))
    if hostname is None:
        raise _Reject("missing Hostname")
    provider = _text(obj.get("SourceName")) or _text(obj.get("ProviderName")) or _text(
        obj.get("Provider_Name"))
    channel = _text(obj.get("Channel"))
    if channel is None and provider:
        if "Sysmon" in provider:
            channel = _SYSMON_CHANNEL
        elif provider == "Microsoft-Windows-Security-Auditing":
            channel = "Security"
    if channel is None:
        raise _Reject("missing Channel")
    record = _int(obj.get("RecordNumber"))
    if record is None:
        record = _int(obj.get("EventRecordID"))
    if record is None or record < 0:
        raise _Reject("missing RecordNumber / EventRecordID" if record is None else
                      f"bad RecordNumber {record}")
    ts = _time(obj)
    ev = _Ev()
    host = hostname.rstrip(".").upper()
    ev.key = f"EVT:{host}:{channel}:{record}"
    ev.eid, ev.ts, ev.host, ev.line = eid, ts, host, line
    ev.host_short = short_hostname(host)
    sysmon = "sysmon" in channel.lower() or (provider is not None and "Sysmon" in provider)
    get = obj.get
    props = {
        "event_id": eid, "timestamp": int(ts),
        "time": datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"),
        "host": host, "channel": channel, "provider": provider, "record_number": record,
        "fields": line,
    }
    present = _FIELD_RANK.keys() & obj.keys()
    for field in sorted(present, key=_FIELD_RANK.__getitem__) if len(present) > 1 else present:
        name = _FIELD_NAMES[field]
        if name not in props:
            t = _text(obj[field])
            if t is not None:
                props[name] = t
    # accounts: who acted, and on whom
    subj = _account(get("SubjectUserName"), get("SubjectDomainName"), get("SubjectUserSid"))
    targ = _account(get("TargetUserName"), get("TargetDomainName"),
                    get("TargetUserSid") or get("TargetSid"))
    if sysmon:
        subj, targ = _account(get("User"), None, None), None
    elif eid == 4769:  # the client asked for a ticket to the service account
        subj = _account(get("TargetUserName"), get("TargetDomainName"), None)
        targ = _account(get("ServiceName"), get("TargetDomainName"), get("ServiceSid"))
    elif eid in (4768, 4771, 4776):  # pre-auth/TGT: the account the ticket is for
        subj = None
    ev.subject, ev.target = subj, targ
    for prefix, acct in (("subject", subj), ("target", targ)):
        if acct:
            name, dom, sid = acct
            if name:
                qualify = dom and "\\" not in name and "@" not in name
                props[f"{prefix}_user"] = f"{dom}\\{name}" if qualify else name
            if sid:
                props[f"{prefix}_sid"] = sid
    # logon sessions
    subject_logon = _hexid(get("SubjectLogonId"))
    target_logon = _hexid(get("TargetLogonId"))
    if subject_logon:
        props["subject_logon_id"] = subject_logon
    if target_logon:
        props["target_logon_id"] = target_logon
    logon_type = _int(get("LogonType"))
    if logon_type is not None:
        props["logon_type"] = logon_type
        ev.logon_type = logon_type
    if sysmon:
        ev.session = _hexid(get("LogonId"))
        props_logon = ev.session
    elif eid in (4624, 4625):
        ev.session, props_logon = subject_logon, target_logon
    elif eid in (4634, 4647):
        ev.session = props_logon = target_logon
    else:
        ev.session = props_logon = subject_logon
    ev.target_logon = target_logon
    if props_logon:
        props["logon_id"] = props_logon
    # processes
    if sysmon:
        pid, ppid = _int(get("ProcessId")), _int(get("ParentProcessId"))
        image, parent_image = _text(get("Image")), _text(get("ParentImage"))
        ev.guid, ev.pguid = _text(get("ProcessGuid")), _text(get("ParentProcessGuid"))
    elif eid == 4688:
        pid, ppid = _int(get("NewProcessId")), _int(get("ProcessId"))
        image, parent_image = _text(get("NewProcessName")), _text(get("ParentProcessName"))
    else:
        pid, ppid = _int(get("ProcessId")), None
        image, parent_image = _text(get("ProcessName")) or _text(get("Application")), None
    if pid is not None:
        props["process_id"] = pid
    if ppid is not None:
        props["parent_process_id"] = ppid
    if image:
        props["image"] = image
    if parent_image:
        props["parent_image"] = parent_image
    if ev.guid:
        props["process_guid"] = ev.guid
    if ev.pguid:
        props["parent_process_guid"] = ev.pguid
    hashes = _text(get("Hashes"))
    if hashes:
        props["hashes"] = [h.split("=", 1)[1].strip().lower() for h in hashes.split(",")
                           if "=" in h and h.split("=", 1)[1].strip()]
    # the subtype, and what only it carries
    label = None
    if eid == 4624:
        label = "LogonEvent"
    elif eid == 4625:
        label = "LogonFailureEvent"
    elif eid == 4662:
        text = str(get("Properties") or "").lower()
        label = "ReplicationEvent" if any(g in text for g in REPLICATION_GUIDS) else (
            "DirectoryAccessEvent")
        if _text(get("Properties")):
            props["properties"] = _text(get("Properties"))
    elif (eid == 4688 and not sysmon) or (eid == 1 and sysmon):
        label = "ProcessEvent"
        ev.pid, ev.ppid = pid, ppid
        ev.plogon = (target_logon if target_logon and target_logon != "0x0" else subject_logon
                     ) if not sysmon else ev.session
    elif eid in (4768, 4769) and not sysmon:
        label = "TicketEvent"
        enc = _text(get("TicketEncryptionType"))
        if enc:
            n = _int(enc)
            enc = hex(n) if n is not None and n >= 0 else enc.lower()
            props["ticket_encryption_type"] = enc
            if enc in TICKET_ENCRYPTION:
                props["ticket_encryption"] = TICKET_ENCRYPTION[enc]
        pre = _int(get("PreAuthType"))
        if pre is not None:
            props["pre_auth_type"] = pre
    elif eid == 3 and sysmon:
        label = "NetworkEvent"
        src, dst = classify_ip(_text(get("SourceIp"))), classify_ip(_text(get("DestinationIp")))
        for name, info in (("src_ip", src), ("dst_ip", dst)):
            if info:
                props[name] = info.address
        for name, field in (("src_port", "SourcePort"), ("dst_port", "DestinationPort")):
            n = _int(get(field))
            if n is not None:
                props[name] = n
        for name, field in (("protocol", "Protocol"), ("initiated", "Initiated"),
                            ("dst_hostname", "DestinationHostname")):
            t = _text(get(field))
            if t:
                props[name] = t
        inbound = str(get("Initiated", "")).lower() == "false"
        remote = src if inbound else dst
        if remote and remote.kind != "ignore":
            props["ip"] = remote.address
            if inbound:
                ev.ip = remote
    if "IpAddress" in obj:
        info = classify_ip(_text(get("IpAddress")))
        if info:
            props["ip"] = info.address
            if info.kind != "ignore":
                ev.ip = info
    status = (props.get("status") or "0x0").lower()
    ev.failed = eid in (4625, 4771) or (eid in (4768, 4769, 4776) and status not in ("0x0", "0"))
    ev.label, ev.props = label, props
    return ev


def _read(source: Source, batch: Batch) -> list[_Ev]:
    text = source.text()
    name = source.name
    events: dict[str, _Ev] = {}
    if text[:4096].lstrip().startswith("["):
        try:
            items = loads(text)
        except JSONDecodeErrors as exc:
            raise BadFile(f"not a JSON array: {str(exc).splitlines()[0][:80]}") from None
        if not isinstance(items, list):
            raise BadFile("not a JSON array of events")
        entries = ((f"item {i}", it, None) for i, it in enumerate(items, 1))
    else:
        lines = text.split("\n")
        del text  # a million events: the lines are all that is needed from here on
        entries = ((f"line {n}", None, s) for n, line in enumerate(lines, 1) if (s := line.strip()))
    objects = 0
    for where, obj, line in entries:
        batch.records += 1
        if obj is None:
            try:
                obj = loads(line)
            except JSONDecodeErrors as exc:
                batch.reject(name, where, f"not JSON: {str(exc).splitlines()[0][:80]}")
                continue
        if not isinstance(obj, dict):
            batch.reject(name, where, "not a JSON object")
            continue
        objects += 1
        if line is None:
            line = _dumps(obj)
        if "winlog" in obj and "EventID" not in obj:
            obj = _flatten_winlogbeat(obj)
        try:
            ev = _parse(obj, line)
        except _Reject as exc:
            batch.reject(name, where, str(exc))
            continue
        events[ev.key] = ev  # the same record twice is one event
    if objects == 0 and batch.records > 0:
        raise BadFile("no line is a JSON object: not Windows events as JSON lines")
    return list(events.values())


def _dumps(obj: dict) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def transform(source: Source, ctx: IngestContext) -> Batch:
    with no_gc():
        return _transform(source, ctx)


def _transform(source: Source, ctx: IngestContext) -> Batch:
    batch = Batch()
    events = _read(source, batch)
    if not events:
        return batch
    index = ctx.twin_index()
    learned = set()
    for ev in events:  # pass 1: learn which names, domains and SIDs go together
        for acct in (ev.subject, ev.target):
            if acct and acct not in learned:
                learned.add(acct)
                index.learn_account(acct[0], acct[1], acct[2])
    index.finish_learning()
    _emit(batch, events, index, ctx, file_digest(source.data))
    return batch


def _emit(batch: Batch, events: list[_Ev], index: TwinIndex, ctx: IngestContext,
          digest: str) -> None:
    host_cache: dict[str, tuple[str, bool] | None] = {}
    acct_cache: dict[tuple, Account | None] = {}
    node_rows: dict[str | None, list[dict]] = {}
    new_hosts: dict[str, list] = {}  # key -> [first, last, props]
    new_users: dict[str, list] = {}
    ips: dict[str, list] = {}
    rels: dict[str, list[dict]] = {"InLogonSession": [], "SpawnedBy": []}
    logons: dict[tuple[str, str], list] = {}
    sessions: dict[tuple[str, str], list] = {}
    logon_index: dict[tuple[str, str], list[tuple[float, str]]] = {}
    proc_by_guid: dict[str, str] = {}
    proc_by_pid: dict[tuple[str, int], list[tuple[float, str | None, str]]] = {}
    host_of: dict[str, str | None] = {}

    def seen(table: dict, key: str, ts: float, props: dict) -> None:
        span = table.get(key)
        if span is None:
            table[key] = [ts, ts, props]
        else:
            span[0] = min(span[0], ts)
            span[1] = max(span[1], ts)

    def account(acct: tuple, host_short: str) -> Account | None:
        ck = (acct[0], acct[1], acct[2], host_short)
        if ck not in acct_cache:
            acct_cache[ck] = index.resolve_account(acct[0], acct[1], acct[2],
                                                   host_short=host_short)
        return acct_cache[ck]

    for ev in events:
        ts = ev.ts
        its = int(ts)
        links: list[tuple[str, str]] = []
        node_rows.setdefault(ev.label, []).append(
            {"key": ev.key, "firstseen": its, "lastseen": its, "props": ev.props, "links": links})
        if ev.host not in host_cache:
            host_cache[ev.host] = index.host_key(ev.host)
        hk = host_cache[ev.host]
        host_key = hk[0] if hk else None
        host_of[ev.key] = host_key
        if hk:
            seen(new_hosts, host_key, ts, {} if hk[1] else {
                "name": host_key, "shortname": short_hostname(host_key)})
            links.append(("OnHost", host_key))
        for rel, acct in (("ByUser", ev.subject), ("TargetsUser", ev.target)):
            if not acct:
                continue
            a = account(acct, ev.host_short)
            if a is None:
                continue
            if not a.exists and ev.failed:
                continue  # a failed logon may name an account that does not exist
            if not a.exists:
                if a.label == "Computer":
                    seen(new_hosts, a.key, ts, {"name": a.key, "shortname": short_hostname(a.key)})
                else:
                    seen(new_users, a.key, ts, {"name": a.key, "domain": a.key.rsplit("@", 1)[1]})
            links.append((rel, a.key))
            if rel == "TargetsUser" and ev.eid == 4624 and a.label == "User" and host_key:
                lo = logons.get((a.key, host_key))
                if lo is None:
                    logons[(a.key, host_key)] = [{ev.logon_type} - {None}, 1, ts, ts]
                else:
                    if ev.logon_type is not None:
                        lo[0].add(ev.logon_type)
                    lo[1] += 1
                    lo[2], lo[3] = min(lo[2], ts), max(lo[3], ts)
                if ev.logon_type in SESSION_LOGON_TYPES:
                    seen(sessions, (host_key, a.key), ts, {})
        if ev.ip is not None:
            ip_key = f"IP:{ev.ip.address}"
            seen(ips, ip_key, ts, {"address": ev.ip.address})
            links.append(("FromIP", ip_key))
            if ev.ip.kind == "internal":
                src_host = index.host_for_ip(ev.ip.address, ts)
                if src_host:
                    links.append(("FromHost", src_host))
        if ev.eid == 4624 and ev.target_logon and ev.target_logon not in _NO_SESSION:
            logon_index.setdefault((ev.host, ev.target_logon), []).append((ts, ev.key))
        if ev.label == "ProcessEvent":
            if ev.guid:
                proc_by_guid[ev.guid.lower()] = ev.key
            if ev.pid is not None:
                proc_by_pid.setdefault((ev.host, ev.pid), []).append((ts, ev.plogon, ev.key))

    # logon-session and parent-process chains, within this file's events
    for ev in events:
        if ev.session and ev.session not in _NO_SESSION:
            cands = logon_index.get((ev.host, ev.session))
            if cands:
                logon = _pick(cands, ev.ts, ev.key)
                if logon:
                    rels["InLogonSession"].append({"src": ev.key, "dst": logon,
                                                   "firstseen": int(ev.ts), "lastseen": int(ev.ts)})
        if ev.label == "ProcessEvent":
            parent = proc_by_guid.get(ev.pguid.lower()) if ev.pguid else None
            if parent is None and ev.ppid is not None:
                best = None
                for pts, plogon, pkey in proc_by_pid.get((ev.host, ev.ppid), ()):
                    if pkey == ev.key or pts > ev.ts:
                        continue
                    if ev.plogon and plogon and ev.plogon != plogon:
                        continue
                    if best is None or pts >= best[0]:
                        best = (pts, pkey)
                parent = best[1] if best else None
            if parent and parent != ev.key:
                rels["SpawnedBy"].append({"src": ev.key, "dst": parent,
                                          "firstseen": int(ev.ts), "lastseen": int(ev.ts)})

    batch.add_nodes(COMPUTER, _span_rows(new_hosts))
    batch.add_nodes(USER, _span_rows(new_users))
    batch.add_nodes(IP, _span_rows(ips))
    for label, rows in node_rows.items():
        batch.add_nodes(EVENT_SCHEMAS[label], rows)
    batch.add_rels(IN_LOGON_SESSION, rels["InLogonSession"])
    batch.add_rels(SPAWNED_BY, rels["SpawnedBy"])
    batch.add_rels(HAS_SESSION, [
        {"src": h, "dst": u, "firstseen": int(f), "lastseen": int(la)}
        for (h, u), (f, la, _) in sessions.items()])
    old = existing_edges(ctx.driver, ctx.database, "LoggedOn", logons.keys())
    batch.add_rels(LOGGED_ON, [
        {"src": u, "dst": h, "firstseen": int(f), "lastseen": int(la),
         "props": accumulate({"logon_types": sorted(types), "count": count}, old.get((u, h)),
                             digest, sums=("count",), unions=("logon_types",))}
        for (u, h), (types, count, f, la) in logons.items()])


def _pick(cands: list[tuple[float, str]], ts: float, own: str) -> str | None:
    """The logon that opened the session: the latest one at or before `ts`, else (clock
    skew between the event's and the logon's time source) the earliest one."""
    best = None
    for lts, key in cands:
        if key != own and lts <= ts and (best is None or lts >= best[0]):
            best = (lts, key)
    if best:
        return best[1]
    later = [c for c in cands if c[1] != own]
    return min(later)[1] if later else None


def _span_rows(table: dict) -> list[dict]:
    return [{"key": k, "firstseen": int(f), "lastseen": int(la), "props": p}
            for k, (f, la, p) in table.items()]


CONNECTOR = Connector(name="winevents", sniff=sniff, transform=transform, order=70)
