"""find_events reads the event store and answers as the graph did, call for call.

The reference is the Cypher find_events ran over the per-event nodes before the store
took that read (`GRAPH_FIND_EVENTS`, kept in evals/bench/bench_find_events.py, whose
baseline it is): on a twin loaded through the real connectors (a generated estate's
Windows events and Zeek, plus public captures when ../shared is there), every filter an
analyst pivots on (host, account, address, event id, kind, window, limit) gives the same
rows, in the same order, with the same fields, cut at the same place. The store read is
a read like any other: audited with its SQL, bounded in rows and time."""

from __future__ import annotations

import pytest

from evals.bench.bench_find_events import graph_find_events, store_find_events
from graph.events import EventFilter, open_store
from graph.generate import generate
from graph.ingest.registry import ingest
from graph.schema import reset_twin
from graph.tools.base import Limits, Toolbox
from graph.tools.chain import HistoryInput, _hms
from graph.tools.events import FindEventsInput
from graph.tools.fixtures import T0, corp_twin
from graph.tools.spec import iso
from tests.conftest import SHARED_REAL


def cases_from(driver, database, n: int = 30, seed: int = 5) -> list[dict]:
    """Filters an analyst would pivot on, drawn from the events the graph holds: each
    event's host, account, address, event id, kind and time, windows of a minute to a
    month, limits that cut and ones that do not."""
    import random

    rng = random.Random(seed)
    recs = driver.execute_query(
        "MATCH (e:Event) OPTIONAL MATCH (e)-[:OnHost]->(h) OPTIONAL MATCH (e)-[:FromHost]->(s) "
        "OPTIONAL MATCH (e)-[:ByUser|TargetsUser]->(u) "
        "RETURN e.key AS key, e.timestamp AS ts, h.key AS host, s.key AS src, u.key AS user, e.event_id AS eid, "
        "coalesce(e.ip, e.src_ip, e.dst_ip) AS ip, [l IN labels(e) WHERE l ENDS WITH 'Event' AND l <> 'Event'] AS kinds, "
        "e.host AS named ORDER BY key", database_=database).records
    cases: list[dict] = [{"limit": 500}, {"limit": 3}, {"window_s": 30 * 86400, "limit": 500}, {"kinds": ["Event"]},
                         {"kinds": ["ProcessEvent", "LogonEvent"], "limit": 500, "include_raw": True}]
    for r in rng.sample(recs, min(n, len(recs))):
        base = {"as_of": r["ts"], "window_s": rng.choice([60, 3600, 86400]), "limit": rng.choice([5, 50, 500])}
        pivots = [("hosts", [r["host"] or r["named"]]), ("hosts", [r["src"]]), ("users", [r["user"]]),
                  ("ips", [r["ip"]]), ("event_ids", [r["eid"]]), ("kinds", r["kinds"][:1])]
        for name, value in pivots:
            if value and value[0] is not None:
                cases.append({**base, name: value})
        cases.append({**base, "event_ids": [r["eid"]], "before_s": 600, "after_s": 0, "include_raw": True})
    return cases


def assert_same_answers(tb: Toolbox, cases: list[dict]) -> tuple[int, int]:
    """Every case answered alike by the store and the graph; (rows compared, cut cases)."""
    rows = cut = 0
    for args in cases:
        want, got = graph_find_events(tb, args), store_find_events(tb, args)
        assert got == want, args
        rows += want["total"]
        cut += want["total"] == FindEventsInput.model_validate(args).limit
    return rows, cut


@pytest.fixture(scope="module")
def estate(driver, neo4j_settings, tmp_path_factory):
    """A generated enterprise's telemetry (Windows logons, processes in their sessions
    under their parents, tickets, replication, Zeek) loaded through the connectors, with
    two public captures beside it when ../shared is there."""
    reset_twin(driver, neo4j_settings.database)
    out = tmp_path_factory.mktemp("estate")
    doc = generate(out, seed=11, hosts=24, users=48, ops=True)
    paths = [out / p for p in doc["ingest_paths"]]
    for extra in (("mordor-dcsync", "covenant_dcsync_dcerpc_drsuapi_DsGetNCChanges_2020-08-05020926.json"),
                  ("otrf", "empire_mimikatz_logonpasswords.zip")):
        if SHARED_REAL.joinpath(*extra).exists():
            paths.append(SHARED_REAL.joinpath(*extra))
    report = ingest(driver, paths, database=neo4j_settings.database)
    assert report.rejected == []
    yield Toolbox(driver, neo4j_settings.database)
    reset_twin(driver, neo4j_settings.database)


def test_find_events_from_the_store_answers_as_the_graph_did(estate):
    rows, cut = assert_same_answers(estate, cases_from(estate.driver, estate.database))
    assert rows >= 2000 and cut >= 10, (rows, cut)  # many rows compared, answers cut by their limit
    whole = store_find_events(estate, {"limit": 500})
    assert whole["total"] == 500 and any(e.get("in_session") for e in whole["events"])
    assert any(e.get("parent") for e in store_find_events(estate, {"kinds": ["ProcessEvent"], "limit": 500})["events"])


def test_the_comparison_sees_a_store_that_answers_differently(estate, tmp_path):
    """The equality above is no tautology: a store missing one event's row is caught."""
    args = {"limit": 500}
    want = graph_find_events(estate, args)
    store = open_store(path=tmp_path / "store")
    rows = open_store(estate.database).query(EventFilter())
    run = store.begin()
    run.append([r for r in rows if r["key"] != want["events"][0]["key"]])
    run.commit()
    other = Toolbox(estate.driver, estate.database, events=store)
    assert store_find_events(other, args) != want


# The estate's tests come first: the ones below take `twin`, which empties it.

# What event_history counted on the graph before it read the store (its reference, here only).
GRAPH_HISTORY = """
MATCH (e:Event)
WHERE e.timestamp >= $lo AND e.timestamp < $hi
  AND (size($eids) = 0 OR e.event_id IN $eids)
  AND (size($hosts) = 0 OR EXISTS { (e)-[:OnHost]->(h) WHERE h.key IN $hosts })
  AND (size($users) = 0 OR EXISTS { (e)-[:ByUser|TargetsUser]->(u) WHERE u.key IN $users })
  AND (size($from_hosts) = 0 OR EXISTS { (e)-[:FromHost]->(f) WHERE f.key IN $from_hosts })
WITH e.timestamp / 86400 AS day, e.timestamp % 86400 AS sec, e.key AS key
WITH day, count(*) AS n, min(sec) AS first_sec, max(sec) AS last_sec, min(key) AS example
ORDER BY day
RETURN collect({day: day, n: n, first_sec: first_sec, last_sec: last_sec, example: example}) AS days
"""


def graph_history(tb: Toolbox, args: dict) -> dict:
    """event_history as it was, its days counted on the graph's Event nodes."""
    a = HistoryInput.model_validate(args)
    t = tb.time(a.as_of)
    lo, hi = t - a.days * 86400, t - a.exclude_s
    days = tb.rows("reference", GRAPH_HISTORY, {"lo": lo, "hi": hi, "eids": a.event_ids, "hosts": a.hosts,
                                                "users": a.users, "from_hosts": a.from_hosts})[0]["days"]
    return {"days": [(iso(d["day"] * 86400)[:10], d["n"], _hms(d["first_sec"]), _hms(d["last_sec"])) for d in days],
            "examples": [d["example"] for d in days[:5]]}


def store_history(tb: Toolbox, args: dict) -> dict:
    out = tb.call("event_history", args)
    return {"days": [(d.day, d.events, d.first, d.last) for d in out.days], "examples": out.examples}


def test_event_history_from_the_store_counts_as_the_graph_did(estate):
    import random

    rng = random.Random(9)
    recs = estate.driver.execute_query(
        "MATCH (e:Event)-[:OnHost]->(h:Computer) OPTIONAL MATCH (e)-[:FromHost]->(s) "
        "OPTIONAL MATCH (e)-[:ByUser|TargetsUser]->(u) RETURN e.timestamp AS ts, h.key AS host, s.key AS src, "
        "u.key AS user, e.event_id AS eid ORDER BY e.key", database_=estate.database).records
    cases = []
    for r in rng.sample(recs, 40):
        at = {"as_of": r["ts"] + rng.choice([0, 3600, 86400, 7 * 86400]), "days": rng.choice([1, 30, 90]),
              "exclude_s": rng.choice([0, 600, 6 * 3600])}
        cases += [{**at, "users": [r["user"]]} if r["user"] else {**at, "hosts": [r["host"]]},
                  {**at, "hosts": [r["host"]], "event_ids": [r["eid"]]}]
        if r["src"]:
            cases.append({**at, "from_hosts": [r["src"]], "users": [r["user"]] if r["user"] else []})
    busy = 0
    for args in cases:
        want = graph_history(estate, args)
        assert store_history(estate, args) == want, args
        busy += sum(n for _, n, _, _ in want["days"]) >= 20
    assert busy >= 10  # many cases count many events


def test_unresolved_then_relinked_events_answer_as_the_graph(twin, tmp_path):
    """A capture naming its host short is loaded before the rest: its events carry
    HostUnresolved (no host, that kind) until the rest ties them, re-keyed to the host's
    full name with the chains of other events pointing at them."""
    import json

    from tests.test_winevents_real import otrf_lines, write

    lines = otrf_lines("empire_shell_rubeus_asktgt_ptt")
    short = write(tmp_path / "short.jsonl", [ln for ln in lines if json.loads(ln)["Hostname"] == "WORKSTATION6"])
    full = write(tmp_path / "full.jsonl", [ln for ln in lines if json.loads(ln)["Hostname"] != "WORKSTATION6"])
    tb = Toolbox(twin.driver, twin.database)
    ingest(twin.driver, [short], database=twin.database, now=1700000000)
    assert twin.value("MATCH (e:HostUnresolved) RETURN count(e)") == 165
    cases = [*cases_from(twin.driver, twin.database, n=10), {"hosts": ["WORKSTATION6"], "limit": 500}]
    assert_same_answers(tb, cases)
    assert "HostUnresolved" in store_find_events(tb, {"limit": 1})["events"][0]["kinds"]
    ingest(twin.driver, [full], database=twin.database, now=1700000000)
    assert twin.value("MATCH (e:HostUnresolved) RETURN count(e)") == 0
    rows, _ = assert_same_answers(tb, cases_from(twin.driver, twin.database, n=25))
    assert rows >= 500


def _corp(twin) -> Toolbox:
    corp_twin(twin.driver, twin.database)
    return Toolbox(twin.driver, twin.database, as_of=T0)


def test_a_store_read_is_audited_with_its_statement_and_counted(twin):
    tb = _corp(twin)
    before = len(tb.audit)
    out = tb.call_tool("find_events", {"users": ["HELPDESK1@CORP.LOCAL"], "window_s": 3600})
    assert [e["key"] for e in out["events"]] == ["EVT:WS07.CORP.LOCAL:Security:100", "EVT:WS07.CORP.LOCAL:Security:101",
                                                 "EVT:DC01.CORP.LOCAL:Security:900"]
    assert len(tb.audit) == before + 1  # one read, counted as any query is
    rec = tb.audit[-1]
    assert rec.tool == "find_events" and rec.ok and rec.rows == 3 and not rec.truncated
    assert "FROM events(" in rec.query and "list_has_any(list_concat(by_keys, target_keys), $accts)" in rec.query
    assert rec.parameters["accts"] == ["HELPDESK1@CORP.LOCAL"] and rec.parameters["near"] == T0


def test_a_store_read_is_bounded_in_rows(twin):
    corp_twin(twin.driver, twin.database)
    tb = Toolbox(twin.driver, twin.database, as_of=T0, limits=Limits(row_cap=2))
    out = tb.call("find_events", {"window_s": 3 * 86400, "limit": 50})
    assert out.total == 2 and tb.audit[-1].rows == 2 and tb.audit[-1].truncated


def test_a_store_read_is_bounded_in_time(twin, tmp_path):
    """A read past the toolbox's timeout is stopped and comes back as an error the model
    can read, audited as failed; the next read works."""
    store = open_store(path=tmp_path / "big")
    run = store.begin()
    for part in range(8):
        run.append([{"key": f"EVT:H{i % 50}:Security:{part}-{i}", "ts": T0 - i, "event_id": 4624, "kind": "LogonEvent",
                     "host": f"H{i % 50}", "by_keys": [], "target_keys": [f"U{i % 997}@X"], "props": {"n": i}}
                    for i in range(50_000)])
    run.commit()
    slow = Toolbox(twin.driver, twin.database, as_of=T0, events=store, limits=Limits(timeout_s=0.001))
    out = slow.call_tool("find_events", {"users": ["U5@X"], "window_s": 86400})
    assert out["error"]["type"] == "timeout" and "0.001s" in out["error"]["message"]
    assert not slow.audit[-1].ok and slow.audit[-1].error.startswith("timeout") and "FROM events(" in slow.audit[-1].query
    fine = Toolbox(twin.driver, twin.database, as_of=T0, events=store)
    assert fine.call("find_events", {"users": ["U5@X"], "window_s": 86400, "limit": 500}).total > 0


def test_an_unreadable_store_file_is_one_error_naming_it(twin, tmp_path):
    store = open_store(path=tmp_path / "broken")
    day = tmp_path / "broken" / "day=2023-11-14"
    day.mkdir(parents=True)
    (day / "1-1.parquet").write_bytes(b"not parquet at all")
    tb = Toolbox(twin.driver, twin.database, as_of=T0, events=store)
    out = tb.call_tool("find_events", {"window_s": 3600})
    assert out["error"]["type"] == "failed" and "1-1.parquet" in out["error"]["message"]
    assert "\n" not in out["error"]["message"] and not tb.audit[-1].ok


def test_find_events_never_reads_event_nodes(twin):
    """What the tool reads is the store: with the graph's Event nodes gone it still answers."""
    tb = _corp(twin)
    want = store_find_events(tb, {"window_s": 3 * 86400})
    twin.run("MATCH (e:Event) DETACH DELETE e")
    assert store_find_events(tb, {"window_s": 3 * 86400}) == want and want["total"] == 5
