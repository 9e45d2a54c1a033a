"""Windows Security and Sysmon events as JSON lines -> event-store rows tied to the twin.

The shape is what NXLog / Logstash exports hold (the Security-Datasets "mordor" files:
flat `EventID`, `Hostname`, `Channel`, `RecordNumber`, `SubjectUserName`, ...);
Winlogbeat's nested `winlog.*` documents are flattened to the same shape. Every event is
kept (an unknown EventID is a plain `Event` with its fields): an investigation may need
the one event nobody planned for.

Events live in the event store (graph/events), not as graph nodes: a day is a million
rows read by filter, and a node each held ingest to a few thousand a second. An event
becomes evidence only when it is tied to what the twin knows, so each row carries the
keys of its host (`host`, the graph's `OnHost`), its acting and target accounts
(`by_keys`, `target_keys`: `ByUser`, `TargetsUser`), the host behind its source IP at
that time (`from_host`: `FromHost`, through the HasIP leases) and the IP itself
(`from_ip`); process creations chain to their parent (`parent`: `SpawnedBy`) and events
to the logon session they ran in (`in_session`: `InLogonSession`; a 7045 service
install, which names no session, to the 4697 of the same install or else its
installer's last logon there). What the events teach the graph is written there:
logons (4624) refresh `HasSession` and the aggregated `LoggedOn` (counted once per
event however often it is loaded), hosts and users are created or seen again, and
the addresses hosts used become `HasIP` leases.

One record is one event whatever the spelling: the key holds the channel's canonical
name and the host as the twin keys it (`WORKSTATION6` is `WORKSTATION6.THESHIRE.LOCAL`
when the file, the host's machine account or the twin's only domain says so), and a
record without a record number is keyed by a hash of its content. Times follow one
clock (graph.timestamps.EventClock): the event's own time before the shipper's.

A file is read in passes: the first learns which SIDs and domain names go together
(the file itself says that S-1-5-21-...-1104 is `pgustavo@THESHIRE.LOCAL`), which full
names short host names stand for, each host's clock offsets, and which addresses each
known host uses (its own outbound Sysmon 3 / 5156 connections, machine-account logons
from an address, a logon's workstation name: `HasIP` leases with first/last seen); the
second resolves against the twin plus what was learned. A user is created only when its
domain FQDN is known; otherwise the name stays on the event (`subject_user`,
`target_user`). What cannot be tied yet is marked and tied later (graph/ingest/_winlink.py).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from graph.catalog import COMPUTER, HAS_IP, HAS_SESSION, IP, USER
from graph.identity import canonical_channel, is_sid, short_hostname
from graph.ingest._live import JSONDecodeErrors, loads, no_gc
from graph.ingest._winlink import (
    LOGGED_ON,
    SESSION_LOGON_TYPES,
    LogonPairs,
    bind,
    count_logon,
    failed_auth,
    has_ip_rows,
    labels_for,
    logged_on_rows,
    relink,
)
from graph.ingest.base import BadFile, Batch, Connector, IngestContext, Source
from graph.resolve import Account, TwinIndex, classify_ip, is_system_sid
from graph.timestamps import EventClock, time_readings

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
_NO_SESSION = frozenset({"0x0", "0x3e7", "0x3e4", "0x3e5"})  # none, SYSTEM, NETWORK/LOCAL SERVICE
_SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
# What the shipper added around the record: left out of a record-less event's content
# hash, so that the same record shipped twice (or spelled differently) hashes the same.
_ENVELOPE = frozenset({"@timestamp", "@version", "tags", "host", "port", "EventReceivedTime",
                       "SourceModuleName", "SourceModuleType", "Hostname", "Computer", "Channel",
                       "RecordNumber", "EventRecordID", "agent", "ecs", "log", "input", "beat",
                       "type", "_index", "_id", "timestamp"})
# Client-side accounts of authentication events: a machine account logging on from an
# address tells which machine held the address.
_AUTH_EVENTS = frozenset({4624, 4625, 4768, 4769, 4771, 4776})
_WFP_OUT = frozenset({"%%14593", "outbound"})
_WFP_IN = frozenset({"%%14592", "inbound"})


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
    """A record that cannot be an event: `reason` is its kind, for the summary by reason."""

    def __init__(self, error: str, reason: str | None = None) -> None:
        super().__init__(error)
        self.reason = reason or error


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


def _content_hash(obj: dict, short: str, channel: str) -> str:
    """A stable key part for a record without a record number: its host (short name, so
    both spellings agree), canonical channel and every field but the shipper's envelope
    (the provider, the event id, the event's own time and its data are all in there)."""
    data = {k: v for k, v in obj.items() if k not in _ENVELOPE}
    text = json.dumps([short, channel, data], sort_keys=True, default=str, ensure_ascii=False)
    return "h" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


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
    out["TimeCreated"] = obj.get("@timestamp")  # Winlogbeat's @timestamp is the event's time
    user = w.get("user") if isinstance(w.get("user"), dict) else {}
    if user.get("identifier"):
        out["UserID"] = user["identifier"]
    return out


class _Ev:
    __slots__ = ("key", "eid", "ts", "raw_host", "host", "host_short", "host_known", "channel",
                 "record", "readings", "label", "props", "subject", "target", "ip", "session",
                 "target_logon", "pid", "ppid", "plogon", "guid", "pguid", "logon_type", "line",
                 "failed", "local_ip", "client", "workstation", "installer", "service_file")

    def __init__(self) -> None:
        self.subject = self.target = self.ip = self.session = self.target_logon = None
        self.pid = self.ppid = self.plogon = self.guid = self.pguid = self.logon_type = None
        self.local_ip = self.client = self.workstation = self.installer = self.service_file = None
        self.host_known = False


# (normalised name, source fields in preference order)
_COMMON = (
    ("command_line", ("CommandLine",)),
    ("parent_command_line", ("ParentCommandLine",)),
    ("service_name", ("ServiceName",)),
    ("service_file", ("ServiceFileName", "ImagePath")),
    ("service_account", ("ServiceAccount",)),
    ("service_start_type", ("ServiceStartType", "StartType")),
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
        if obj.get("EventID") in (None, ""):
            raise _Reject("missing EventID")
        raise _Reject(f"bad EventID {str(obj.get('EventID'))[:20]!r}", "bad EventID")
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
    channel = canonical_channel(channel)
    readings, bad_time = time_readings(obj)
    if not readings:
        raise _Reject(bad_time or "missing time (UtcTime / TimeCreated / EventTime / @timestamp)",
                      "bad time" if bad_time else "missing time")
    raw_record = obj.get("RecordNumber")
    if raw_record in (None, ""):
        raw_record = obj.get("EventRecordID")
    record = _int(raw_record)
    if raw_record not in (None, "") and (record is None or record < 0):
        raise _Reject(f"bad RecordNumber {str(raw_record)[:20]!r}", "bad RecordNumber")
    ev = _Ev()
    host = hostname.rstrip(".").upper()
    ev.eid, ev.raw_host, ev.channel, ev.readings, ev.line = eid, host, channel, readings, line
    ev.host_short = short_hostname(host)
    ev.record = str(record) if record is not None else _content_hash(obj, ev.host_short, channel)
    sysmon = "sysmon" in channel.lower() or (provider is not None and "Sysmon" in provider)
    get = obj.get
    props = {"event_id": eid, "channel": channel}  # the line itself is the store's `raw`
    if provider:
        props["provider"] = provider
    if record is not None:
        props["record_number"] = record
    else:
        props["content_hash"] = ev.record[1:]
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
    elif subj is None and is_sid(uid := _text(get("UserID"))) and not is_system_sid(uid):
        # the account the event was logged for (System, PowerShell, ...): by SID only, as
        # a 7045's AccountName may be the service's account rather than the installer
        subj = (None, None, uid)
    ev.subject, ev.target = subj, targ
    if eid in _AUTH_EVENTS:  # the client of an authentication, when it is a machine
        client = subj if eid == 4769 else targ
        if client and client[0] and client[0].endswith("$"):
            ev.client = client
        if eid in (4624, 4625, 4776):
            ev.workstation = _text(get("WorkstationName")) or _text(get("Workstation"))
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
        _local_address(ev, dst if inbound else src, not inbound or _tcp(get("Protocol")))
    elif eid == 5156 and not sysmon:  # Windows Filtering Platform: a connection permitted
        src, dst = classify_ip(_text(get("SourceAddress"))), classify_ip(_text(get("DestAddress")))
        direction = (_text(get("Direction")) or "").lower()
        for name, info in (("src_ip", src), ("dst_ip", dst)):
            if info:
                props[name] = info.address
        for name, field in (("src_port", "SourcePort"), ("dst_port", "DestPort")):
            n = _int(get(field))
            if n is not None:
                props[name] = n
        if direction in _WFP_OUT:
            _local_address(ev, src, True)
        elif direction in _WFP_IN:
            _local_address(ev, dst, _tcp(get("Protocol")))
    if eid in (4697, 7045) and props.get("service_file"):
        ev.service_file = props["service_file"].strip().strip('"').lower()
    if "IpAddress" in obj:
        info = classify_ip(_text(get("IpAddress")))
        if info:
            props["ip"] = info.address
            if info.kind != "ignore":
                ev.ip = info
    ev.failed = failed_auth(eid, props.get("status"))
    if ev.local_ip:
        props["local_ip"] = ev.local_ip
    ev.label, ev.props = label, props
    return ev


def _tcp(value: object) -> bool:
    return str(value).strip().lower() in ("tcp", "6")


def _local_address(ev: _Ev, info, unicast: bool) -> None:
    """An address the event's own host used: the source of what it initiated, the
    destination of a TCP connection it accepted (UDP may be broadcast to a subnet)."""
    if info is not None and info.kind == "internal" and unicast:
        ev.local_ip = info.address


def _read(source: Source, batch: Batch) -> list[_Ev]:
    text = source.text()
    name = source.name
    events: list[_Ev] = []
    copies: dict[str, int] = {}
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
                batch.reject(name, where, f"not JSON: {str(exc).splitlines()[0][:80]}", "not JSON")
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
            batch.reject(name, where, str(exc), exc.reason)
            continue
        if "content_hash" in ev.props:  # the n-th identical record-less record: its own event
            n = copies[ev.record] = copies.get(ev.record, 0) + 1
            if n > 1:
                ev.record = f"{ev.record}.{n}"
                ev.props["content_hash"] = ev.record[1:]
        events.append(ev)
    if objects == 0 and batch.records > 0:
        raise BadFile("no line is a JSON object: not Windows events as JSON lines")
    return events


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
    _clock(events)
    index = ctx.twin_index()
    learned, machines, names = set(), set(), set()
    for ev in events:  # pass 1: which names, domains, SIDs and full host names go together
        if ev.raw_host not in names:
            names.add(ev.raw_host)
            index.learn_host_name(ev.raw_host)
        for acct in (ev.subject, ev.target):
            if not acct:
                continue
            if acct not in learned:
                learned.add(acct)
                index.learn_account(acct[0], acct[1], acct[2])
            if acct[0] and acct[0].endswith("$") and (ev.raw_host, acct) not in machines:
                machines.add((ev.raw_host, acct))
                index.learn_machine_account(ev.raw_host, acct[0], acct[1])
    index.finish_learning()
    _emit(batch, _keyed(events, index), index, ctx)
    return batch


def _clock(events: list[_Ev]) -> None:
    """Each event's time on one clock (graph.timestamps.EventClock), learned per host."""
    clock = EventClock()
    for ev in events:
        clock.observe(ev.host_short, ev.readings)
    clock.finish()
    for ev in events:
        ts, source = clock.time(ev.host_short, ev.readings)
        ev.ts, ev.readings = ts, None
        ev.props["timestamp"] = int(ts)
        ev.props["time"] = datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z")
        ev.props["time_field"] = source


def _keyed(events: list[_Ev], index: TwinIndex) -> list[_Ev]:
    """Keys on the host as the twin keys it (else the name as written, until relinked);
    the same record twice, however spelled, is one event (the last one read)."""
    hosts: dict[str, tuple[str, bool] | None] = {}
    out: dict[str, _Ev] = {}
    for ev in events:
        if ev.raw_host not in hosts:
            hosts[ev.raw_host] = index.event_host(ev.raw_host)
        found = hosts[ev.raw_host]
        ev.host, ev.host_known = found if found else (ev.raw_host, None)
        ev.key = f"EVT:{ev.host}:{ev.channel}:{ev.record}"
        ev.props["host"] = ev.host
        if not found and ev.host_short in index.machine_domains:  # what relinking must respect
            ev.props["host_domains"] = sorted(index.machine_domains[ev.host_short])
        out[ev.key] = ev
    return list(out.values())


def _emit(batch: Batch, events: list[_Ev], index: TwinIndex, ctx: IngestContext) -> None:
    acct_cache: dict[tuple, Account | None] = {}
    rows: list[dict] = []
    new_hosts: dict[str, list] = {}  # key -> [first, last, props]
    new_users: dict[str, list] = {}
    ips: dict[str, list] = {}
    logons: dict[tuple[str, str], list] = {}
    sessions: dict[tuple[str, str], list] = {}
    logon_index: dict[tuple[str, str], list[tuple[float, str]]] = {}
    user_logons: dict[tuple[str, str], list[tuple[float, str]]] = {}
    installs: dict[tuple[str, str], list[_Ev]] = {}
    proc_by_guid: dict[str, str] = {}
    proc_by_pid: dict[tuple[str, int], list[tuple[float, str | None, str]]] = {}

    def seen(table: dict, key: str, ts: float, props: dict) -> None:
        span = table.get(key)
        if span is None:
            table[key] = [ts, ts, props]
        else:
            span[0] = min(span[0], ts)
            span[1] = max(span[1], ts)

    def account(acct: tuple, host_short: str, host_key: str | None = None) -> Account | None:
        ck = (acct[0], acct[1], acct[2], host_short, host_key)
        if ck not in acct_cache:
            acct_cache[ck] = index.resolve_account(acct[0], acct[1], acct[2],
                                                   host_short=host_short, host_key=host_key)
        return acct_cache[ck]

    def new_host(key: str, ts: float, known: bool = False) -> None:
        seen(new_hosts, key, ts, {} if known else {"name": key, "shortname": short_hostname(key)})

    # pass 2a: the addresses hosts used, learned before any source address is resolved
    bindings: dict[tuple[str, str], list] = {}
    for ev in events:
        if ev.local_ip and ev.host_known is not None:
            bind(bindings, ev.host, ev.local_ip, ev.ts, "own_traffic")
        if ev.ip is None or ev.ip.kind != "internal":
            continue
        if ev.client:
            a = account(ev.client, ev.host_short)
            if a is not None and a.label == "Computer" and (a.exists or not ev.failed):
                bind(bindings, a.key, ev.ip.address, ev.ts, "machine_logon")
                if not a.exists:
                    new_host(a.key, ev.ts)
        if ev.workstation:
            w = index.event_host(ev.workstation, guess_domain=False)
            if w:
                bind(bindings, w[0], ev.ip.address, ev.ts, "logon_workstation")
                if not w[1]:
                    new_host(w[0], ev.ts)
    for (host, ip_key), (first, last, _) in bindings.items():
        index.learn_lease(ip_key[3:], host, first, last)
        seen(ips, ip_key, first, {"address": ip_key[3:]})
        seen(ips, ip_key, last, {})

    for ev in events:
        ts = ev.ts
        its = int(ts)
        props = ev.props
        by_keys: list[str] = []
        target_keys: list[str] = []
        row = {"key": ev.key, "ts": its, "event_id": ev.eid, "channel": ev.channel,
               "kind": ev.label or "Event", "host": ev.host, "from_host": None, "by_keys": by_keys,
               "target_keys": target_keys, "ip": props.get("ip") or props.get("src_ip"),
               "dst_ip": props.get("dst_ip"), "props": props, "raw": ev.line, "marks": (),
               "in_session": None, "parent": None, "from_ip": None}
        host_key = ev.host if ev.host_known is not None else None
        if host_key:
            new_host(host_key, ts, ev.host_known)  # a known host's first/last seen move too
        account_missing = False
        for rel, acct in (("ByUser", ev.subject), ("TargetsUser", ev.target)):
            if not acct:
                continue
            a = account(acct, ev.host_short, host_key)
            if a is None:
                account_missing = account_missing or index.account_pending(
                    acct[0], acct[1], acct[2], host_short=ev.host_short)
                continue
            if not a.exists and ev.failed:
                continue  # a failed logon may name an account that does not exist
            if a.label == "Computer":
                new_host(a.key, ts, a.exists)
            else:
                seen(new_users, a.key, ts, {} if a.exists else {
                    "name": a.key, "domain": a.key.rsplit("@", 1)[1],
                    **({"local": True} if a.key.rsplit("@", 1)[1] == host_key else {})})
            (by_keys if rel == "ByUser" else target_keys).append(a.key)
            if rel == "ByUser":
                ev.installer = a.key
            if rel == "TargetsUser" and ev.eid == 4624 and a.label == "User" and host_key:
                count_logon(logons, a.key, host_key, ev.logon_type, ts)  # its count: recount_logons
                if ev.logon_type in SESSION_LOGON_TYPES:
                    seen(sessions, (host_key, a.key), ts, {})
                if ev.target_logon and ev.target_logon not in _NO_SESSION:
                    user_logons.setdefault((ev.host, a.key), []).append((ts, ev.key))
        ip_missing = False
        if ev.ip is not None:
            ip_key = f"IP:{ev.ip.address}"
            seen(ips, ip_key, ts, {"address": ev.ip.address})
            row["from_ip"] = ip_key
            if ev.ip.kind == "internal":
                src_host = index.host_for_ip(ev.ip.address, ts)
                if src_host:
                    row["from_host"] = src_host
                else:
                    ip_missing = True
        if host_key is None or ip_missing or account_missing:
            row["marks"] = labels_for(host_key is None, ip_missing, account_missing)
        rows.append(row)
        if ev.eid == 4624 and ev.target_logon and ev.target_logon not in _NO_SESSION:
            logon_index.setdefault((ev.host, ev.target_logon), []).append((ts, ev.key))
        if ev.eid == 4697 and ev.service_file:
            installs.setdefault((ev.host, ev.service_file), []).append(ev)
        if ev.label == "ProcessEvent":
            if ev.guid:
                proc_by_guid[ev.guid.lower()] = ev.key
            if ev.pid is not None:
                proc_by_pid.setdefault((ev.host, ev.pid), []).append((ts, ev.plogon, ev.key))

    def session_of(ev: _Ev) -> str | None:
        if ev.session and ev.session not in _NO_SESSION:
            cands = logon_index.get((ev.host, ev.session))
            return _pick(cands, ev.ts, ev.key) if cands else None
        if ev.eid != 7045:
            return None
        # A service install names no session: the 4697 of the same install does; else
        # the installer's last logon on the host (a remote install logs on first).
        same = [e for e in installs.get((ev.host, ev.service_file), ()) if abs(e.ts - ev.ts) <= 60]
        for e in sorted(same, key=lambda e: abs(e.ts - ev.ts)):
            found = session_of(e)
            if found:
                return found
        before = [c for c in user_logons.get((ev.host, ev.installer), ()) if c[0] <= ev.ts + 2]
        return max(before)[1] if before else None

    # logon-session and parent-process chains, within this file's events
    for ev, row in zip(events, rows, strict=True):
        row["in_session"] = session_of(ev)
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
                row["parent"] = parent

    batch.add_nodes(COMPUTER, _span_rows(new_hosts))
    batch.add_nodes(USER, _span_rows(new_users))
    batch.add_nodes(IP, _span_rows(ips))
    batch.add_events(rows)
    batch.add_rels(HAS_SESSION, [
        {"src": h, "dst": u, "firstseen": int(f), "lastseen": int(la)}
        for (h, u), (f, la, _) in sessions.items()])
    batch.add_rels(LOGGED_ON, logged_on_rows(ctx.reader, logons))
    ctx.run_state(LogonPairs).update(logons)
    batch.add_rels(HAS_IP, has_ip_rows(ctx.reader, bindings))


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


# `relink` ties events to hosts and source hosts that later loads bring, whatever they
# carried (an AD collection names the host an earlier event file spelled short).
CONNECTOR = Connector(name="winevents", sniff=sniff, transform=transform, post_load=relink,
                      order=70, always_post_load=True,
                      post_load_kinds=("Computer", "User", "IP", "HasIP", "HasSession", "LoggedOn",
                                       # an alert's event nodes follow their rows (_eventnodes)
                                       "Event", "OnHost", "ByUser", "TargetsUser", "FromHost", "FromIP",
                                       "Involves"))
