"""The events an alert involves are graph nodes as well as store rows; when a later load
ties or re-keys the row, the node follows (graph/ingest/_eventnodes.py). Before, the
node kept the ties it was born with, so the graph and the store disagreed."""

from __future__ import annotations

import json

import pytest

from graph.events import duck
from graph.ingest._eventnodes import patched, sync_event_nodes
from graph.loader import TwinWriter
from graph.model import NodeSchema
from graph.reader import TwinReader
from tests.test_event_sources import DATA, T0, run, write_base

SYSMON = "Microsoft-Windows-Sysmon/Operational"
PROC = f"EVT:WS01.CORP.LOCAL:{SYSMON}:771203"


def ties(twin, key: str) -> set[tuple[str, str]]:
    return {(r["t"], r["k"]) for r in twin.run(
        "MATCH (:Event {key: $k})-[r]->(x) RETURN type(r) AS t, x.key AS k", k=key)}


def _loaded_with_an_untied_account(twin, tmp_path) -> set[tuple[str, str]]:
    """An alert's process event whose account names a domain the twin learns only later."""
    write_base(twin)
    line = json.loads((DATA / "windows.jsonl").read_text().splitlines()[5])
    assert line["RecordNumber"] == 771203
    line["User"] = "LAB\\bob"  # a domain the twin does not know yet
    (tmp_path / "events.jsonl").write_text(json.dumps(line) + "\n")
    run(twin, tmp_path / "events.jsonl")
    run(twin, "elastic_alert.json")
    assert twin.event(PROC)["by_keys"] == []
    before = ties(twin, PROC)
    assert ("OnHost", "WS01.CORP.LOCAL") in before and not any(t == "ByUser" for t, _ in before)
    TwinWriter(twin.driver, "fixture", database=twin.database, now=T0).nodes(
        NodeSchema("Domain", ("Base",)), [{"key": "LAB.LOCAL", "props": {"name": "LAB.LOCAL", "netbios": "LAB"}}])
    return before


def test_an_alerts_event_node_takes_the_account_a_later_load_ties(twin, tmp_path):
    before = _loaded_with_an_untied_account(twin, tmp_path)
    report = run(twin, "conn.log")  # any ingest relinks what is marked
    assert report.unresolved["relinked"]["event_accounts"] == 1
    assert twin.event(PROC)["by_keys"] == ["BOB@LAB.LOCAL"]
    assert ties(twin, PROC) == before | {("ByUser", "BOB@LAB.LOCAL")}
    assert twin.value("MATCH (:Alert)-[:Involves]->(e:Event {key: $k}) RETURN count(e)", k=PROC) == 1


def test_a_run_stopped_between_the_graph_and_the_store_is_finished_by_the_next(twin, tmp_path, monkeypatch):
    """The graph node moves before the store row: a run that dies in between leaves the
    row marked, and the next relink patches it again, moving nothing more in the graph."""
    before = _loaded_with_an_untied_account(twin, tmp_path)

    def stopped(self, changes):
        raise RuntimeError("stopped before the store patch")

    monkeypatch.setattr(duck.DuckEventStore, "patch", stopped)
    with pytest.raises(RuntimeError, match="stopped before the store patch"):
        run(twin, "conn.log")
    monkeypatch.undo()
    assert twin.event(PROC)["by_keys"] == [] and "AccountUnresolved" in twin.event(PROC)["marks"]
    assert ties(twin, PROC) == before | {("ByUser", "BOB@LAB.LOCAL")}  # the graph went first
    report = run(twin, "conn.log")
    assert report.unresolved["relinked"]["event_accounts"] == 1
    assert twin.event(PROC)["by_keys"] == ["BOB@LAB.LOCAL"] and "AccountUnresolved" not in twin.event(PROC)["marks"]
    assert ties(twin, PROC) == before | {("ByUser", "BOB@LAB.LOCAL")}


def _event(twin, key: str, host: str | None) -> None:
    """A graph Event node an alert involves, as alerts.py writes it (tied to `host`)."""
    twin.run("MERGE (a:Twin:Alert {key: $a}) "
             "CREATE (e:Twin:Event {key: $k, event_id: 4688}) "
             "CREATE (a)-[:Involves {role: 'process', roles: ['process']}]->(e) "
             "WITH e MATCH (h:Twin {key: $h}) CREATE (e)-[:OnHost]->(h)", a="ALERT-1", k=key, h=host or "-")


def _row(key: str, host: str, user: str | None = None, marks: tuple = ()) -> dict:
    return {"key": key, "kind": "ProcessEvent", "ts": T0, "host": host, "from_host": None, "from_ip": None,
            "by_keys": [user] if user else [], "target_keys": [], "marks": list(marks), "raw": "{}",
            "props": {"event_id": 4688, "host": host, "host_domains": ["CORP.LOCAL"]}}


def test_a_patched_row_is_what_the_store_writes():
    row = _row("EVT:WS01:Security:1", "WS01", "ALICE@CORP.LOCAL", ("HostUnresolved", "IpUnresolved",
                                                                   "AccountUnresolved"))
    moved = patched(row, {"key": "EVT:WS01.CORP.LOCAL:Security:1", "host": "WS01.CORP.LOCAL"})
    assert (moved["key"], moved["host"], moved["marks"]) == (
        "EVT:WS01.CORP.LOCAL:Security:1", "WS01.CORP.LOCAL", ["IpUnresolved", "AccountUnresolved"])
    assert moved["props"] == {"event_id": 4688, "host": "WS01.CORP.LOCAL"}
    tied = patched(moved, {"from_host": "WS02.CORP.LOCAL", "by_keys": ["BOB@LAB.LOCAL", "ALICE@CORP.LOCAL"],
                           "settled": ["AccountUnresolved"]})
    assert tied["from_host"] == "WS02.CORP.LOCAL" and tied["marks"] == []
    assert tied["by_keys"] == ["ALICE@CORP.LOCAL", "BOB@LAB.LOCAL"]
    assert row["marks"] == ["HostUnresolved", "IpUnresolved", "AccountUnresolved"]  # not changed in place


def test_a_renamed_event_node_takes_its_new_key_or_gives_way_to_the_node_holding_it(twin):
    write_base(twin)
    old1, new1 = "EVT:WS01:Security:1", "EVT:WS01.CORP.LOCAL:Security:1"
    old2, new2 = "EVT:WS02:Security:2", "EVT:WS02.CORP.LOCAL:Security:2"
    _event(twin, old1, "DC01.CORP.LOCAL")  # a wrong tie the row no longer has
    _event(twin, old2, None)
    _event(twin, new2, "WS02.CORP.LOCAL")  # the same record, loaded under the full name
    twin.run("MATCH (a:Alert {key: 'ALERT-1'}) MERGE (b:Twin:Alert {key: 'ALERT-2'}) "
             "WITH b MATCH (e:Event {key: $k}) CREATE (b)-[:Involves {role: 'hash', roles: ['hash']}]->(e)", k=old2)
    rows = {old1: _row(old1, "WS01", marks=("HostUnresolved",)), old2: _row(old2, "WS02", marks=("HostUnresolved",))}

    def query(flt):  # the store's rows by key; patched below as the store patches them
        return [rows[k] for k in flt.keys if k in rows]

    def store_patch(changes):
        for k, ch in changes.items():
            if k in rows:
                row = patched(rows.pop(k), ch)
                rows[row["key"]] = row

    writer = TwinWriter(twin.driver, "winevents", database=twin.database, now=T0)
    reader = TwinReader(twin.driver, twin.database)
    first = {old1: {"key": new1, "host": "WS01.CORP.LOCAL"}, old2: {"key": new2, "host": "WS02.CORP.LOCAL"},
             "EVT:OTHER:Security:9": {"from_host": "WS02.CORP.LOCAL"}}  # not a graph node: left alone
    assert sync_event_nodes(writer, reader, query, first) == 2
    store_patch(first)
    assert sync_event_nodes(writer, reader, query, first) == 0  # done already: nothing found under old keys
    second = {new1: {"by_keys": ["ALICE@CORP.LOCAL"], "settled": ["AccountUnresolved"]}}
    assert sync_event_nodes(writer, reader, query, second) == 1
    keys = set(twin.value("MATCH (e:Event) RETURN collect(e.key)"))
    assert keys == {new1, new2}
    assert ties(twin, new1) == {("OnHost", "WS01.CORP.LOCAL"), ("ByUser", "ALICE@CORP.LOCAL")}
    assert ties(twin, new2) == {("OnHost", "WS02.CORP.LOCAL")}
    assert twin.value("MATCH (e:Event {key: $k}) RETURN e.host", k=new1) == "WS01.CORP.LOCAL"
    involves = {(r["a"], tuple(r["roles"])) for r in twin.run(
        "MATCH (a:Alert)-[i:Involves]->(:Event {key: $k}) RETURN a.key AS a, i.roles AS roles", k=new2)}
    assert involves == {("ALERT-1", ("process",)), ("ALERT-2", ("hash",))}
    assert writer.stats.per_kind["Event"] >= 3 and writer.stats.per_kind["Involves"] >= 2
    assert sync_event_nodes(writer, reader, query, {}) == 0
