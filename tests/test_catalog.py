"""The catalogue of kinds (graph/catalog): declared once, and everything else follows it:
MODEL.md's tables, the indexes, the tools' vocabulary, and the writer, which refuses a
property no kind declares (that row rejected by name, the rest written)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from graph import catalog
from graph.catalog.markdown import MODEL, current, render
from graph.derive import DERIVATIONS
from graph.ingest.base import Batch, Connector, IngestContext, Source
from graph.ingest.registry import IngestReport, _load_one
from graph.loader import TwinWriter, clean_props, undeclared
from graph.schema import describe_schema
from graph.settings import IngestLimits
from graph.tools import vocab
from graph.tools.fixtures import TwinBuilder, corp_twin, synthetic_twin
from tests.conftest import REPO

NOW = 1_700_000_000


def test_model_md_is_current():
    text = MODEL.read_text(encoding="utf-8")
    assert current(text) == text, "graph/MODEL.md is behind graph/catalog: run `python -m graph.catalog.markdown`"
    assert render() in text


def test_kinds_hang_together():
    for r in catalog.RELS.values():
        assert set(r.src) | set(r.dst) <= set(catalog.NODES), r.type
    for k in catalog.NODES.values():
        assert k.subkind_of is None or k.subkind_of in catalog.NODES, k.label
    lower = [t.lower() for t in catalog.RELS] + [lb.lower() for lb in catalog.NODES]
    assert len(lower) == len(set(lower)), "two kinds differ only in case (what-if matches types case-blind)"
    for d in DERIVATIONS:
        assert set(d.reads) <= set(catalog.NODES) | set(catalog.RELS), d.name
        assert set(d.writes) <= set(catalog.RELS), d.name


def test_vocabulary_is_the_catalogue():
    assert set(catalog.NODES) == vocab.LABELS and set(catalog.RELS) == vocab.REL_TYPES
    policy = set(vocab.EDGE_COSTS) | set(vocab.RIGHT_EDGES) | set(vocab.TIMED_EDGES) | {vocab.HOSTED_ON}
    assert policy <= vocab.REL_TYPES, sorted(policy - vocab.REL_TYPES)


def test_connectors_declare_no_kinds_of_their_own():
    """Schemas come from graph.catalog (node / rel): a NodeSchema built in a connector or a
    derivation would be a kind the writer cannot check."""
    found = []
    for folder in ("graph/ingest", "graph/derive"):
        for path in sorted((REPO / folder).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in (
                        "NodeSchema", "RelSchema"):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not found, found


def test_schemas_and_their_rules():
    assert catalog.node("Computer").properties >= {"name", "ip", "nmap_os", "criticality"}
    assert "key" not in catalog.node("Computer").properties  # provenance is the loader's
    assert catalog.node("User", "Base", open=True).properties is None
    with pytest.raises(catalog.UnknownKind, match="declare no open properties"):
        catalog.node("Zone", open=True)
    with pytest.raises(catalog.UnknownKind, match="comes with 'Event'"):
        catalog.node("LogonEvent")
    with pytest.raises(catalog.UnknownKind, match="not in the catalogue"):
        catalog.node("Pwned")
    with pytest.raises(catalog.UnknownKind, match="not in the catalogue"):
        catalog.rel("WriteEverything")
    assert catalog.rel("WriteEverything", ace=True).properties == catalog.ACE_PROPS
    assert catalog.rel("GenericAll", by="objectid").src.prop == "objectid"


def test_indexes_are_the_declared_ones(twin):
    names = {name for name, *_ in catalog.indexes()}
    assert {"twin_objectid", "twin_name", "event_timestamp", "alert_time", "twin_key_text"} <= names
    assert names <= set(describe_schema(twin.driver, twin.database)["indexes"])


def test_writer_refuses_an_undeclared_property_by_record(twin):
    w = TwinWriter(twin.driver, "test", database=twin.database, now=NOW)
    w.nodes(catalog.node("Computer"), [
        {"key": "WS01.CORP.LOCAL", "props": {"name": "WS01.CORP.LOCAL", "operatingsystem": "Windows 11"}},
        {"key": "WS02.CORP.LOCAL", "props": {"name": "WS02.CORP.LOCAL", "operating_system": "typo"}},
        {"key": "WS03.CORP.LOCAL", "props": {"key": "WS09.CORP.LOCAL"}},  # provenance is the loader's
    ])
    w.nodes(catalog.node("IP"), [{"key": "IP:10.0.0.1", "props": {"address": "10.0.0.1"}}])
    w.rels(catalog.rel("HasIP"), [
        {"src": "WS01.CORP.LOCAL", "dst": "IP:10.0.0.1", "props": {"evidence": ["own_traffic"]}},
        {"src": "WS01.CORP.LOCAL", "dst": "IP:10.0.0.1", "props": {"bytes": 5}},
    ])
    event = catalog.node("Event", "LogonEvent", links=(catalog.rel("OnHost"),))
    w.nodes(event, [
        {"key": "EVT:WS01.CORP.LOCAL:Security:1", "props": {"event_id": 4624}, "links": [("OnHost", "WS01.CORP.LOCAL")]},
        {"key": "EVT:WS01.CORP.LOCAL:Security:2", "props": {"eventid": 4624}, "links": [("OnHost", "WS01.CORP.LOCAL")]},
    ])
    assert w.rejected == [
        ("Computer WS02.CORP.LOCAL", "undeclared property 'operating_system' (graph/catalog)"),
        ("Computer WS03.CORP.LOCAL", "undeclared property 'key' (graph/catalog)"),
        ("WS01.CORP.LOCAL HasIP IP:10.0.0.1", "undeclared property 'bytes' (graph/catalog)"),
        ("Event EVT:WS01.CORP.LOCAL:Security:2", "undeclared property 'eventid' (graph/catalog)"),
    ]
    assert sorted(twin.value("MATCH (n) RETURN collect(n.key)")) == [
        "EVT:WS01.CORP.LOCAL:Security:1", "IP:10.0.0.1", "WS01.CORP.LOCAL"]
    assert twin.value("MATCH ()-[r:HasIP]->() RETURN r.evidence") == ["own_traffic"]
    assert twin.value("MATCH (:LogonEvent)-[r:OnHost]->() RETURN count(r)") == 1


def test_an_ingest_reports_the_refused_record_and_loads_the_rest(twin):
    """A connector that writes a property no kind declares (a bug) costs that record, named
    in the report with its file, not the run."""
    def transform(source: Source, ctx: IngestContext) -> Batch:
        batch = Batch(records=2)
        batch.add_nodes(catalog.node("Zone", snapshot=True), [
            {"key": "dmz", "props": {"name": "dmz", "internet_facing": True}},
            {"key": "corp", "props": {"name": "corp", "internetfacing": False}},
        ])
        return batch

    conn = Connector("network", sniff=lambda name, head: True, transform=transform)
    report = IngestReport()
    _load_one(conn, Source("zones.yaml", b"-"), IngestContext(twin.driver, twin.database, NOW), twin.driver,
              twin.database, report, IngestLimits())
    assert [r.as_dict() for r in report.rejected] == [
        {"file": "zones.yaml", "record": "Zone corp", "error": "undeclared property 'internetfacing' (graph/catalog)"}]
    assert twin.value("MATCH (z:Zone) RETURN collect(z.key)") == ["dmz"]


def test_catalogue_modules_stay_small():
    for path in sorted(Path(catalog.__file__).parent.glob("*.py")):
        assert len(path.read_text().splitlines()) <= 800, path.name


def _undeclared_rows(builder: TwinBuilder) -> list[str]:
    """What the catalogue's schemas would refuse of a hand-built twin, row by row."""
    out = []
    for (label, extra), rows in builder.nodes.items():
        open_ = any(catalog.node_kind(lb).open for lb in (label, *extra))
        schema = catalog.node(label, *extra, open=open_)
        out += [f"{label} {r['key']}: {why}" for r in rows
                if (why := undeclared(clean_props(r["props"]), schema.properties))]
    for rel_type, rows in builder.rels.items():
        schema = catalog.rel(rel_type)
        out += [f"{r['src']} {rel_type} {r['dst']}: {why}" for r in rows
                if (why := undeclared(clean_props(r["props"]), schema.properties))]
    return out


def test_the_tools_fixture_twins_hold_only_declared_kinds(twin, monkeypatch):
    """corp_twin and synthetic_twin stand for connector output in the tools' tests: they
    must be twins the writer would accept from a connector."""
    built: list[TwinBuilder] = []
    write = TwinBuilder.write

    def capture(self, *args, **kwargs):
        built.append(self)
        return write(self, *args, **kwargs)

    monkeypatch.setattr(TwinBuilder, "write", capture)
    corp_twin(twin.driver, twin.database, derive=False)
    synthetic_twin(twin.driver, twin.database, users=30, hosts=15, groups=5, derive=False)
    assert len(built) == 2
    for builder in built:
        assert _undeclared_rows(builder) == []
    stray = TwinBuilder()
    stray.node("Zone", "dmz", name="dmz", internetfacing=True)
    stray.edge("INTERNET", "CanReach", "dmz", port="443/tcp")
    assert _undeclared_rows(stray) == ["Zone dmz: undeclared property 'internetfacing' (graph/catalog)",
                                       "INTERNET CanReach dmz: undeclared property 'port' (graph/catalog)"]
