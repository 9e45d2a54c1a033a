"""Zeek conn.log (TSV as Zeek writes it, or JSON lines) -> who talked to whom.

A conn.log holds one record per connection; the twin holds one `ConnectedTo` edge per
(originator host, responder host) with the ports, connection count, bytes and first/last
time. Millions of records become thousands of edges: the transform splits lines, looks
IPs up in plain dicts and aggregates in memory, and the write is tiny.

Each IP becomes a host at the record's time (`graph.resolve.TwinIndex.host_for_ip`, via
the Nmap connector's time-aware HasIP leases): the same address can be two hosts at two
times. Global addresses are the `Internet` node; internal addresses no source knows
become hosts keyed by the IP (contract: FQDN, else IP). Loopback, multicast and
broadcast name no host and are skipped.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

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
from graph.resolve import INTERNET_KEY, TwinIndex, classify_ip

COMPUTER = NodeSchema("Computer", snapshot=False)
INTERNET = NodeSchema("Internet", snapshot=False)
CONNECTED_TO = RelSchema("ConnectedTo", snapshot=False)

_REQUIRED = ("ts", "id.orig_h", "id.resp_h", "id.resp_p")
_MAX_TS = 32503680000  # year 3000: a conn.log time past this is corrupt, not the future


def sniff(name: str, head: str) -> bool:
    text = head.lstrip("\ufeff")
    if text.startswith("#separator"):
        fields = next((ln for ln in text.splitlines() if ln.startswith("#fields")), "")
        return "#path\tconn" in text or ("id.orig_h" in fields and "conn_state" in fields)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    return first.lstrip().startswith("{") and '"id.orig_h"' in first and (
        '"conn_state"' in first or '"_path":"conn"' in first.replace(" ", "")
    )


class _Reject(Exception):
    pass


def _ts(value: object) -> float:
    if isinstance(value, bool):
        raise _Reject(f"bad ts {value!r}")
    if isinstance(value, (int, float)):
        try:
            ts = float(value)
        except OverflowError:
            raise _Reject(f"bad ts {str(value)[:40]!r}") from None
    elif isinstance(value, str):
        v = value.strip()
        try:
            ts = float(v)
        except ValueError:
            try:  # LogAscii::json_timestamps = JSON::TS_ISO8601
                dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
                if dt.tzinfo is None:
                    dt = dt.replace(tzinfo=UTC)
                ts = dt.timestamp()
            except (ValueError, OverflowError):
                raise _Reject(f"bad ts {value[:40]!r}") from None
    else:
        raise _Reject("ts missing" if value is None else f"bad ts {value!r}")
    if not math.isfinite(ts) or ts < 0 or ts > _MAX_TS:
        raise _Reject(f"bad ts {value!r}")
    return ts


def _port(value: object) -> int:
    if isinstance(value, bool):
        raise _Reject(f"bad id.resp_p {value!r}")
    if isinstance(value, str) and not (value.isascii() and value.strip().isdigit()):
        raise _Reject(f"bad id.resp_p {value[:20]!r}")
    try:
        port = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise _Reject(f"bad id.resp_p {str(value)[:20]!r}") from None
    if not 0 <= port <= 65535:
        raise _Reject(f"bad id.resp_p {value!r}")
    return port


def _count(value: object, name: str, unset: str = "-") -> int:
    if value is None or value == unset or value == "":
        return 0
    if isinstance(value, bool):
        raise _Reject(f"bad {name} {value!r}")
    if isinstance(value, str) and not (value.isascii() and value.strip().isdigit()):
        raise _Reject(f"bad {name} {value[:20]!r}")
    try:
        n = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise _Reject(f"bad {name} {str(value)[:20]!r}") from None
    if not 0 <= n < 1 << 50:  # a petabyte per connection is corruption, and int64 must hold sums
        raise _Reject(f"bad {name} {str(value)[:20]!r}")
    return n


_SKIP, _CONST, _TIMED = 0, 1, 2


class _Aggregator:
    """Per (src key, dst key): [ports, count, bytes, first, last].

    Each distinct address string is classified once: skipped (loopback, multicast, ...),
    a constant key (the Internet, a host without leases or whose leases all name the same
    host, an IP-keyed unknown host), or time-dependent (leases of several hosts), which
    alone costs a lease look-up per record."""

    def __init__(self, index: TwinIndex) -> None:
        self.index = index
        self.pairs: dict[tuple[str, str], list] = {}
        self.cache: dict[str, tuple[int, str, bool]] = {}  # raw -> (mode, key|address, internet)
        self.skipped = 0

    def _classify(self, raw: str) -> tuple[int, str, bool]:
        info = classify_ip(raw)
        if info is None:
            raise _Reject(f"bad IP {raw[:60]!r}")
        if info.kind == "ignore":
            hit = (_SKIP, "", False)
        elif info.kind == "internet":
            hit = (_CONST, INTERNET_KEY, True)
        else:
            hosts = self.index.lease_hosts(info.address)
            if len(hosts) > 1:
                hit = (_TIMED, info.address, False)
            else:
                hit = (_CONST, self.index.host_for_ip(info.address) or info.address, False)
        self.cache[raw] = hit
        return hit

    def add(self, ts: float, orig: str, resp: str, port: int, proto: str, nbytes: int) -> None:
        o = self.cache.get(orig) or self._classify(orig)
        r = self.cache.get(resp) or self._classify(resp)
        if o[0] == _SKIP or r[0] == _SKIP or (o[2] and r[2]):
            self.skipped += 1
            return
        src = o[1] if o[0] == _CONST else self.index.host_for_ip(o[1], ts) or o[1]
        dst = r[1] if r[0] == _CONST else self.index.host_for_ip(r[1], ts) or r[1]
        if src == dst:
            self.skipped += 1
            return
        agg = self.pairs.get((src, dst))
        if agg is None:
            self.pairs[(src, dst)] = [{(port, proto)}, 1, nbytes, ts, ts]
            return
        agg[0].add((port, proto))
        agg[1] += 1
        agg[2] += nbytes
        if ts < agg[3]:
            agg[3] = ts
        elif ts > agg[4]:
            agg[4] = ts


_PROTOS: dict[str, str] = {}


def _proto(value: object) -> str:
    hit = _PROTOS.get(value) if isinstance(value, str) else None
    if hit is None:
        p = str(value).strip().lower() if value is not None else ""
        hit = p if p and p not in ("-", "unknown_transport") and len(p) < 16 else "unknown"
        if isinstance(value, str) and len(_PROTOS) < 64:
            _PROTOS[value] = hit
    return hit


def _tsv(lines: list[str], agg: _Aggregator, batch: Batch, name: str) -> None:
    sep = "\t"
    unset = "-"
    cols: tuple[int, int, int, int, int, int, int] | None = None
    nfields = 0
    add = agg.add
    for n, line in enumerate(lines, 1):
        if not line or line == "\r":
            continue
        if line[0] == "#":
            if line.startswith("#separator"):
                spec = line[len("#separator"):].strip()
                try:
                    sep = spec.encode().decode("unicode_escape") if spec else "\t"
                except UnicodeDecodeError:
                    raise BadFile(f"line {n}: bad #separator {spec!r}") from None
                if not sep:
                    raise BadFile(f"line {n}: empty #separator")
            elif line.startswith("#unset_field"):
                parts = line.rstrip("\r").split(sep, 1)
                unset = parts[1] if len(parts) > 1 else "-"
            elif line.startswith("#fields"):
                names = line.rstrip("\r").split(sep)[1:]
                missing = [f for f in _REQUIRED if f not in names]
                if missing:
                    raise BadFile(f"line {n}: #fields lacks {', '.join(missing)}: not a conn.log")
                pos = {f: i for i, f in enumerate(names)}
                cols = (pos["ts"], pos["id.orig_h"], pos["id.resp_h"], pos["id.resp_p"],
                        pos.get("proto", -1), pos.get("orig_bytes", -1), pos.get("resp_bytes", -1))
                nfields = len(names)
            continue
        batch.records += 1
        if cols is None:
            raise BadFile(f"line {n}: data before any #fields header: not a Zeek TSV log")
        parts = line.rstrip("\r").split(sep)
        if len(parts) != nfields:
            batch.reject(name, f"line {n}", f"{len(parts)} fields, #fields names {nfields}")
            continue
        its, io, ir, iport, iproto, iob, irb = cols
        try:
            ts_raw = parts[its]
            if ts_raw == unset:
                raise _Reject("ts unset")
            try:
                ts = float(ts_raw)
            except ValueError:
                ts = _ts(ts_raw)
            if not 0 <= ts <= _MAX_TS:  # NaN fails too
                raise _Reject(f"bad ts {ts_raw[:40]!r}")
            nbytes = 0
            if iob >= 0:
                v = parts[iob]
                nbytes += int(v) if v.isascii() and v.isdigit() and len(v) < 16 else _count(v, "orig_bytes", unset)
            if irb >= 0:
                v = parts[irb]
                nbytes += int(v) if v.isascii() and v.isdigit() and len(v) < 16 else _count(v, "resp_bytes", unset)
            v = parts[iport]
            port = int(v) if v.isascii() and v.isdigit() and len(v) <= 5 else -1
            if not 0 <= port <= 65535:
                port = _port(v)
            add(ts, parts[io], parts[ir], port, _proto(parts[iproto]) if iproto >= 0 else "unknown",
                nbytes)
        except _Reject as exc:
            batch.reject(name, f"line {n}", str(exc))
    if cols is None:
        raise BadFile("no #fields header: not a Zeek TSV log")


def _get(rec: dict, dotted: str):
    if dotted in rec:
        return rec[dotted]
    head, _, tail = dotted.partition(".")
    inner = rec.get(head)
    return inner.get(tail) if isinstance(inner, dict) and tail else None


def _jsonl(lines: list[str], agg: _Aggregator, batch: Batch, name: str) -> None:
    objects = 0
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        batch.records += 1
        try:
            rec = loads(text)
        except JSONDecodeErrors as exc:
            batch.reject(name, f"line {n}", f"not JSON: {str(exc).splitlines()[0][:80]}")
            continue
        if not isinstance(rec, dict):
            batch.reject(name, f"line {n}", "not a JSON object")
            continue
        objects += 1
        try:
            ts = _ts(rec.get("ts"))
            orig, resp = _get(rec, "id.orig_h"), _get(rec, "id.resp_h")
            if not isinstance(orig, str) or not isinstance(resp, str):
                raise _Reject("id.orig_h / id.resp_h missing")
            nbytes = _count(rec.get("orig_bytes"), "orig_bytes") + _count(
                rec.get("resp_bytes"), "resp_bytes")
            agg.add(ts, orig, resp, _port(_get(rec, "id.resp_p")), _proto(rec.get("proto")), nbytes)
        except _Reject as exc:
            batch.reject(name, f"line {n}", str(exc))
    if objects == 0 and batch.records > 0:
        raise BadFile("no line is a JSON object: not a Zeek JSON log")


def transform(source: Source, ctx: IngestContext) -> Batch:
    with no_gc():
        return _transform(source, ctx)


def _transform(source: Source, ctx: IngestContext) -> Batch:
    text = source.text()
    lines = text.split("\n")
    batch = Batch()
    index = ctx.twin_index()
    agg = _Aggregator(index)
    first = next((ln for ln in lines if ln.strip()), "")
    if first.startswith("#"):
        _tsv(lines, agg, batch, source.name)
    elif first.lstrip().startswith("{"):
        _jsonl(lines, agg, batch, source.name)
    elif first:
        raise BadFile("neither Zeek TSV (#separator / #fields header) nor JSON lines")
    _rows(batch, agg, index, ctx, file_digest(source.data))
    return batch


def _rows(batch: Batch, agg: _Aggregator, index: TwinIndex, ctx: IngestContext,
          digest: str) -> None:
    if not agg.pairs:
        return
    seen: dict[str, list[float]] = {}
    for (src, dst), (_, _, _, first, last) in agg.pairs.items():
        for key in (src, dst):
            span = seen.get(key)
            if span is None:
                seen[key] = [first, last]
            else:
                span[0] = min(span[0], first)
                span[1] = max(span[1], last)
    hosts, internet = [], []
    for key, (first, last) in seen.items():
        row = {"key": key, "firstseen": int(first), "lastseen": int(last), "props": {}}
        if key == INTERNET_KEY:
            row["props"] = {"name": "Internet"}
            internet.append(row)
        else:
            if key not in index.hosts:  # a host only Zeek knows: keyed by its IP
                row["props"] = {"name": key, "ip": key}
            hosts.append(row)
    batch.add_nodes(INTERNET, internet)
    batch.add_nodes(COMPUTER, hosts)
    old = existing_edges(ctx.driver, ctx.database, "ConnectedTo", agg.pairs.keys())
    rels = []
    for (src, dst), (ports, count, nbytes, first, last) in agg.pairs.items():
        props = accumulate(
            {"ports": [f"{p}/{proto}" for p, proto in ports], "count": count, "bytes": nbytes},
            old.get((src, dst)), digest, sums=("count", "bytes"), unions=("ports",),
        )
        rels.append({"src": src, "dst": dst, "firstseen": int(first), "lastseen": int(last),
                     "props": props})
    batch.add_rels(CONNECTED_TO, rels)


CONNECTOR = Connector(name="zeek", sniff=sniff, transform=transform, order=60)
