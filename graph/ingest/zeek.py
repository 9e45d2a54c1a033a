"""Zeek logs (TSV as Zeek writes them, or JSON lines) -> the network as the twin holds it.

Each log type is read as what it is, never as another: conn -> `ConnectedTo`
(graph.ingest._zeekconn); dns -> time-aware name/address leases; kerberos, smb_mapping,
smb_files, dce_rpc, files, notice -> events; http, ssl -> aggregated `HttpTo` / `TlsTo`
(graph.ingest._zeekobs). Any other Zeek log (weird, x509, dpd, ...) is refused with its
type named, whether it was sniffed or forced with `--format zeek`.

Which log a file is: the records' own `_path` (Zeek's JSON writer; `@stream` in some
exports such as OTRF's), else the TSV `#path` header, else the file name (`dns.log`,
`NASHUA_dns.log`, `dns.20240312.json`), else its fields. A combined file (records of many
logs, each with its `_path`) is read record by record, its DNS answers first so that its
connections and events resolve through them. Field names are read as Zeek writes them
(`id.orig_h`), flattened with underscores (`id_orig_h`, as OTRF and several pipelines
export) or nested (`{"id": {"orig_h": ...}}`).

Across files of one run, DNS logs load before the other Zeek logs (`rank`), so a conn.log
in the same folder lands on the named hosts. Known gap: a host first seen by its address
in an earlier run stays an IP-keyed node beside the FQDN host a later DNS answer names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph.catalog import COMPUTER, INTERNET
from graph.ingest._addresses import subnet_broadcasts
from graph.ingest._jsonhead import json_head
from graph.ingest._live import JSONDecodeErrors, file_digest, loads, no_gc
from graph.ingest._zeekconn import (
    CONN_REQUIRED,
    CONNECTED_TO,
    ConnAggregator,
    Endpoints,
    Reject,
    conn_tsv,
)
from graph.ingest._zeekconn import field as get
from graph.ingest._zeekobs import DnsLeases, Observations
from graph.ingest.base import BadFile, Batch, Connector, IngestContext, Source
from graph.ingest.nmap import CURRENT_IP
from graph.loader import TwinWriter

__all__ = ["COMPUTER", "CONNECTED_TO", "INTERNET", "Batch", "CONNECTOR", "sniff", "transform"]

SUPPORTED = ("conn", "dns", "http", "ssl", "kerberos", "smb_files", "smb_mapping", "dce_rpc",
             "files", "notice")
# Zeek logs recognised by name, refused by type rather than reported as unknown files.
OTHER_LOGS = ("weird", "x509", "dpd", "pe", "analyzer", "packet_filter", "loaded_scripts", "stats",
              "capture_loss", "reporter", "ntp", "dhcp", "rdp", "ssh", "ftp", "smtp", "sip", "snmp",
              "software", "known_hosts", "known_services", "known_certs", "ntlm", "radius", "tunnel",
              "syslog", "mysql", "irc", "modbus", "dnp3", "socks", "signatures", "intel", "ocsp",
              "quic", "ldap", "ldap_search", "conn_long", "notice_alarm", "traceroute", "broker",
              "cluster", "print", "telemetry", "websocket", "netcontrol", "openflow", "unified2")
_BY_LENGTH = sorted(SUPPORTED + OTHER_LOGS, key=len, reverse=True)
_HEX_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")
REQUIRED = {
    "conn": CONN_REQUIRED, "dns": ("ts", "query"),
    "http": ("ts", "id.orig_h", "id.resp_h"), "ssl": ("ts", "id.orig_h", "id.resp_h"),
    "kerberos": ("ts", "id.orig_h", "id.resp_h"), "smb_files": ("ts", "id.orig_h", "id.resp_h"),
    "smb_mapping": ("ts", "id.orig_h", "id.resp_h"), "dce_rpc": ("ts", "id.orig_h", "id.resp_h"),
    "files": ("ts", "fuid"), "notice": ("ts", "note"),
}
_CONN_FIELDS = frozenset({
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
    "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
    "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents", "orig_l2_addr",
    "resp_l2_addr", "vlan", "inner_vlan", "community_id", "ip_proto", "_path", "_write_ts"})


def _refusal(log: str) -> str:
    return f"Zeek {log} log: not a log the twin reads (it reads {', '.join(SUPPORTED)})"


def log_from_name(name: str) -> str | None:
    """`dns.log`, `dns.2024-03-12-10-00-00.log`, `NASHUA_dns.log`, `archive.zip:smb_files.json`."""
    path = name.replace("\\", "/")
    if ".zip:" in path.lower():  # a zip member: "archive.zip:dir/dns.log"
        path = path[path.lower().rindex(".zip:") + 5:]
    stem = path.rsplit("/", 1)[-1].lower().split(".", 1)[0]
    for log in _BY_LENGTH:
        if stem == log or stem.endswith(("_" + log, "-" + log)):
            return log
    return None


def _spelled(fields) -> set[str]:
    return {("id." + f[3:]) if f.startswith("id_") else f for f in fields}


def log_from_fields(fields) -> str | None:
    """The log type a record's field names say (for files that name no `_path`)."""
    f = _spelled(fields)
    if isinstance(fields, dict) and isinstance(fields.get("id"), dict):
        f |= {f"id.{k}" for k in fields["id"]}
    if "note" in f:
        return "notice"
    if "query" in f and f & {"qtype", "qtype_name", "answers", "rcode", "rcode_name", "trans_id"}:
        return "dns"
    if len(f & {"method", "uri", "status_code", "user_agent", "trans_depth", "request_body_len"}) >= 2:
        return "http"
    if "request_type" in f or {"client", "service", "till"} <= f:
        return "kerberos"
    if "action" in f and f & {"name", "path"}:
        return "smb_files"
    if f & {"share_type", "native_file_system"}:
        return "smb_mapping"
    if {"endpoint", "operation"} <= f or "named_pipe" in f:
        return "dce_rpc"
    if len(f & {"cipher", "server_name", "ja3", "validation_status", "cert_chain_fuids",
                "cert_chain_fps", "ssl_history", "curve", "resumed"}) >= 2:
        return "ssl"
    if "fuid" in f and f & {"tx_hosts", "rx_hosts", "mime_type", "seen_bytes", "total_bytes", "analyzers"}:
        return "files"
    if "fingerprint" in f or any(x.startswith("certificate.") or x.startswith("certificate_") for x in f):
        return "x509"
    if {"name", "addl"} <= f or {"name", "peer"} <= f:
        return "weird"
    if f & {"conn_state", "history", "orig_pkts", "missed_bytes", "orig_bytes", "resp_bytes"}:
        return "conn"
    if {"ts", "id.orig_h", "id.resp_h", "id.resp_p"} <= f and f <= _CONN_FIELDS:
        return "conn"  # nothing but a connection's identity
    return None


def _record_log(rec: dict) -> str | None:
    for name in ("_path", "@stream"):
        v = rec.get(name)
        if isinstance(v, str) and v.strip():
            return v.strip().lower()
    return None


def sniff(name: str, head: str) -> bool:
    """Any Zeek TSV log (`#separator` first), or JSON whose first record is a Zeek record:
    `_path` / `@stream` with `ts`, or `ts` with `uid`/`fuid` and the connection's addresses.
    Which log it is and whether the twin reads it is the transform's to say."""
    text = head.lstrip("\ufeff")
    if text.startswith("#separator"):
        return True
    h = json_head(head)
    if h is None or h.kind not in ("lines", "object") or "ts" not in h.keys:
        return False
    if _record_log(h.keys):
        return True
    f = _spelled(h.keys)
    return bool(f & {"uid", "fuid"}) and bool(f & {"id.orig_h", "id", "tx_hosts", "rx_hosts"})


def rank(source: Source) -> int:
    """DNS logs before the other Zeek logs of a run (their leases name the hosts)."""
    head = source.data[:4096].decode("utf-8", "replace")
    if "#path\tdns\n" in head or "#path\tdns\r" in head:
        return 0
    first = head.lstrip("\ufeff").split("\n", 1)[0].replace(" ", "")
    if first.startswith("{") and ('"_path":"dns"' in first or '"@stream":"dns"' in first):
        return 0
    return 0 if log_from_name(source.name) == "dns" else 1


@dataclass
class ZeekRun:
    """What one run's Zeek files share: the broadcast addresses of the twin's subnets (read
    once), and whether DNS answers moved leases, for post_load."""

    not_hosts: frozenset[str] | None = None
    dns_leases: bool = False


class _File:
    """What one Zeek file becomes while it is read."""

    def __init__(self, source: Source, ctx: IngestContext) -> None:
        self.name = source.name
        self.ctx = ctx
        self.batch = Batch()
        self.index = ctx.twin_index()
        self.run = ctx.run_state(ZeekRun)
        if self.run.not_hosts is None:
            self.run.not_hosts = subnet_broadcasts(ctx.reader)
        self.not_hosts: frozenset[str] = self.run.not_hosts
        self.ep = Endpoints(self.index, self.not_hosts)
        self.conn = ConnAggregator(self.ep)
        self.dns = DnsLeases()
        self.obs = Observations(self.ep, self.index)
        self.others: dict[str, list[int]] = {}  # refused log -> [records, first line]
        self.dns_done = False

    def finish_dns(self) -> None:
        """DNS answers become leases now, before the file's other records resolve."""
        if not self.dns_done:
            self.dns_done = True
            if self.dns.rows(self.batch, self.index, self.not_hosts):
                self.run.dns_leases = True

    def record(self, log: str, rec: dict, n: int) -> None:
        try:
            if log == "conn":
                self.conn.add_record(rec)
            elif log == "dns":
                self.dns.add(rec)
            elif log in SUPPORTED:
                self.obs.add(log, rec, get)
            else:
                seen = self.others.setdefault(log, [0, n])
                seen[0] += 1
        except Reject as exc:
            self.batch.reject(self.name, f"line {n}", str(exc))

    def finish(self, data: bytes) -> Batch:
        self.finish_dns()
        for log, (count, first) in sorted(self.others.items()):
            self.batch.reject(self.name, f"{count} record{'s' * (count != 1)} from line {first}", _refusal(log))
        digest = file_digest(data)
        self.conn.rows(self.batch, self.ctx, digest)
        self.obs.edge_rows(self.batch, self.ctx, digest)
        self.ep.node_rows(self.batch)
        self.obs.event_rows(self.batch)
        return self.batch


def transform(source: Source, ctx: IngestContext) -> Batch:
    with no_gc():
        return _transform(source, ctx)


def _transform(source: Source, ctx: IngestContext) -> Batch:
    lines = source.text().split("\n")
    first = next((ln for ln in lines if ln.strip()), "")
    f = _File(source, ctx)
    if first.startswith("#"):
        _tsv(lines, f)
    elif first.lstrip().startswith("{"):
        _jsonl(lines, f)
    elif first:
        raise BadFile("neither Zeek TSV (#separator / #fields header) nor JSON lines")
    return f.finish(source.data)


# --------------------------------------------------------------------------- TSV


def _header_logs(lines: list[str]) -> tuple[set[str], list[str]]:
    """The `#path` values of a TSV file (a file may hold several logs one after another)
    and its first `#fields`."""
    paths: set[str] = set()
    fields: list[str] = []
    for line in lines:
        if line[:1] != "#":
            continue
        if line.startswith("#path"):
            parts = line.rstrip("\r").split(None, 1)
            if len(parts) == 2:
                paths.add(parts[1].strip().lower())
        elif line.startswith("#fields") and not fields:
            fields = line.rstrip("\r").split("\t")[1:]
    return paths, fields


def _tsv(lines: list[str], f: _File) -> None:
    paths, fields = _header_logs(lines)
    if not paths:
        guess = log_from_name(f.name) or log_from_fields(fields) or "conn"
        paths = {guess}
    if paths == {"conn"}:
        conn_tsv(lines, f.conn, f.batch, f.name)  # the fast path: no dict per record
        return
    if not paths & set(SUPPORTED):
        raise BadFile(_refusal(sorted(paths)[0]))
    records = _tsv_records(lines, f, default=next(iter(paths)) if len(paths) == 1 else None)
    if "dns" in paths and len(paths) > 1:
        records = list(records)
        for n, log, rec in records:
            if log == "dns":
                f.record(log, rec, n)
        f.finish_dns()
        for n, log, rec in records:
            if log != "dns":
                f.record(log, rec, n)
        return
    for n, log, rec in records:
        f.record(log, rec, n)


def _tsv_records(lines: list[str], f: _File, default: str | None):
    """(line, log, record) for every data line of a TSV file, typed as `#types` says
    (sets and vectors as lists; unset fields left out)."""
    sep, set_sep, unset, empty = "\t", ",", "-", "(empty)"
    names: list[str] | None = None
    containers: list[bool] = []
    log = default
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        if not line:
            continue
        if line[0] == "#":
            key, _, value = line.partition(sep if not line.startswith("#separator") else " ")
            if key == "#separator":
                try:
                    sep = value.strip().encode().decode("unicode_escape") or "\t"
                except UnicodeDecodeError:
                    raise BadFile(f"line {n}: bad #separator {value.strip()!r}") from None
            elif key == "#set_separator":
                set_sep = value or ","
            elif key == "#unset_field":
                unset = value
            elif key == "#empty_field":
                empty = value
            elif key == "#path":
                log = value.strip().lower()
            elif key == "#fields":
                names = value.split(sep)
                need = REQUIRED.get(log or "")
                missing = [x for x in need or () if x not in names]
                if missing:
                    raise BadFile(f"line {n}: #fields lacks {', '.join(missing)}: not a Zeek {log} log")
                containers = [False] * len(names)
            elif key == "#types":
                types = value.split(sep)
                containers = [t.startswith(("set[", "vector[", "table[")) for t in types]
            continue
        f.batch.records += 1
        if names is None:
            raise BadFile(f"line {n}: data before any #fields header: not a Zeek TSV log")
        cells = line.split(sep)
        if len(cells) != len(names):
            f.batch.reject(f.name, f"line {n}", f"{len(cells)} fields, #fields names {len(names)}")
            continue
        rec: dict = {}
        for i, (field, cell) in enumerate(zip(names, cells, strict=True)):
            if cell == unset:
                continue
            if "\\x" in cell:  # Zeek writes unprintable bytes and separators as \xHH
                cell = _HEX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), cell) if i >= len(containers) \
                    or not containers[i] else cell
            if i < len(containers) and containers[i]:
                rec[field] = [] if cell == empty else [
                    _HEX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), x) for x in cell.split(set_sep)]
            else:
                rec[field] = "" if cell == empty else cell
        yield n, (log or "conn"), rec


# --------------------------------------------------------------------------- JSON lines


def _jsonl(lines: list[str], f: _File) -> None:
    default = log_from_name(f.name)
    objects = 0
    combined = False
    typed: bool | None = None  # do records name their log (`_path`)? The first one says.
    pending: list[tuple[int, str]] = []
    add_conn, reject = f.conn.add_record, f.batch.reject
    for n, line in enumerate(lines, 1):
        s = line.strip()
        if not s:
            continue
        f.batch.records += 1
        try:
            rec = loads(s)
        except JSONDecodeErrors as exc:
            reject(f.name, f"line {n}", f"not JSON: {str(exc).splitlines()[0][:80]}")
            continue
        if not isinstance(rec, dict):
            reject(f.name, f"line {n}", "not a JSON object")
            continue
        objects += 1
        if typed is None:
            typed = _record_log(rec) is not None
        if not typed and default == "conn":  # the common case, kept short: a JSON conn.log
            try:
                add_conn(rec)
            except Reject as exc:
                reject(f.name, f"line {n}", str(exc))
            continue
        log = _record_log(rec) if typed else None
        if log is None:
            if default is None:
                default = log_from_fields(rec)
                if default is None:
                    raise BadFile(f"line {n}: a JSON record of no Zeek log the twin knows "
                                  f"(fields {', '.join(sorted(rec)[:8])[:120]}) and no _path")
            log = default
        elif log != "dns":
            combined = True
        if combined and log != "dns" and not f.dns_done:
            pending.append((n, s))  # a combined file: its DNS answers first
            continue
        f.record(log, rec, n)
    if objects == 0 and f.batch.records > 0:
        raise BadFile("no line is a JSON object: not a Zeek JSON log")
    f.finish_dns()
    for n, s in pending:
        rec = loads(s)
        f.record(_record_log(rec) or default or "conn", rec, n)
    if objects and not (f.conn.pairs or f.dns.pairs or f.obs.events or any(f.obs.edges.values())) \
            and f.others and sum(c for c, _ in f.others.values()) == objects:
        raise BadFile(_refusal(sorted(f.others)[0]) if len(f.others) == 1 else
                      f"Zeek {', '.join(sorted(f.others))} logs: not logs the twin reads "
                      f"(it reads {', '.join(SUPPORTED)})")


def post_load(writer: TwinWriter, ctx: IngestContext) -> None:
    """DNS answers moved leases: hosts' current `ip` / `ips` follow, as after Nmap."""
    run = ctx.take_state(ZeekRun)
    if run is not None and run.dns_leases:
        writer.driver.execute_query(CURRENT_IP, database_=writer.database)
        writer.stats.per_kind["Computer"] = 1  # its `ip` / `ips` moved (post_load_kinds)


CONNECTOR = Connector(name="zeek", sniff=sniff, transform=transform, post_load=post_load, order=60,
                      rank=rank, post_load_kinds=("Computer",))
