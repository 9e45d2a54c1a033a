"""observed_path reads its events from the event store and answers as the graph did.

The reference is the same tool with its events read by the Cypher it ran before over
the per-event nodes (`GRAPH_OBSERVED_EVENTS`, kept in evals/bench/bench_observed_path.py,
whose baseline it is): on a twin loaded through the real connectors (a generated
estate's Windows events, Zeek and alerts, plus public captures when ../shared is there),
every alert and many entity sets and windows give the same steps, in the same order,
with the same evidence and edges, cut at the same place."""

from __future__ import annotations

import pytest

from evals.bench.bench_observed_path import graph_observed_path, observed_cases, store_observed_path
from graph.events import EventFilter, open_store
from graph.generate import generate
from graph.ingest.registry import ingest
from graph.loader import TwinWriter
from graph.schema import reset_twin
from graph.tools.base import Toolbox
from graph.tools.fixtures import T0, corp_twin, events_as_nodes
from tests.conftest import SHARED_REAL

# Public captures beside the estate: a DCSync (replication against a DC of the domain the
# twin knows) and credential theft with lateral logons (none of the reserved six).
CAPTURES = (("mordor-dcsync", "covenant_dcsync_dcerpc_drsuapi_DsGetNCChanges_2020-08-05020926.json"),
            ("otrf", "empire_mimikatz_logonpasswords.zip"), ("otrf", "covenant_psremoting_command.zip"))


@pytest.fixture(scope="module")
def estate(driver, neo4j_settings, tmp_path_factory):
    reset_twin(driver, neo4j_settings.database)
    out = tmp_path_factory.mktemp("estate")
    doc = generate(out, seed=17, hosts=24, users=48, ops=True)
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


def test_observed_path_from_the_store_answers_as_the_graph_did(estate):
    cases = observed_cases(estate.driver, estate.database, n=60, seed=8)
    steps = cut = alerts = replications = 0
    for args in cases:
        want = graph_observed_path(estate, args)
        assert store_observed_path(estate, args) == want, args
        steps += len(want["steps"])
        cut += want["truncated"]
        alerts += "alert" in args
        replications += any(s["kind"] == "replication" and s["edges"] for s in want["steps"])
    # many steps compared, answers cut by max_steps, alerts and domain-resolved replications among them
    assert steps >= 5000 and cut >= 50 and alerts >= 4 and replications >= 10, (steps, cut, alerts, replications)


def test_observed_path_on_public_captures_answers_as_the_graph_did(estate):
    """The captures' own hosts and accounts (their names, their domain) around their times."""
    got = estate.driver.execute_query(
        "MATCH (e:Event) WHERE e.key CONTAINS '.' AND NOT e.key CONTAINS 'CORP.LOCAL' "
        "OPTIONAL MATCH (e)-[:OnHost]->(h) OPTIONAL MATCH (e)-[:ByUser|TargetsUser]->(u) "
        "RETURN e.timestamp AS ts, h.key AS host, u.key AS user ORDER BY e.key", database_=estate.database).records
    if not got:
        pytest.skip(f"no public capture in {SHARED_REAL}: the estate holds generated events only")
    seen = 0
    for r in got[:: max(1, len(got) // 15)]:
        for ents in ([r["host"]], [r["user"]], []):
            if ents and not all(ents):
                continue
            for max_steps in (500, 7):
                args = {"entities": ents, "as_of": r["ts"], "before_s": 3600, "after_s": 3600, "max_steps": max_steps}
                want = graph_observed_path(estate, args)
                assert store_observed_path(estate, args) == want, args
                seen += len(want["steps"])
    assert seen >= 5000, seen


def test_the_comparison_sees_a_store_that_answers_differently(estate, tmp_path):
    """The equality above is no tautology: a store missing one event, or naming another
    host for one, is caught."""
    rows = open_store(estate.database).query(EventFilter())
    logon = next(r for r in rows if r["kind"] == "LogonEvent" and r["target_keys"] and r["host"])
    args = {"entities": [logon["host"]], "as_of": logon["ts"], "before_s": 60, "after_s": 60}
    want = graph_observed_path(estate, args)
    assert any(logon["key"] in s["evidence"] for s in want["steps"])
    for i, changed in enumerate(([r for r in rows if r["key"] != logon["key"]],
                                 [{**r, "from_host": "ELSEWHERE.CORP.LOCAL"} if r["key"] == logon["key"] else r
                                  for r in rows])):
        store = open_store(path=tmp_path / f"store{i}")
        run = store.begin()
        run.append(changed)
        run.commit()
        assert store_observed_path(Toolbox(estate.driver, estate.database, events=store), args) != want


# The estate's tests come first: the ones below take `twin`, which empties it.


def test_observed_path_reads_the_store_audited_and_never_event_nodes(twin):
    """What the tool reads for events is the store, one audited read with its statement:
    with the graph's Event nodes gone it tells the same story."""
    corp_twin(twin.driver, twin.database)
    tb = Toolbox(twin.driver, twin.database, as_of=T0)
    want = store_observed_path(tb, {"alert": "ALERT-DCSYNC-1"})
    assert [s["kind"] for s in want["steps"]] == ["logon", "process", "connection", "replication", "alert"]
    reads = [a for a in tb.audit if a.tool == "observed_path" and "FROM events(" in a.query]
    assert len(reads) == 1 and reads[0].ok and reads[0].rows == 3
    assert "list_has_any(list_concat(by_keys, target_keys), $linked)" in reads[0].query
    assert sorted(reads[0].parameters["linked"]) == ["DC01.CORP.LOCAL", "HELPDESK1@CORP.LOCAL"]  # the alert's
    assert not any(":Event" in a.query for a in tb.audit)
    twin.run("MATCH (e:Event) DETACH DELETE e")
    assert store_observed_path(tb, {"alert": "ALERT-DCSYNC-1"}) == want
