"""entity_context reads an entity's events from the event store and answers as the graph's
per-event nodes did: the same total, counts per event id and newest events, for hosts,
accounts, addresses and groups, with and without a time window, on a twin loaded through
the real connectors (a generated estate, plus public captures when ../shared is there)."""

from __future__ import annotations

import json
import random

import pytest

from graph.events import EventFilter, open_store
from graph.generate import generate
from graph.ingest.registry import ingest
from graph.loader import TwinWriter
from graph.schema import reset_twin
from graph.tools.base import Toolbox
from graph.tools.fixtures import events_as_nodes
from tests.conftest import SHARED_REAL

CAPTURES = (("mordor-dcsync", "covenant_dcsync_dcerpc_drsuapi_DsGetNCChanges_2020-08-05020926.json"),
            ("otrf", "empire_mimikatz_logonpasswords.zip"))
# What entity_context read before the store: the entity's Event nodes by any link.
GRAPH_EVENTS = """
MATCH (n:Twin {key: $key})
CALL (n) {
  MATCH (e:Event)-[:OnHost|ByUser|TargetsUser|FromHost|FromIP]->(n)
  WHERE $elo IS NULL OR (e.timestamp >= $elo AND e.timestamp <= $ehi)
  WITH DISTINCT e ORDER BY e.timestamp DESC, e.key
  WITH collect(e) AS es
  RETURN size(es) AS events_total,
         [x IN es[..$few] | {key: x.key, event_id: x.event_id, time: x.time, timestamp: x.timestamp,
                             kind: [l IN labels(x) WHERE l ENDS WITH 'Event' AND l <> 'Event'][0]}] AS recent_events,
         es AS _es
}
CALL (_es) {
  UNWIND _es AS e
  WITH e.event_id AS id, count(*) AS c ORDER BY c DESC, id
  RETURN collect({event_id: id, count: c}) AS event_counts
}
RETURN events_total, event_counts[..$cap] AS event_counts, recent_events
"""
FIELDS = ("events_total", "event_counts", "recent_events")


@pytest.fixture(scope="module")
def estate(driver, neo4j_settings, tmp_path_factory):
    reset_twin(driver, neo4j_settings.database)
    out = tmp_path_factory.mktemp("estate")
    doc = generate(out, seed=23, hosts=24, users=48, ops=True)
    paths = [out / p for p in doc["ingest_paths"]]
    paths += [SHARED_REAL.joinpath(*c) for c in CAPTURES if SHARED_REAL.joinpath(*c).exists()]
    report = ingest(driver, paths, database=neo4j_settings.database)
    assert report.rejected == []
    # the reference: the same events as graph nodes, as the connectors wrote them before
    # events moved to the store (an ingest writes none: the first assertion says so)
    assert driver.execute_query("MATCH (e:Event) WHERE NOT ()-[:Involves]->(e) RETURN count(e) AS n",
                                database_=neo4j_settings.database).records[0]["n"] == 0
    events_as_nodes(TwinWriter(driver, "reference", database=neo4j_settings.database),
                    open_store(neo4j_settings.database).query(EventFilter()))
    yield Toolbox(driver, neo4j_settings.database)
    reset_twin(driver, neo4j_settings.database)


def graph_answer(tb: Toolbox, key: str, as_of: int | None, window_s: int, cap: int) -> dict:
    elo, ehi = (None, None) if as_of is None else (as_of - window_s, as_of + window_s)
    rec = tb.driver.execute_query(GRAPH_EVENTS, key=key, elo=elo, ehi=ehi, few=min(cap, 10), cap=cap,
                                  database_=tb.database).records[0]
    return {k: rec[k] for k in FIELDS}


def tool_answer(tb: Toolbox, key: str, as_of: int | None, window_s: int, cap: int) -> dict:
    args = {"key": key, "window_s": window_s, "max_items": cap, **({"as_of": as_of} if as_of is not None else {})}
    out = tb.call("entity_context", args).model_dump(mode="json")
    return {k: out[k] for k in FIELDS}


def cases(tb: Toolbox, n: int, seed: int) -> list[tuple]:
    """Entities every event touches (its host, source host and address, accounts) and
    groups and untouched nodes, at event times with windows from a minute to a month."""
    rng = random.Random(seed)
    rows = open_store(tb.database).query(EventFilter())
    rng.shuffle(rows)
    keys: list[str] = []
    for r in rows[: n * 3]:
        keys += [k for k in (r["host"], r["from_host"], r["from_ip"], *r["by_keys"], *r["target_keys"]) if k]
    keys += [r["k"] for r in tb.driver.execute_query(
        "MATCH (g:Group) RETURN g.key AS k ORDER BY k LIMIT 5", database_=tb.database).records]
    times = [r["ts"] for r in rows if r["ts"] is not None]
    out = []
    for key in sorted(set(keys)):
        for _ in range(2):
            out.append((key, rng.choice(times), rng.choice([60, 3600, 86400, 30 * 86400]), rng.choice([3, 15, 50])))
    out += [(k, None, 86400, 15) for k in sorted(set(keys))[:5]]  # no time: every event
    return out


def test_entity_context_events_from_the_store_answer_as_the_graph_did(estate):
    seen = events = ips = 0
    for key, as_of, window_s, cap in cases(estate, 120, seed=5):
        want = graph_answer(estate, key, as_of, window_s, cap)
        got = tool_answer(estate, key, as_of, window_s, cap)
        # equal as JSON text too: the tool's output reaches a model's request as written
        assert json.dumps(got) == json.dumps(want), (key, as_of, window_s, cap)
        seen += 1
        events += want["events_total"]
        ips += key.startswith("IP:") and want["events_total"] > 0
    # the public captures (../shared, when present) bring most of the events; the generated
    # estate alone counts ~3,800 over these cases
    public = any(SHARED_REAL.joinpath(*c).exists() for c in CAPTURES)
    assert seen >= 100 and events >= (5000 if public else 2000) and ips >= 2, (seen, events, ips)


def test_the_comparison_sees_a_store_that_answers_differently(estate, tmp_path):
    """Not a tautology: a store missing one of an address's events is caught."""
    rows = open_store(estate.database).query(EventFilter())
    ev = next(r for r in rows if r["from_ip"] and r["ts"])
    want = graph_answer(estate, ev["from_ip"], ev["ts"], 60, 15)
    assert want["events_total"] >= 1
    store = open_store(path=tmp_path / "store")
    run = store.begin()
    run.append([r for r in rows if r["key"] != ev["key"]])
    run.commit()
    tb = Toolbox(estate.driver, estate.database, events=store)
    assert tool_answer(tb, ev["from_ip"], ev["ts"], 60, 15) != want


def test_entity_context_never_reads_event_nodes(estate):
    key = open_store(estate.database).query(EventFilter(limit=1))[0]["host"]
    estate.audit.clear()
    estate.call("entity_context", {"key": key})
    reads = [a for a in estate.audit if a.tool == "entity_context"]
    assert sum("FROM events(" in a.query for a in reads) == 2 and all(a.ok for a in reads)
    assert not any(":Event" in a.query for a in reads)
