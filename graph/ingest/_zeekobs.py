"""Zeek's application logs -> what an investigation asks of the network.

- dns: an answer says which address a name had at that time. Internal A/AAAA answers and
  PTR answers become the same time-aware `(Computer)-[:HasIP {firstseen, lastseen}]->(IP)`
  leases that Nmap writes (lastseen = answer time + TTL, at most a day), so connections,
  events and alerts that know only an address land on the named host. Not every name is a
  host: domain apexes (`corp.local` answers with the DCs), AD's service names (`_ldap._tcp`,
  `DomainDnsZones`) and a second name for an address that a named host holds by lease at
  that time (an alias) are skipped; a name the twin does not know becomes a `Computer`
  keyed by its FQDN.
- kerberos, smb_mapping, smb_files, dce_rpc, files, notice: one event per observation in
  the event store (graph/events; files.log's TLS certificates excepted: the TlsTo edge
  keeps their subjects), of kind `KerberosEvent`, `SmbEvent`, `RpcEvent`, `FileEvent`,
  `NoticeEvent`, tied as Windows events are (`OnHost` the responder - the KDC, the file server, the RPC server,
  the host a file went to -, `FromHost` the originator, `ByUser` the Kerberos client when
  the twin has that account), so they corroborate the Windows events of the same hosts.
  Repeats within one connection (`uid`) collapse into one event with a `count`: the same
  RPC operation, share or file action; Kerberos requests and notices stay one per record.
- http, ssl: aggregated per host pair like `ConnectedTo`: `HttpTo` and `TlsTo` edges with
  counts and the distinct methods, Host headers, URIs, user agents, status codes / SNI
  names, versions, ciphers, JA3, certificate subjects, added up over files by digest.
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import UTC, datetime

from graph import catalog
from graph.catalog import COMPUTER, HAS_IP, IP
from graph.events.store import event_row
from graph.identity import is_ip, short_hostname
from graph.ingest._live import accumulate, existing_edges
from graph.ingest._vulnshared import looks_like_hostname
from graph.ingest._zeekconn import Endpoints, Reject, parse_port, parse_ts
from graph.ingest.base import Batch, IngestContext
from graph.resolve import INTERNET_KEY, Lease, TwinIndex, classify_ip

# The edges an event carries to what the twin holds, named as Windows events name them
# (graph.ingest.winevents), created with the event (NodeSchema.links).
EVENT_LINKS = (catalog.rel("OnHost"), catalog.rel("FromHost"), catalog.rel("ByUser"))
EVENT_LABELS = {"kerberos": "KerberosEvent", "smb_mapping": "SmbEvent", "smb_files": "SmbEvent",
                "dce_rpc": "RpcEvent", "files": "FileEvent", "notice": "NoticeEvent"}
EVENT_SCHEMAS = {label: catalog.node("Event", label, links=EVENT_LINKS)
                 for label in sorted(set(EVENT_LABELS.values()))}
HTTP_TO = catalog.rel("HttpTo")
TLS_TO = catalog.rel("TlsTo")

MAX_TTL = 86400
UNION_CAP = 256  # distinct values kept per list property of an HttpTo / TlsTo edge
_NOT_HOST_LABELS = frozenset({"domaindnszones", "forestdnszones", "wpad", "isatap"})
_A_TYPES = frozenset({"1", "28", "A", "AAAA"})
_PTR_TYPES = frozenset({"12", "PTR"})
_CERT_MIMES = ("application/x-x509", "application/pkix")


def text(v: object) -> str | None:
    """A field's value as text; None when Zeek left it unset or empty."""
    if v is None or isinstance(v, (list, dict, bool)):
        return None
    s = str(v).strip()
    return s if s and s not in ("-", "(empty)") else None


def texts(v: object) -> list[str]:
    """A set/vector field as a list of texts (JSON arrays; TSV cells are split already)."""
    if isinstance(v, list):
        return [t for t in (text(x) for x in v) if t]
    t = text(v)
    return [t] if t else []


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _digest(*parts: object) -> str:
    return hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=6).hexdigest()


def _num(v: object) -> float | None:
    if isinstance(v, bool):
        return None
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return x if x == x and abs(x) < 1e15 else None


# --------------------------------------------------------------------------- dns


def _ptr_address(query: str) -> str | None:
    q = query.lower().rstrip(".")
    try:
        if q.endswith(".in-addr.arpa"):
            parts = q[: -len(".in-addr.arpa")].split(".")
            return str(ipaddress.IPv4Address(".".join(reversed(parts)))) if len(parts) == 4 else None
        if q.endswith(".ip6.arpa"):
            nib = q[: -len(".ip6.arpa")].split(".")
            if len(nib) != 32:
                return None
            h = "".join(reversed(nib))
            return str(ipaddress.IPv6Address(":".join(h[i:i + 4] for i in range(0, 32, 4))))
    except ValueError:
        return None
    return None


def _host_name(name: str) -> str | None:
    """A DNS name that can name a host: dotted, hostname-shaped, not one of AD's service names."""
    n = name.strip().rstrip(".").lower()
    if "." not in n or not looks_like_hostname(n) or is_ip(n):
        return None
    labels = n.split(".")
    if any(lb.startswith("_") for lb in labels) or labels[0] in _NOT_HOST_LABELS:
        return None
    return n


class DnsLeases:
    """(name, address) pairs from DNS answers, each with when it was answered."""

    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str], list[float]] = {}  # -> [first ts, last ts, last ts + ttl]

    def add(self, rec: dict) -> None:
        ts = parse_ts(rec.get("ts"))
        query = text(rec.get("query"))
        rcode = text(rec.get("rcode_name")) or text(rec.get("rcode"))
        if query is None or rcode not in (None, "0", "NOERROR"):
            return
        answers = texts(rec.get("answers"))
        ttls = [_num(t) for t in texts(rec.get("TTLs"))]
        qtype = text(rec.get("qtype_name")) or text(rec.get("qtype"))
        found: list[tuple[str, str, float]] = []
        if qtype in _PTR_TYPES or (qtype is None and query.lower().endswith(".arpa")):
            address = _ptr_address(query)
            for i, a in enumerate(answers):
                if address and not is_ip(a):
                    found.append((a, address, ttls[i] if i < len(ttls) and ttls[i] else 0.0))
        elif qtype is None or qtype in _A_TYPES:
            names = [a for a in answers if not is_ip(a)]
            canonical = names[-1] if names else query  # the end of a CNAME chain
            for i, a in enumerate(answers):
                if is_ip(a):
                    found.append((canonical, a, ttls[i] if i < len(ttls) and ttls[i] else 0.0))
        for name, address, ttl in found:
            host = _host_name(name)
            info = classify_ip(address)
            if host is None or info is None or info.kind != "internal":
                continue
            until = ts + max(0.0, min(ttl, MAX_TTL))
            span = self.pairs.get((host, info.address))
            if span is None:
                self.pairs[(host, info.address)] = [ts, ts, until]
            else:
                span[0], span[1], span[2] = min(span[0], ts), max(span[1], ts), max(span[2], until)

    def rows(self, batch: Batch, index: TwinIndex, not_hosts: frozenset[str]) -> int:
        """Host, IP and lease rows for the answers that name hosts; the index (this file's
        copy) learns them, so the file's other records resolve through them. Returns the
        number of leases."""
        if not self.pairs:
            return 0
        names = {n for n, _ in self.pairs}
        parents = {".".join(n.split(".")[i:]) for n in names for i in range(1, n.count(".") + 1)}
        hosts: dict[str, dict] = {}
        ips: dict[str, dict] = {}
        leases: dict[tuple[str, str], dict] = {}
        for (name, address), (first, last, until) in sorted(self.pairs.items()):
            if name in parents or name.upper() in index.domains or address in not_hosts:
                continue
            found = index.host_key(name)
            if found is None:
                continue
            key, known = found
            if not known and _held_by_named_host(index, address, first, until, key):
                continue  # a second name of a host the twin knows: an alias
            row = hosts.setdefault(key, {"key": key, "firstseen": int(first), "lastseen": int(last),
                                         "props": {} if known else {"name": key,
                                                                    "shortname": short_hostname(key)}})
            row["firstseen"], row["lastseen"] = min(row["firstseen"], int(first)), max(row["lastseen"], int(last))
            ipk = f"IP:{address}"
            ips[ipk] = {"key": ipk, "props": {"address": address, "version": 6 if ":" in address else 4},
                        "firstseen": int(first), "lastseen": int(until)}
            lease = leases.setdefault((key, ipk), {"src": key, "dst": ipk, "firstseen": int(first),
                                                   "lastseen": int(until)})
            lease["firstseen"], lease["lastseen"] = min(lease["firstseen"], int(first)), max(lease["lastseen"], int(until))
        for (key, ipk), lease in leases.items():
            _teach(index, key, ipk[3:], lease["firstseen"], lease["lastseen"])
        batch.add_nodes(COMPUTER, list(hosts.values()))
        batch.add_nodes(IP, list(ips.values()))
        batch.add_rels(HAS_IP, list(leases.values()))
        return len(leases)


def _held_by_named_host(index: TwinIndex, address: str, first: float, last: float, key: str) -> bool:
    for lease in index.leases.get(address, ()):
        if lease.host != key and not is_ip(lease.host) and lease.first <= last and first <= lease.last:
            return True
    other = index.static_ips.get(address)
    return not index.leases.get(address) and bool(other) and other != key and not is_ip(other)


def _teach(index: TwinIndex, host: str, address: str, first: int, last: int) -> None:
    """Add a host and a lease to one file's index copy without touching the lists it
    shares with the run's index (TwinIndex.copy is shallow below the top-level maps)."""
    if host not in index.hosts:
        index.hosts.add(host)
        index.host_lastseen[host] = last
        short = short_hostname(host)
        index.host_by_short[short] = [*index.host_by_short.get(short, []), host]
    index.leases[address] = sorted([*index.leases.get(address, []), Lease(first, last, host)],
                                   key=lambda x: (x.first, x.last))


# --------------------------------------------------------------------------- events and edges


class Observations:
    """Events and aggregated HTTP / TLS edges of one file."""

    def __init__(self, ep: Endpoints, index: TwinIndex) -> None:
        self.ep = ep
        self.index = index
        self.events: dict[str, dict[str, dict]] = {}  # label -> key -> row
        self.edges: dict[str, dict[tuple[str, str], dict]] = {"HttpTo": {}, "TlsTo": {}}
        self._accounts: dict[tuple[str, str | None], str | None] = {}

    # ------------------------------------------------------------------ helpers

    def _ends(self, rec: dict, get, ts: float) -> tuple[dict, str | None, str | None]:
        """Connection props and the (orig, resp) host keys of a record with `id.*`."""
        orig, resp = get(rec, "id.orig_h"), get(rec, "id.resp_h")
        if not isinstance(orig, str) or not isinstance(resp, str):
            raise Reject("id.orig_h / id.resp_h missing")
        okey, _ = self.ep.key(orig, ts)
        rkey, _ = self.ep.key(resp, ts)
        props = {"ip": classify_ip(orig).address, "dst_ip": classify_ip(resp).address}  # type: ignore[union-attr]
        for name, field in (("src_port", "id.orig_p"), ("dst_port", "id.resp_p")):
            v = get(rec, field)
            if v not in (None, "-", ""):
                props[name] = parse_port(v, field)
        return props, okey, rkey

    def _event(self, log: str, ident: tuple, ts: float, props: dict, on: str | None,
               src: str | None, user: str | None = None) -> None:
        label = EVENT_LABELS[log]
        uid = props.get("uid") or "-"
        key = f"ZEEK:{log}:{uid}:{_digest(*ident)}"
        rows = self.events.setdefault(label, {})
        row = rows.get(key)
        if row is not None:  # the same observation again within the connection
            row["props"]["count"] += 1
            row["firstseen"], row["lastseen"] = min(row["firstseen"], int(ts)), max(row["lastseen"], int(ts))
            row["props"]["timestamp"] = row["firstseen"]
            row["props"]["last_timestamp"] = row["lastseen"]
            return
        links = []
        if on and on != INTERNET_KEY:
            links.append(("OnHost", on))
        if src and src != INTERNET_KEY and src != on:
            links.append(("FromHost", src))
        if user:
            links.append(("ByUser", user))
        props.update({"timestamp": int(ts), "last_timestamp": int(ts), "time": _iso(ts),
                      "zeek_log": log, "count": 1})
        rows[key] = {"key": key, "firstseen": int(ts), "lastseen": int(ts), "props": props, "links": links}

    def _account(self, client: str | None) -> str | None:
        """The twin's account for a Kerberos client `user/REALM` (never created here)."""
        if not client:
            return None
        user, _, realm = client.rpartition("/")
        if not user:
            user, realm = client, ""
        if "/" in user:  # a service principal, not an account name
            return None
        ck = (user, realm or None)
        if ck not in self._accounts:
            acct = self.index.resolve_account(user, realm or None, None)
            self._accounts[ck] = acct.key if acct is not None and acct.exists else None
        return self._accounts[ck]

    # ------------------------------------------------------------------ logs

    def add(self, log: str, rec: dict, get) -> None:
        ts = parse_ts(rec.get("ts"))
        getattr(self, "_" + log)(rec, get, ts)

    def _kerberos(self, rec: dict, get, ts: float) -> None:
        props, okey, rkey = self._ends(rec, get, ts)
        client, service = text(rec.get("client")), text(rec.get("service"))
        success = rec.get("success")
        props.update({
            "uid": text(rec.get("uid")), "request_type": text(rec.get("request_type")),
            "client": client, "subject_user": client, "service_name": service,
            "success": success if isinstance(success, bool) else {"T": True, "F": False}.get(text(success) or ""),
            "error_msg": text(rec.get("error_msg")), "ticket_encryption": text(rec.get("cipher")),
            "forwardable": rec.get("forwardable") if isinstance(rec.get("forwardable"), bool) else None,
        })
        ident = (ts, props["request_type"], client, service, props["error_msg"])
        self._event("kerberos", ident, ts, props, rkey, okey, self._account(client))

    def _smb_mapping(self, rec: dict, get, ts: float) -> None:
        props, okey, rkey = self._ends(rec, get, ts)
        path = text(rec.get("path"))
        props.update({"uid": text(rec.get("uid")), "share_name": path,
                      "share_type": text(rec.get("share_type")), "service": text(rec.get("service")),
                      "native_file_system": text(rec.get("native_file_system"))})
        self._event("smb_mapping", ("map", path, props["share_type"]), ts, props, rkey, okey)

    def _smb_files(self, rec: dict, get, ts: float) -> None:
        props, okey, rkey = self._ends(rec, get, ts)
        path, name, action = text(rec.get("path")), text(rec.get("name")), text(rec.get("action"))
        size = _num(rec.get("size"))
        props.update({"uid": text(rec.get("uid")), "share_name": path, "object_name": name,
                      "action": action, "prev_name": text(rec.get("prev_name")),
                      "size": int(size) if size is not None and size >= 0 else None,
                      "fuid": text(rec.get("fuid"))})
        self._event("smb_files", ("file", action, path, name), ts, props, rkey, okey)

    def _dce_rpc(self, rec: dict, get, ts: float) -> None:
        props, okey, rkey = self._ends(rec, get, ts)
        endpoint, operation = text(rec.get("endpoint")), text(rec.get("operation"))
        props.update({"uid": text(rec.get("uid")), "endpoint": endpoint, "operation": operation,
                      "named_pipe": text(rec.get("named_pipe")),
                      "object_name": f"{endpoint or '?'}::{operation or '?'}"})
        self._event("dce_rpc", (endpoint, operation, props["named_pipe"]), ts, props, rkey, okey)

    def _files(self, rec: dict, get, ts: float) -> None:
        fuid = text(rec.get("fuid"))
        if fuid is None:
            raise Reject("fuid missing")
        mime = text(rec.get("mime_type")) or ""
        if text(rec.get("source")) == "SSL" or mime.startswith(_CERT_MIMES):
            return  # a TLS certificate, not a transferred file: TlsTo keeps its subject
        tx, rx = texts(rec.get("tx_hosts")), texts(rec.get("rx_hosts"))
        if not tx and not rx and isinstance(get(rec, "id.orig_h"), str):  # Zeek 5+: id + is_orig
            orig, resp = get(rec, "id.orig_h"), get(rec, "id.resp_h")
            sent_by_orig = rec.get("is_orig") in (True, "T")
            tx, rx = ([orig], [resp]) if sent_by_orig else ([resp], [orig])
        src = self.ep.key(tx[0], ts)[0] if tx else None
        dst = self.ep.key(rx[0], ts)[0] if rx else None
        hashes = [h.lower() for h in (text(rec.get(a)) for a in ("md5", "sha1", "sha256")) if h]
        size = _num(rec.get("total_bytes")) or _num(rec.get("seen_bytes"))
        name = text(rec.get("filename"))
        props = {"uid": fuid, "fuid": fuid, "ip": classify_ip(tx[0]).address if tx and classify_ip(tx[0]) else None,
                 "dst_ip": classify_ip(rx[0]).address if rx and classify_ip(rx[0]) else None,
                 "filename": name, "object_name": name, "mime_type": text(rec.get("mime_type")),
                 "file_source": text(rec.get("source")), "hashes": hashes or None,
                 "size": int(size) if size is not None and size >= 0 else None,
                 "conn_uids": texts(rec.get("conn_uids")) or ([text(rec.get("uid"))] if text(rec.get("uid")) else None)}
        self._event("files", (dst,), ts, props, dst, src)

    def _notice(self, rec: dict, get, ts: float) -> None:
        note = text(rec.get("note"))
        if note is None:
            raise Reject("note missing")
        src_raw = get(rec, "id.orig_h") if isinstance(get(rec, "id.orig_h"), str) else text(rec.get("src"))
        dst_raw = get(rec, "id.resp_h") if isinstance(get(rec, "id.resp_h"), str) else text(rec.get("dst"))
        src = self.ep.key(src_raw, ts)[0] if src_raw else None
        dst = self.ep.key(dst_raw, ts)[0] if dst_raw else None
        msg = text(rec.get("msg"))
        props = {"uid": text(rec.get("uid")) or text(rec.get("fuid")), "note": note, "title": note, "msg": msg,
                 "sub": text(rec.get("sub")), "ip": classify_ip(src_raw).address if src_raw and classify_ip(src_raw) else None,
                 "dst_ip": classify_ip(dst_raw).address if dst_raw and classify_ip(dst_raw) else None,
                 "actions": texts(rec.get("actions")) or None}
        on = dst if dst and dst != INTERNET_KEY else src
        self._event("notice", (ts, note, msg, src_raw, dst_raw), ts, props, on, src)

    def _pair(self, kind: str, rec: dict, get, ts: float) -> dict | None:
        orig, resp = get(rec, "id.orig_h"), get(rec, "id.resp_h")
        if not isinstance(orig, str) or not isinstance(resp, str):
            raise Reject("id.orig_h / id.resp_h missing")
        src, s_net = self.ep.key(orig, ts, mark=False)
        dst, d_net = self.ep.key(resp, ts, mark=False)
        if src is None or dst is None or (s_net and d_net) or src == dst:
            return None
        port = get(rec, "id.resp_p")
        agg = self.edges[kind].get((src, dst))
        if agg is None:
            agg = self.edges[kind][(src, dst)] = {"count": 0, "first": ts, "last": ts, "ports": set()}
        agg["count"] += 1
        agg["first"], agg["last"] = min(agg["first"], ts), max(agg["last"], ts)
        if port not in (None, "-", ""):
            agg["ports"].add(f"{parse_port(port)}/tcp")
        return agg

    def _union(self, agg: dict, name: str, *values: object) -> None:
        bucket = agg.setdefault(name, set())
        for v in values:
            if v is not None and len(bucket) < 4 * UNION_CAP:
                bucket.add(v)

    def _http(self, rec: dict, get, ts: float) -> None:
        agg = self._pair("HttpTo", rec, get, ts)
        if agg is None:
            return
        status = _num(rec.get("status_code"))
        self._union(agg, "methods", text(rec.get("method")))
        self._union(agg, "hosts", text(rec.get("host")))
        self._union(agg, "uris", (text(rec.get("uri")) or "")[:512] or None)
        self._union(agg, "user_agents", (text(rec.get("user_agent")) or "")[:512] or None)
        self._union(agg, "status_codes", int(status) if status is not None else None)
        self._union(agg, "mime_types", *texts(rec.get("resp_mime_types")), *texts(rec.get("orig_mime_types")))

    def _ssl(self, rec: dict, get, ts: float) -> None:
        agg = self._pair("TlsTo", rec, get, ts)
        if agg is None:
            return
        self._union(agg, "server_names", text(rec.get("server_name")))
        self._union(agg, "versions", text(rec.get("version")))
        self._union(agg, "ciphers", text(rec.get("cipher")))
        self._union(agg, "ja3", text(rec.get("ja3")))
        self._union(agg, "ja3s", text(rec.get("ja3s")))
        self._union(agg, "subjects", (text(rec.get("subject")) or "")[:512] or None)
        self._union(agg, "issuers", (text(rec.get("issuer")) or "")[:512] or None)
        self._union(agg, "validation_status", text(rec.get("validation_status")))
        if rec.get("established") in (True, "T"):
            agg["established"] = agg.get("established", 0) + 1

    # ------------------------------------------------------------------ rows

    def event_rows(self, batch: Batch) -> None:
        """The observations, for the event store (their links name hosts by key)."""
        for label, rows in sorted(self.events.items()):
            labels = EVENT_SCHEMAS[label].labels
            batch.add_events([event_row(r["key"], r.get("props") or {}, r.get("links") or (), labels, None)
                              for r in rows.values()])

    def edge_rows(self, batch: Batch, ctx: IngestContext, digest: str) -> None:
        for kind, schema in (("HttpTo", HTTP_TO), ("TlsTo", TLS_TO)):
            pairs = self.edges[kind]
            if not pairs:
                continue
            old = existing_edges(ctx.reader, kind, pairs.keys())
            rels = []
            for (src, dst), agg in pairs.items():
                self.ep.mark(src, agg["first"], agg["last"])
                self.ep.mark(dst, agg["first"], agg["last"])
                lists = sorted(k for k in agg if isinstance(agg[k], set))
                fresh = {k: sorted(agg[k], key=str) for k in lists}
                fresh["count"] = agg["count"]
                sums = ("count",)
                if "established" in agg:
                    fresh["established"] = agg["established"]
                    sums = ("count", "established")
                props = accumulate(fresh, old.get((src, dst)), digest, sums=sums, unions=tuple(lists),
                                   cap=UNION_CAP)
                rels.append({"src": src, "dst": dst, "firstseen": int(agg["first"]),
                             "lastseen": int(agg["last"]), "props": props})
            batch.add_rels(schema, rels)
