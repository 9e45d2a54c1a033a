"""Zeek conn.log -> `ConnectedTo` edges, and the address resolution every Zeek log shares.

A conn.log holds one record per connection; the twin holds one `ConnectedTo` edge per
(originator host, responder host) with the ports, connection count, bytes and first/last
time. Millions of records become thousands of edges: the transform splits lines, looks
IPs up in plain dicts and aggregates in memory, and the write is tiny.

Each IP becomes a host at the record's time (`graph.resolve.TwinIndex.host_for_ip`, via
the time-aware HasIP leases of Nmap and of Zeek's own DNS answers): the same address can
be two hosts at two times. Global addresses are the `Internet` node; internal addresses no
source knows become hosts keyed by the IP (contract: FQDN, else IP). Loopback, multicast,
unspecified and broadcast addresses name no host and are skipped: the limited broadcast,
the broadcast address of every subnet the twin knows (network.yaml), and any address a
record sends to at the Ethernet broadcast MAC (`resp_l2_addr`, when Zeek logs it).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from graph import catalog
from graph.catalog import COMPUTER, INTERNET
from graph.ingest._live import accumulate, existing_edges
from graph.ingest.base import BadFile, Batch, IngestContext
from graph.resolve import INTERNET_KEY, TwinIndex, classify_ip

CONNECTED_TO = catalog.rel("ConnectedTo")

CONN_REQUIRED = ("ts", "id.orig_h", "id.resp_h", "id.resp_p")
MAX_TS = 32503680000  # year 3000: a Zeek time past this is corrupt, not the future
L2_BROADCAST = "ff:ff:ff:ff:ff:ff"


class Reject(Exception):
    """One record cannot be read: it is rejected with this reason, the file goes on."""


def parse_ts(value: object) -> float:
    if isinstance(value, bool):
        raise Reject(f"bad ts {value!r}")
    if isinstance(value, (int, float)):
        try:
            ts = float(value)
        except OverflowError:
            raise Reject(f"bad ts {str(value)[:40]!r}") from None
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
                raise Reject(f"bad ts {value[:40]!r}") from None
    else:
        raise Reject("ts missing" if value is None else f"bad ts {value!r}")
    if not math.isfinite(ts) or ts < 0 or ts > MAX_TS:
        raise Reject(f"bad ts {value!r}")
    return ts


def parse_port(value: object, name: str = "id.resp_p") -> int:
    if isinstance(value, bool):
        raise Reject(f"bad {name} {value!r}")
    if isinstance(value, str) and not (value.isascii() and value.strip().isdigit()):
        raise Reject(f"bad {name} {value[:20]!r}")
    try:
        port = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise Reject(f"bad {name} {str(value)[:20]!r}") from None
    if not 0 <= port <= 65535:
        raise Reject(f"bad {name} {value!r}")
    return port


def parse_count(value: object, name: str, unset: str = "-") -> int:
    if value is None or value == unset or value == "":
        return 0
    if isinstance(value, bool):
        raise Reject(f"bad {name} {value!r}")
    if isinstance(value, str) and not (value.isascii() and value.strip().isdigit()):
        raise Reject(f"bad {name} {value[:20]!r}")
    try:
        n = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise Reject(f"bad {name} {str(value)[:20]!r}") from None
    if not 0 <= n < 1 << 50:  # a petabyte per connection is corruption, and int64 must hold sums
        raise Reject(f"bad {name} {str(value)[:20]!r}")
    return n


_PROTOS: dict[str, str] = {}


def parse_proto(value: object) -> str:
    hit = _PROTOS.get(value) if isinstance(value, str) else None
    if hit is None:
        p = str(value).strip().lower() if value is not None else ""
        hit = p if p and p not in ("-", "unknown_transport") and len(p) < 16 else "unknown"
        if isinstance(value, str) and len(_PROTOS) < 64:
            _PROTOS[value] = hit
    return hit


def field(rec: dict, dotted: str):
    """A field in any of Zeek's spellings: `id.orig_h`, `id_orig_h`, `{"id": {"orig_h"}}`."""
    v = rec.get(dotted)
    if v is not None:
        return v
    head, _, tail = dotted.partition(".")
    if not tail:
        return None
    v = rec.get(f"{head}_{tail}")
    if v is not None:
        return v
    inner = rec.get(head)
    return inner.get(tail) if isinstance(inner, dict) else None


SKIP, CONST, TIMED = 0, 1, 2


class Endpoints:
    """Zeek addresses -> twin keys at a time, for every log of a file.

    Each distinct address string is classified once: skipped (loopback, multicast,
    broadcast, ...), a constant key (the Internet, a host without leases or whose leases
    all name the same host, an IP-keyed unknown host), or time-dependent (leases of
    several hosts), which alone costs a lease look-up per record. `seen` keeps each key's
    first and last time, for the host rows."""

    def __init__(self, index: TwinIndex, not_hosts: frozenset[str] = frozenset()) -> None:
        self.index = index
        self.not_hosts = not_hosts
        self.cache: dict[str, tuple[int, str, bool]] = {}  # raw -> (mode, key|address, internet)
        self.seen: dict[str, list[float]] = {}
        self.external: set[str] = set()  # public addresses seen: hosts keyed by their IP

    def classify(self, raw: str) -> tuple[int, str, bool]:
        info = classify_ip(raw)
        if info is None:
            raise Reject(f"bad IP {str(raw)[:60]!r}")
        if info.kind == "ignore" or info.address in self.not_hosts:
            hit = (SKIP, "", False)
        elif info.kind == "internet":
            # A public address is a host known only by its IP (contract §2); its flows are
            # also summed on the Internet node, which is what exposure paths start from.
            hit = (CONST, info.address, True)
            self.external.add(info.address)
        else:
            hosts = self.index.lease_hosts(info.address)
            if len(hosts) > 1:
                hit = (TIMED, info.address, False)
            else:
                hit = (CONST, self.index.host_for_ip(info.address) or info.address, False)
        if isinstance(raw, str):
            self.cache[raw] = hit
        return hit

    def key(self, raw: object, ts: float, *, mark: bool = True) -> tuple[str | None, bool]:
        """(twin key or None when the address names no host, whether it is the Internet);
        Reject when `raw` is no address at all."""
        hit = self.cache.get(raw) if isinstance(raw, str) else None  # type: ignore[arg-type]
        if hit is None:
            hit = self.classify(raw)  # type: ignore[arg-type]
        if hit[0] == SKIP:
            return None, False
        key = hit[1] if hit[0] == CONST else self.index.host_for_ip(hit[1], ts) or hit[1]
        if mark:
            self.mark(key, ts)
        return key, hit[2]

    def mark(self, key: str, first: float, last: float | None = None) -> None:
        last = first if last is None else last
        span = self.seen.get(key)
        if span is None:
            self.seen[key] = [first, last]
        else:
            if first < span[0]:
                span[0] = first
            if last > span[1]:
                span[1] = last

    def node_rows(self, batch: Batch) -> None:
        """Rows for every host and the Internet that the file's records touched."""
        hosts, internet = [], []
        for key, (first, last) in self.seen.items():
            row = {"key": key, "firstseen": int(first), "lastseen": int(last), "props": {}}
            if key == INTERNET_KEY:
                row["props"] = {"name": "Internet"}
                internet.append(row)
            elif key in self.external:
                row["props"] = {"name": key, "ip": key, "external": True}
                hosts.append(row)
            else:
                if key not in self.index.hosts:  # a host only Zeek knows: keyed by its IP
                    row["props"] = {"name": key, "ip": key}
                hosts.append(row)
        batch.add_nodes(INTERNET, internet)
        batch.add_nodes(COMPUTER, hosts)


class ConnAggregator:
    """Per (src key, dst key): [ports, count, bytes, first, last]."""

    def __init__(self, ep: Endpoints) -> None:
        self.ep = ep
        self.index = ep.index
        self.pairs: dict[tuple[str, str], list] = {}
        self.skipped = 0

    def add(self, ts: float, orig: str, resp: str, port: int, proto: str, nbytes: int, out: int = 0) -> None:
        """`nbytes` both directions, `out` what the originator sent (orig_bytes: an upload
        is told from a download only by it)."""
        cache = self.ep.cache
        o = cache.get(orig) or self.ep.classify(orig)
        r = cache.get(resp) or self.ep.classify(resp)
        if o[0] == SKIP or r[0] == SKIP or (o[2] and r[2]):
            self.skipped += 1
            return
        src = o[1] if o[0] == CONST else self.index.host_for_ip(o[1], ts) or o[1]
        dst = r[1] if r[0] == CONST else self.index.host_for_ip(r[1], ts) or r[1]
        if src == dst:
            self.skipped += 1
            return
        pairs = [(src, dst)]
        if o[2]:
            pairs.append((INTERNET_KEY, dst))
        elif r[2]:
            pairs.append((src, INTERNET_KEY))
        for pair in pairs:
            agg = self.pairs.get(pair)
            if agg is None:
                self.pairs[pair] = [{(port, proto)}, 1, nbytes, ts, ts, out]
                continue
            agg[0].add((port, proto))
            agg[1] += 1
            agg[2] += nbytes
            agg[5] += out
            if ts < agg[3]:
                agg[3] = ts
            elif ts > agg[4]:
                agg[4] = ts

    def add_record(self, rec: dict) -> None:
        """One conn record as a dict (JSON, or a TSV line of a mixed file), its fields in
        any of Zeek's spellings. Plain values take the short way (a JSON conn.log is
        millions of these)."""
        g = rec.get
        ts = g("ts")
        if type(ts) is not float or not 0 <= ts <= MAX_TS:
            ts = parse_ts(ts)
        orig, resp = g("id.orig_h") or field(rec, "id.orig_h"), g("id.resp_h") or field(rec, "id.resp_h")
        if not isinstance(orig, str) or not isinstance(resp, str):
            raise Reject("id.orig_h / id.resp_h missing")
        ob, rb = g("orig_bytes"), g("resp_bytes")
        out = ob if type(ob) is int and 0 <= ob < 1 << 50 else parse_count(ob, "orig_bytes")
        nbytes = out + (rb if type(rb) is int and 0 <= rb < 1 << 50 else parse_count(rb, "resp_bytes"))
        port = g("id.resp_p")
        if type(port) is not int or not 0 <= port <= 65535:
            port = parse_port(field(rec, "id.resp_p"))
        if g("resp_l2_addr") == L2_BROADCAST:
            self.ep.classify(resp)  # still a bad address if it is one
            self.skipped += 1
            return
        self.add(ts, orig, resp, port, parse_proto(rec.get("proto")), nbytes, out)

    def rows(self, batch: Batch, ctx: IngestContext, digest: str) -> None:
        for (src, dst), (_, _, _, first, last, _) in self.pairs.items():
            self.ep.mark(src, first, last)
            self.ep.mark(dst, first, last)
        if not self.pairs:
            return
        old = existing_edges(ctx.reader, "ConnectedTo", self.pairs.keys())
        rels = []
        for (src, dst), (ports, count, nbytes, first, last, out) in self.pairs.items():
            props = accumulate(
                {"ports": [f"{p}/{proto}" for p, proto in ports], "count": count, "bytes": nbytes,
                 "bytes_out": out},
                old.get((src, dst)), digest, sums=("count", "bytes", "bytes_out"), unions=("ports",),
            )
            rels.append({"src": src, "dst": dst, "firstseen": int(first), "lastseen": int(last),
                         "props": props})
        batch.add_rels(CONNECTED_TO, rels)


def conn_tsv(lines: list[str], agg: ConnAggregator, batch: Batch, name: str) -> None:
    """The fast path for a TSV file that is all conn.log: positional columns, no dicts."""
    sep = "\t"
    unset = "-"
    cols: tuple[int, int, int, int, int, int, int, int] | None = None
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
                missing = [f for f in CONN_REQUIRED if f not in names]
                if missing:
                    raise BadFile(f"line {n}: #fields lacks {', '.join(missing)}: not a conn.log")
                pos = {f: i for i, f in enumerate(names)}
                cols = (pos["ts"], pos["id.orig_h"], pos["id.resp_h"], pos["id.resp_p"],
                        pos.get("proto", -1), pos.get("orig_bytes", -1), pos.get("resp_bytes", -1),
                        pos.get("resp_l2_addr", -1))
                nfields = len(names)
            continue
        batch.records += 1
        if cols is None:
            raise BadFile(f"line {n}: data before any #fields header: not a Zeek TSV log")
        parts = line.rstrip("\r").split(sep)
        if len(parts) != nfields:
            batch.reject(name, f"line {n}", f"{len(parts)} fields, #fields names {nfields}")
            continue
        its, io, ir, iport, iproto, iob, irb, il2 = cols
        try:
            ts_raw = parts[its]
            if ts_raw == unset:
                raise Reject("ts unset")
            try:
                ts = float(ts_raw)
            except ValueError:
                ts = parse_ts(ts_raw)
            if not 0 <= ts <= MAX_TS:  # NaN fails too
                raise Reject(f"bad ts {ts_raw[:40]!r}")
            nbytes = out = 0
            if iob >= 0:
                v = parts[iob]
                out = int(v) if v.isascii() and v.isdigit() and len(v) < 16 else parse_count(v, "orig_bytes", unset)
                nbytes += out
            if irb >= 0:
                v = parts[irb]
                nbytes += int(v) if v.isascii() and v.isdigit() and len(v) < 16 else parse_count(v, "resp_bytes", unset)
            v = parts[iport]
            port = int(v) if v.isascii() and v.isdigit() and len(v) <= 5 else -1
            if not 0 <= port <= 65535:
                port = parse_port(v)
            if il2 >= 0 and parts[il2] == L2_BROADCAST:
                agg.skipped += 1
                continue
            add(ts, parts[io], parts[ir], port, parse_proto(parts[iproto]) if iproto >= 0 else "unknown",
                nbytes, out)
        except Reject as exc:
            batch.reject(name, f"line {n}", str(exc))
    if cols is None:
        raise BadFile("no #fields header: not a Zeek TSV log")
