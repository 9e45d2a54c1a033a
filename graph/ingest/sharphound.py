"""SharpHound / BloodHound CE collection JSON (v4 to v6) into the twin, as BloodHound CE reads it.

One file per object kind, alone or in SharpHound's zip; the unit of rejection is the record.
Keyed by the contract's `key` (not CE's objectid) so other sources land on the same nodes, while
edges find their ends by objectid. Edges to objects no file of the run defines wait in the run's
SharpHoundRun state until post_load, which re-keys and creates placeholders once the whole run is
known. The mapping decisions (identity, duplicates, placeholders, edges, tier 0, properties,
performance) are graph/MODEL.md's "Active Directory"; DCSync and AD CS chains are graph/derive's.
"""

from __future__ import annotations

import gc
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from graph import catalog
from graph.ingest._adrecords import (
    ACE_EXPLICIT,
    ACE_INHERITED,
    BASE,
    KINDS,
    LABELS,
    Invalid,
    Record,
    domain_of,
    finish_props,
    fix_surrogates,
    is_tier0,
    label_of,
    read_record,
    typename,
    wanted_key,
)
from graph.ingest._jsonhead import Large, json_head
from graph.ingest.base import BadFile, Batch, Connector, IngestContext, Source
from graph.loader import TwinWriter
from graph.model import RelSchema, check_identifier
from graph.reader import TwinReader
from graph.schema import TWIN_LABEL

SOURCE = "sharphound"

# An AD object keeps its whole `Properties` block, as BloodHound CE does (open kinds).
NODE_SCHEMAS = {label: catalog.node(label, BASE, snapshot=True, open=True) for label in LABELS}
# Placeholders are not a claim that the file describes their scope: never snapshot-cleaned.
PLACEHOLDER_SCHEMAS = {label: catalog.node(label, BASE, open=True) for label in LABELS}
PLACEHOLDER_SCHEMAS[BASE] = catalog.node(BASE, open=True)


def rel_schema(rel_type: str) -> RelSchema:
    """Edges find their ends by objectid, since the data references by SID/GUID; any
    RightName that is an identifier is an edge type (graph.catalog.rel's `ace`)."""
    return catalog.rel(rel_type, snapshot=True, by="objectid", ace=True)


_LONE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_META_TYPE = re.compile(r'"meta"\s*:\s*\{[^{}]*?"type"\s*:\s*"([A-Za-z]+)"', re.S)
_NAME_KIND = re.compile(r"(?:^|[_\-. ])(" + "|".join(KINDS) + r")\.json$", re.I)
_LOOKUP_CHUNK = 20_000


# --------------------------------------------------------------------------- sniff


def _kind_from_name(name: str) -> str | None:
    m = _NAME_KIND.search(name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    return m.group(1).lower() if m else None


def sniff(name: str, head: str) -> bool:
    """SharpHound writes `meta` after `data`, so in a large file only the records are in the
    head: `ObjectIdentifier` with `Properties`/`Aces` is theirs alone (AzureHound uses `id`)."""
    text = head.lstrip("\ufeff \t\r\n")
    if not text.startswith("{"):
        return False
    h = json_head(head)  # the top-level keys, read past the head (graph.ingest._jsonhead)
    if h is not None and h.kind == "object":
        meta = h.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("type"), str):
            return meta["type"].lower() in KINDS
        data = h.get("data")
        first = data.first_keys if isinstance(data, Large) else (
            tuple(data[0]) if isinstance(data, list) and data and isinstance(data[0], dict) else ())
        if "ObjectIdentifier" in first and ("Properties" in first or "Aces" in first):
            return True
    m = _META_TYPE.search(text)
    if m:
        return m.group(1).lower() in KINDS
    if '"data"' not in text:
        return False
    if '"ObjectIdentifier"' in text and ('"Properties"' in text or '"Aces"' in text):
        return True
    return _kind_from_name(name) is not None and text.replace(" ", "").startswith('{"data":')


# --------------------------------------------------------------------------- the file


@dataclass
class _Node:
    label: str
    props: dict
    weak: bool = False  # known only from another object's record (a trust's target domain)


@dataclass
class _Parsed:
    file: str
    kind: str
    label: str
    batch: Batch
    nodes: dict[str, _Node] = field(default_factory=dict)
    rels: dict[str, dict[tuple[str, str], dict]] = field(default_factory=lambda: defaultdict(dict))
    refs: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


def _merge_props(into: dict, new: dict) -> None:
    """`into` keeps its values; what it lacks is filled from the other copy."""
    for k, v in new.items():
        if into.get(k) is None:
            into[k] = v


def _commit(parsed: _Parsed, r: Record, props: dict, i: int) -> None:
    node = parsed.nodes.get(r.oid)
    if node is None:
        parsed.nodes[r.oid] = _Node(parsed.label, props)
    elif node.weak or len(props) > len(node.props):
        _merge_props(props, node.props)  # the fuller copy speaks, whichever came first
        parsed.nodes[r.oid] = _Node(parsed.label, props)
    else:
        _merge_props(node.props, props)
    rels = parsed.rels
    for rel_type, src, dst, rprops in r.rels:
        bucket = rels[rel_type]
        old = bucket.get((src, dst))
        if old is None or (old is ACE_INHERITED and rprops is ACE_EXPLICIT):
            bucket[(src, dst)] = rprops
    refs = parsed.refs
    for oid, otype, name in r.refs:
        known = refs.get(oid)
        if known is None or (known[0] is None and otype):
            refs[oid] = (label_of(otype), name)
    for oid, label, wprops in r.weak_nodes:
        if oid not in parsed.nodes:
            parsed.nodes[oid] = _Node(label, wprops, weak=True)
    for path, reason in r.skipped:
        parsed.batch.reject(parsed.file, f"data[{i}].{path}", reason)


# --------------------------------------------------------------------------- twin look-up


def _lookup(reader: TwinReader, oids: Iterable[str]) -> dict[str, tuple[str, bool]]:
    """Objectid -> (key, is placeholder) of what the twin already holds; one indexed query per
    20k ids. Where two nodes share an objectid, the real one wins."""
    found: dict[str, tuple[str, bool]] = {}
    if not reader:
        return found
    ids = list(oids)
    query = (
        f"UNWIND $ids AS id MATCH (n:{TWIN_LABEL} {{objectid: id}}) "
        "RETURN id, n.key AS key, coalesce(n.placeholder, false) AS ph ORDER BY ph, key"
    )
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        for rec in reader.rows(query, ids=ids[start : start + _LOOKUP_CHUNK]):
            found.setdefault(rec["id"], (rec["key"], rec["ph"]))
    return found


@dataclass
class _Rekey:
    old: str
    new: str
    label: str
    oid: str


@dataclass
class SharpHoundRun:
    """What one run's transforms leave for its post_load (IngestContext.run_state): keys to
    fix, and the edges whose ends were not known yet (defined by a later file of the run,
    or by nobody)."""

    rekeys: list[_Rekey] = field(default_factory=list)
    rels: dict[str, dict[tuple[str, str], dict]] = field(default_factory=lambda: defaultdict(dict))
    refs: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    # objectid -> key of what this run wrote: known without asking the twin again.
    defined: dict[str, str] = field(default_factory=dict)
    # True when the twin held no AD object as the run began: then nothing it holds by objectid
    # is older than this run, and the look-ups are skipped (a first ingest of a big forest).
    fresh: bool | None = None


def _state(ctx: IngestContext) -> SharpHoundRun:
    state = ctx.run_state(SharpHoundRun)
    if state.fresh is None:
        state.fresh = not ctx.reader or not ctx.reader.value(
            f"RETURN EXISTS {{ MATCH (n:{TWIN_LABEL}) WHERE n.objectid IS NOT NULL }} AS any")
    return state


def _known(reader: TwinReader, state: SharpHoundRun, oids: Iterable[str]):
    """What the twin holds for these objectids: this run's own writes from memory, the rest
    by look-up unless the run began on a twin without AD objects."""
    found: dict[str, tuple[str, bool]] = {}
    ask = []
    for oid in oids:
        key = state.defined.get(oid)
        if key is not None:
            found[oid] = (key, False)
        else:
            ask.append(oid)
    if ask and not state.fresh:
        found.update(_lookup(reader, ask))
    return found


# --------------------------------------------------------------------------- transform


def _load_json(source: Source) -> dict:
    text = source.text()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadFile(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BadFile("not JSON this reader can follow: nested too deeply") from None
    if not isinstance(doc, dict):
        raise BadFile(f"a SharpHound file is a JSON object, not {typename(doc)}")
    if _LONE_SURROGATE.search(text):
        doc = fix_surrogates(doc)
    return doc


def _file_kind(doc: dict, name: str) -> str:
    meta = doc.get("meta")
    if "data" not in doc:
        raise BadFile("no `data` list: not a SharpHound collection file")
    if not isinstance(doc["data"], list):
        raise BadFile(f"`data` must be a list, not {typename(doc['data'])}")
    if meta is None:
        kind = _kind_from_name(name)
        if kind is None:
            raise BadFile("no `meta` block, and the file name does not say the kind (users.json, ...)")
        return kind
    if not isinstance(meta, dict):
        raise BadFile(f"`meta` must be an object, not {typename(meta)}")
    kind = meta.get("type")
    if not isinstance(kind, str) or kind.lower() not in KINDS:
        raise BadFile(f"meta.type {kind!r} is not a SharpHound AD kind ({', '.join(KINDS)})")
    version = meta.get("version")
    if version is not None and (type(version) is not int or version < 4):
        raise BadFile(f"meta.version {version!r} is not supported (SharpHound JSON 4 to 6)")
    return kind.lower()


def transform(source: Source, ctx: IngestContext) -> Batch:
    # Parsing allocates millions of small objects and no cycles: the cyclic collector would
    # only rescan them, at half the transform time on large collections.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return _transform(source, ctx)
    finally:
        if gc_was_on:
            gc.enable()


def _transform(source: Source, ctx: IngestContext) -> Batch:
    doc = _load_json(source)
    kind = _file_kind(doc, source.name)
    batch = Batch()
    data = doc["data"]
    batch.records = len(data)
    parsed = _Parsed(file=source.name, kind=kind, label=KINDS[kind], batch=batch)
    for i, rec in enumerate(data):
        try:
            r, props = read_record(rec, parsed.label)
        except Invalid as exc:
            batch.reject(source.name, f"data[{i}]", str(exc))
            continue
        _commit(parsed, r, props, i)
    _emit(parsed, ctx)
    return batch


def _keep_edge(bucket: dict[tuple[str, str], dict], pair: tuple[str, str], props: dict) -> None:
    old = bucket.get(pair)
    if old is None or (old.get("isinherited") and props.get("isinherited") is False):
        bucket[pair] = props  # an explicit grant is the stronger statement


def _better_ref(refs: dict, oid: str, label: str | None, name: str | None) -> None:
    if oid not in refs or (refs[oid][0] is None and label):
        refs[oid] = (label, name)


def _emit(parsed: _Parsed, ctx: IngestContext) -> None:
    batch = parsed.batch
    state = _state(ctx)
    missing = [oid for oid in parsed.refs if oid not in parsed.nodes]
    twin = _known(ctx.reader, state, [*parsed.nodes, *missing])
    ids = parsed.nodes.keys() | parsed.refs.keys()
    # Nodes the twin holds stay where they are (edges find them by objectid); their key is
    # fixed in post_load. New ones take their proper key unless something else holds it, or
    # it reads as another object's objectid (the key a placeholder of it would take).
    claimed = {twin[oid][0] for oid in parsed.nodes if oid in twin}
    rows: dict[str, list[dict]] = defaultdict(list)
    domains: set[str] = set()
    for oid, node in parsed.nodes.items():
        props = finish_props(node.label, oid, node.props)
        want = wanted_key(node.label, props)
        if want is not None and want != oid and want in ids:
            want = None
        existing = twin.get(oid)
        if existing is not None:
            key = existing[0]
            if want is not None and want != key:
                state.rekeys.append(_Rekey(key, want, node.label, oid))
        else:
            key = want if want is not None and want not in claimed else oid
            claimed.add(key)
        if not node.weak and props.get("domain"):
            domains.add(props["domain"])
        rows[node.label].append({"key": key, "props": props})
        state.defined[oid] = key
    for label in sorted(rows):
        batch.add_nodes(NODE_SCHEMAS[label], rows[label])

    refresh = []
    for oid in missing:
        existing = twin.get(oid)
        if existing is None:
            label, name = parsed.refs[oid]
            _better_ref(state.refs, oid, label, name)
        elif existing[1]:  # a placeholder from an earlier run: say it was seen again
            refresh.append({"key": existing[0], "props": {"objectid": oid}})
    batch.add_nodes(PLACEHOLDER_SCHEMAS[BASE], refresh)

    known = parsed.nodes.keys() | twin.keys()
    for rel_type in sorted(parsed.rels):
        ready = []
        later = state.rels[rel_type]
        for (src, dst), props in parsed.rels[rel_type].items():
            if src in known and dst in known:
                ready.append({"src": src, "dst": dst, "props": props})
            else:
                _keep_edge(later, (src, dst), props)
        batch.add_rels(rel_schema(rel_type), ready)
    if len(domains) == 1:
        batch.scope = {"domain": next(iter(domains))}


# --------------------------------------------------------------------------- post_load

_KIND_LABELS = ":".join(sorted(LABELS))
_PROVENANCE = frozenset({"key", "source", "sources", "firstseen", "lastseen"})


def _run(writer: TwinWriter, query: str, **params) -> list:
    return writer.driver.execute_query(query, params, database_=writer.database).records


def _apply_rekeys(writer: TwinWriter, rekeys: list[_Rekey]) -> None:
    """Give nodes written under a placeholder's (or an old name's) key their proper key."""
    todo: list[_Rekey] = []
    olds: set[str] = set()
    news: set[str] = set()
    for rk in rekeys:
        if rk.old == rk.new or rk.old in olds or rk.new in news:
            continue
        olds.add(rk.old)
        news.add(rk.new)
        todo.append(rk)
    if not todo:
        return
    taken = {
        rec["k"]: rec["oid"]
        for rec in _run(
            writer,
            f"UNWIND $keys AS k MATCH (n:{TWIN_LABEL} {{key: k}}) RETURN k, n.objectid AS oid",
            keys=[rk.new for rk in todo],
        )
    }
    simple: dict[str, list[dict]] = defaultdict(list)
    for rk in todo:
        if rk.new not in taken:
            simple[rk.label].append({"old": rk.old, "new": rk.new})
        elif taken[rk.new] in (None, rk.oid):
            _absorb(writer, rk)
        # else: the proper key names another AD object; keep the objectid key rather than merge
    for label, rows in simple.items():
        _run(
            writer,
            f"UNWIND $rows AS row MATCH (n:{TWIN_LABEL} {{key: row.old}}) "
            f"REMOVE n:{_KIND_LABELS} SET n:{check_identifier(label)}:{BASE}, "
            "n.key = row.new, n.placeholder = false",
            rows=rows,
        )


def _absorb(writer: TwinWriter, rk: _Rekey) -> None:
    """Fold the node under `rk.old` into the existing node `rk.new`: its properties (fresh
    AD data) onto it, its edges moved type by type (Cypher has no dynamic types), then gone."""
    params = {"old": rk.old, "new": rk.new}
    for direction in ("out", "in"):
        pattern = "(o)-[r]->(x)" if direction == "out" else "(x)-[r]->(o)"
        types = [
            rec["t"]
            for rec in _run(
                writer,
                f"MATCH (o:{TWIN_LABEL} {{key: $old}}) MATCH {pattern} RETURN DISTINCT type(r) AS t",
                **params,
            )
        ]
        for t in types:
            t = check_identifier(t)
            new_edge = "(n)-[s:{t}]->(x)" if direction == "out" else "(x)-[s:{t}]->(n)"
            _run(
                writer,
                f"MATCH (o:{TWIN_LABEL} {{key: $old}}) MATCH (n:{TWIN_LABEL} {{key: $new}}) "
                f"MATCH {pattern.replace('[r]', f'[r:{t}]')} WHERE x <> o AND x <> n "
                f"MERGE {new_edge.format(t=t)} "
                "ON CREATE SET s = properties(r) "
                "ON MATCH SET s.firstseen = CASE WHEN r.firstseen < s.firstseen "
                "THEN r.firstseen ELSE s.firstseen END "
                "DELETE r",
                **params,
            )
    found = _run(writer, f"MATCH (o:{TWIN_LABEL} {{key: $old}}) RETURN properties(o) AS p", **params)
    if not found:
        return
    props = {k: v for k, v in found[0]["p"].items() if k not in _PROVENANCE}
    _run(
        writer,
        f"MATCH (o:{TWIN_LABEL} {{key: $old}}) MATCH (n:{TWIN_LABEL} {{key: $new}}) "
        "WITH o, n, n.firstseen AS nf, n.sources AS ns, o.firstseen AS of, o.sources AS os, "
        "n.lastseen AS nl, o.lastseen AS ol "
        "SET n += $props "
        "SET n.placeholder = false, "
        "n.firstseen = CASE WHEN nf IS NULL OR of < nf THEN of ELSE nf END, "
        "n.lastseen = CASE WHEN nl IS NULL OR ol > nl THEN ol ELSE nl END, "
        # sorted union: the loader's order-independent provenance
        "n.sources = reduce(acc = coalesce(ns, []), s IN coalesce(os, []) | "
        "CASE WHEN s IN acc THEN acc ELSE [x IN acc WHERE x < s] + s + [x IN acc WHERE x > s] END) "
        f"SET n:{check_identifier(rk.label)}:{BASE}, n.source = n.sources[0] "
        "WITH o DETACH DELETE o",
        props=props,
        **params,
    )


def _write_deferred(writer: TwinWriter, state: SharpHoundRun) -> None:
    """Placeholders for what the whole run named but nobody defined, then the edges that
    waited for their ends."""
    found = _known(TwinReader(writer.driver, writer.database), state, state.refs)
    holders: dict[str, list[dict]] = defaultdict(list)
    for oid, (label, name) in state.refs.items():
        if oid in found:
            continue
        props = {"objectid": oid, "placeholder": True}
        if name:
            props["name"] = name
        dom = domain_of(label or BASE, oid, props)
        if dom:
            props["domain"] = dom
        props["tier0"] = is_tier0(label or BASE, oid, props)
        holders[label or BASE].append({"key": oid, "props": props})
    for label in sorted(holders):
        writer.nodes(PLACEHOLDER_SCHEMAS[label], holders[label])
    for rel_type in sorted(state.rels):
        bucket = state.rels[rel_type]
        writer.rels(rel_schema(rel_type), [{"src": s, "dst": d, "props": p} for (s, d), p in bucket.items()])


def post_load(writer: TwinWriter, ctx: IngestContext) -> None:
    state = ctx.take_state(SharpHoundRun)
    if state is not None:
        _apply_rekeys(writer, state.rekeys)
        _write_deferred(writer, state)


CONNECTOR = Connector(
    name=SOURCE,
    sniff=sniff,
    transform=transform,
    post_load=post_load,
    order=10,
)
