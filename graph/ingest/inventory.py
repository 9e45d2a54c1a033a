"""`inventory.csv`: what the organisation says its assets are worth and who owns them
(contract section 3): `name,type,criticality,crown_jewel,owner,hosted_on,tags`.

It loads last (order 90) because most rows annotate things other sources created: a
host from AD or Nmap, a user, the AD domain, an SBOM application, a service. A row
whose name is already a key in the twin annotates that node; any other row creates a
node of its `type`. Names are resolved against the twin in one batched query, and
hosts (the row's own name for `host` rows, and every `hosted_on`) also by short name
and IP, since people write `web01` or `10.10.0.5` where AD wrote `WEB01.CORP.LOCAL`.

Decisions, because the contract leaves them open:
- An existing node is annotated whatever its kind and never given a second kind
  label: a `user` row naming an existing Computer annotates the Computer, it does not
  make it a User. The row's `type` only decides the label of nodes the row creates.
  (Annotations are written under the label every node already has, `Twin`.)
- Matching is exact first, then on the upper-case form (the contract's keys for AD
  objects, hosts and services are upper-case); purls and data assets match exactly.
- A short name or IP that fits several hosts is ambiguous: the row is rejected
  rather than annotating a guess. So is a second row naming the same node.
- `hosted_on` is for `data` and `service` rows (and whatever existing node such a row
  names, e.g. an SBOM application); on a `host` or `user` row it is rejected.
- Empty cells change nothing on an existing node; a new node gets crown_jewel=false.
- Nodes this file creates are cleaned up as its snapshot only when they are data
  assets: hosts, users and services are shared with other sources.
"""

from __future__ import annotations

import csv
import io
import re

from graph import catalog
from graph.identity import host_key, is_ip, normalize_ip, short_hostname, user_key
from graph.ingest.base import BadFile, Batch, Connector, IngestContext, Source
from graph.reader import TwinReader

COLUMNS = ("name", "type", "criticality", "crown_jewel", "owner", "hosted_on", "tags")
TYPES = ("host", "data", "service", "user")
CRITICALITIES = ("low", "medium", "high", "critical")

# Annotations of nodes other sources made: the shared `Twin` label adds no kind, and
# they are never this file's snapshot to delete.
ANNOTATE = catalog.node("Twin")
KIND_SCHEMAS = {
    "data": catalog.node("DataAsset", snapshot=True),
    "host": catalog.COMPUTER,
    "service": catalog.node("Service"),
    "user": catalog.USER,
}
HOSTED_ON = catalog.rel("HostedOn", snapshot=True)
HOST_LABEL = "Computer"

_SERVICE_KEY = re.compile(r"^(?P<host>.+):(?P<port>\d{1,5})/(?P<proto>tcp|udp)$", re.IGNORECASE)

_LOOKUP = """
UNWIND $items AS it
OPTIONAL MATCH (k:Twin) WHERE k.key IN it.keys
WITH it, collect(DISTINCT k) AS byKey
OPTIONAL MATCH (s:Twin) WHERE it.short IS NOT NULL AND s.shortname = it.short AND s:Computer
WITH it, byKey, collect(DISTINCT s) AS byShort
OPTIONAL MATCH (p:Twin) WHERE it.ip IS NOT NULL AND p.ip = it.ip AND p:Computer
WITH it, byKey, byShort, collect(DISTINCT p) AS byIp
OPTIONAL MATCH (:Twin {key: it.ipkey})<-[:HasIP]-(h:Computer)
WITH it, byKey, byShort, byIp, collect(DISTINCT h) AS byLease
RETURN it.id AS id,
       [n IN byKey | {key: n.key, labels: labels(n)}] AS byKey,
       [n IN byShort | {key: n.key, labels: labels(n)}] AS byShort,
       [n IN byIp + byLease | {key: n.key, labels: labels(n)}] AS byIp
"""


class RowError(ValueError):
    """One row cannot be used; the message is its reason."""


def _header(row: list[str]) -> tuple[str, ...]:
    cells = [c.strip().lower() for c in row]
    if cells:
        cells[0] = cells[0].lstrip("\ufeff")
    return tuple(cells)


def sniff(name: str, head: str) -> bool:
    first = head.lstrip("\ufeff").splitlines()[0] if head.strip() else ""
    try:
        row = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        return False
    return _header(row) == COLUMNS


def _service_key(name: str) -> str | None:
    m = _SERVICE_KEY.match(name)
    if not m:
        return None
    port = int(m.group("port"))
    if not 1 <= port <= 65535:
        return None
    return f"{host_key(m.group('host'))}:{port}/{m.group('proto').upper()}"


def _parse_row(cells: list[str]) -> dict:
    if len(cells) != len(COLUMNS):
        raise RowError(f"expected {len(COLUMNS)} fields ({','.join(COLUMNS)}), got {len(cells)}")
    name, kind, crit, crown, owner, hosted_on, tags = (c.strip() for c in cells)
    if not name:
        raise RowError("missing name")
    kind = kind.lower()
    if kind not in TYPES:
        raise RowError(f"type {kind!r} is not one of {', '.join(TYPES)}")
    crit = crit.lower()
    if crit and crit not in CRITICALITIES:
        raise RowError(f"criticality {crit!r} is not one of {', '.join(CRITICALITIES)}")
    crown_value: bool | None = None
    if crown:
        if crown.lower() not in ("true", "false"):
            raise RowError(f"crown_jewel {crown!r} must be true or false")
        crown_value = crown.lower() == "true"
    if hosted_on and kind in ("host", "user"):
        raise RowError(f"hosted_on is for data and service rows, not a {kind} row")
    tag_list: list[str] = []
    for t in tags.split(";"):
        t = t.strip()
        if t and t not in tag_list:
            tag_list.append(t)
    return {
        "name": name,
        "type": kind,
        "criticality": crit or None,
        "crown_jewel": crown_value,
        "owner": owner or None,
        "hosted_on": hosted_on or None,
        "tags": tag_list,
    }


def _host_probe(value: str) -> dict:
    """The look-up forms of something a person calls a host."""
    text = value.strip().rstrip(".")
    probe: dict = {"keys": sorted({text, host_key(text)}), "short": None, "ip": None, "ipkey": None}
    if is_ip(text):
        ip = normalize_ip(text)
        probe.update(ip=ip, ipkey=f"IP:{ip}", keys=sorted({text, ip}))
    elif "." not in text:
        probe["short"] = short_hostname(text)
    return probe


def _name_probe(row: dict) -> dict:
    name = row["name"]
    keys = {name, name.upper()}
    if row["type"] == "host":
        probe = _host_probe(name)
        probe["keys"] = sorted(keys | set(probe["keys"]))
        return probe
    if row["type"] == "service" and (skey := _service_key(name)):
        keys.add(skey)
    if row["type"] == "user" and (ukey := user_key(name, None)):
        keys.add(ukey)
    return {"keys": sorted(keys), "short": None, "ip": None, "ipkey": None}


def _lookup(reader: TwinReader, probes: dict[str, dict]) -> dict[str, dict]:
    if not reader or not probes:
        return {}
    items = [{"id": pid, **p} for pid, p in probes.items()]
    records = reader.rows(_LOOKUP, items=items)
    return {r["id"]: {"byKey": r["byKey"], "byShort": r["byShort"], "byIp": r["byIp"]} for r in records}


def _unique(nodes: list[dict], what: str) -> dict | None:
    distinct = {n["key"]: n for n in nodes}
    if len(distinct) > 1:
        raise RowError(f"{what} is ambiguous: it matches {', '.join(sorted(distinct))}")
    return next(iter(distinct.values()), None)


def _resolve_existing(row: dict, found: dict | None) -> dict | None:
    """The node a row names, if the twin has it: exact key, then upper-case/normal forms,
    then (host rows) short name or IP."""
    if not found:
        return None
    by_key = found["byKey"]
    exact = [n for n in by_key if n["key"] == row["name"]]
    if exact:
        return exact[0]
    node = _unique(by_key, f"name {row['name']!r}")
    if node or row["type"] != "host":
        return node
    return _unique(found["byShort"], f"host {row['name']!r}") or _unique(found["byIp"], f"host {row['name']!r}")


def _new_key(row: dict) -> str:
    name = row["name"]
    if row["type"] == "host":
        return host_key(name)
    if row["type"] == "user":
        return user_key(name, None) or name.upper()
    if row["type"] == "service":
        return _service_key(name) or name
    return name


def _annotations(row: dict) -> dict:
    props = {"criticality": row["criticality"], "crown_jewel": row["crown_jewel"], "owner": row["owner"]}
    if row["tags"]:
        props["tags"] = row["tags"]
    return {k: v for k, v in props.items() if v is not None}


def _new_props(row: dict, key: str) -> dict:
    props = {"name": key if row["type"] in ("host", "user") else row["name"], **_annotations(row)}
    props.setdefault("crown_jewel", False)
    if row["type"] == "host":
        if is_ip(key):
            props.update(ip=key, ips=[key])
        else:
            props["shortname"] = short_hostname(key)
    if row["type"] == "service" and (m := _SERVICE_KEY.match(row["name"])):
        props.update(port=int(m.group("port")), protocol=m.group("proto").lower())
    return props


def _read_rows(source: Source, batch: Batch) -> list[tuple[int, dict]]:
    text = source.text()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise BadFile(f"line 1: not CSV ({exc})") from None
    if header is None or _header(header) != COLUMNS:
        raise BadFile(f"not an inventory.csv: the header must be {','.join(COLUMNS)}")
    rows: list[tuple[int, dict]] = []
    end = reader.line_num
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise BadFile(f"line {reader.line_num}: not CSV ({exc})") from None
        end = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        batch.records += 1
        try:
            rows.append((start, _parse_row(cells)))
        except RowError as exc:
            batch.reject(source.name, f"line {start}", str(exc))
    return rows


def transform(source: Source, ctx: IngestContext) -> Batch:
    batch = Batch()
    rows = _read_rows(source, batch)

    probes: dict[str, dict] = {}
    for line, row in rows:
        probes[f"n{line}"] = _name_probe(row)
        if row["hosted_on"]:
            probes[f"h{line}"] = _host_probe(row["hosted_on"])
    found = _lookup(ctx.reader, probes)

    # Pass 1: what each row names (existing node, or the node it creates).
    targets: list[tuple[int, dict, str, bool]] = []  # line, row, key, exists
    seen: dict[str, int] = {}
    new_hosts: dict[str, str] = {}  # look-up form -> key, for hosted_on within this file
    for line, row in rows:
        try:
            node = _resolve_existing(row, found.get(f"n{line}"))
            key = node["key"] if node else _new_key(row)
            if key in seen:
                raise RowError(f"names the same node ({key}) as line {seen[key]}")
        except RowError as exc:
            batch.reject(source.name, f"line {line}", str(exc))
            continue
        seen[key] = line
        targets.append((line, row, key, node is not None))
        if row["type"] == "host" or (node and HOST_LABEL in node["labels"]):
            for form in {key, row["name"].upper(), short_hostname(key) if not is_ip(key) else key}:
                new_hosts.setdefault(form, key)

    # Pass 2: placement, then rows by kind.
    annotate: list[dict] = []
    created: dict[str, list[dict]] = {k: [] for k in KIND_SCHEMAS}
    hosted: list[dict] = []
    for line, row, key, exists in targets:
        try:
            host = _resolve_host(row["hosted_on"], found.get(f"h{line}"), new_hosts) if row["hosted_on"] else None
            if host == key:
                raise RowError(f"hosted_on {row['hosted_on']!r} is the row's own node")
        except RowError as exc:
            batch.reject(source.name, f"line {line}", str(exc))
            continue
        if exists:
            annotate.append({"key": key, "props": _annotations(row)})
        else:
            created[row["type"]].append({"key": key, "props": _new_props(row, key)})
        if host:
            hosted.append({"src": key, "dst": host})

    for kind, schema in KIND_SCHEMAS.items():
        batch.add_nodes(schema, created[kind])
    batch.add_nodes(ANNOTATE, [r for r in annotate if r["props"]])
    batch.add_rels(HOSTED_ON, hosted)
    return batch


def _resolve_host(value: str, found: dict | None, in_file: dict[str, str]) -> str:
    what = f"hosted_on {value!r}"
    if found:
        by_key = found["byKey"]
        node = _unique(by_key, what)
        if node is None:
            node = _unique(found["byShort"], what) or _unique(found["byIp"], what)
        if node is not None:
            if HOST_LABEL not in node["labels"]:
                kinds = [lbl for lbl in node["labels"] if lbl not in ("Twin", "Base")]
                raise RowError(f"{what} is a {'/'.join(kinds) or 'node'}, not a host")
            return node["key"]
    probe = _host_probe(value)
    for form in (*probe["keys"], probe["short"], probe["ip"]):
        if form and form in in_file:
            return in_file[form]
    raise RowError(f"{what}: no such host in the twin or in this file")


CONNECTOR = Connector(
    name="inventory",
    sniff=sniff,
    transform=transform,
    order=90,
)
