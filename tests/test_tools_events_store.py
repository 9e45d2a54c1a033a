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
from graph.loader import TwinWriter
from graph.schema import reset_twin
from graph.tools.base import Limits, Toolbox
from graph.tools.chain import ChainInput, ChainOutput, ChainStep, HistoryInput, _hms
from graph.tools.events import FindEventsInput
from graph.tools.fixtures import T0, corp_twin, events_as_nodes
from graph.tools.spec import ToolError, iso
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
    # the reference: the same events as graph nodes, as the connectors wrote them before
    # events moved to the store (an ingest writes none: the first assertion says so)
    assert driver.execute_query("MATCH (e:Event) WHERE NOT ()-[:Involves]->(e) RETURN count(e) AS n",
                                database_=neo4j_settings.database).records[0]["n"] == 0
    events_as_nodes(TwinWriter(driver, "reference", database=neo4j_settings.database),
                    open_store(neo4j_settings.database).query(EventFilter()))
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


# What session_chain ran on the graph before it read the store (its reference, here only).
GRAPH_ORIGIN = """
MATCH (e:Event {key: $key})
OPTIONAL MATCH (e)-[:OnHost]->(h)
OPTIONAL MATCH (e)-[:SpawnedBy]->{0,12}(anc:Event)
WITH e, h, collect(DISTINCT anc) AS lineage
CALL (e, lineage) {
  UNWIND lineage AS x
  MATCH (x)-[:InLogonSession]->(l:Event)
  WITH l, x ORDER BY x.timestamp DESC
  RETURN collect(l)[0] AS sess
}
WITH e, h, lineage, CASE WHEN e:LogonEvent THEN e ELSE sess END AS logon
OPTIONAL MATCH (logon)-[:FromHost]->(lsrc)
OPTIONAL MATCH (logon)-[:TargetsUser]->(lu)
OPTIONAL MATCH (logon)-[:OnHost]->(lh)
OPTIONAL MATCH (e)-[:FromHost]->(esrc)
OPTIONAL MATCH (e)-[:ByUser]->(eu)
RETURN e.key AS key, e.event_id AS event_id, e.timestamp AS ts, h.key AS host,
       [x IN lineage WHERE x <> e | {key: x.key, image: x.image, ts: x.timestamp}] AS ancestors,
       logon.key AS logon, logon.timestamp AS logon_ts, logon.logon_type AS logon_type,
       logon.ip AS logon_ip, lsrc.key AS logon_from, lu.key AS logon_user, lh.key AS logon_host,
       esrc.key AS event_from, coalesce(e.ip, e.src_ip) AS event_ip, collect(DISTINCT eu.key) AS event_users
"""
# The step before a logon: the same account active on the source host shortly before —
# its own logon there, else someone typing its credentials there (4648: the subject is
# who really acted), else a process it ran — the latest first.
GRAPH_BEFORE = """
MATCH (h:Twin {key: $host})
MATCH (e:Event)-[:OnHost]->(h)
WHERE e.timestamp <= $ts AND e.timestamp >= $ts - $lookback
  AND ((e:LogonEvent AND EXISTS { (e)-[:TargetsUser]->(:Twin {key: $user}) })
       OR (e.event_id = 4648 AND EXISTS { (e)-[:TargetsUser]->(:Twin {key: $user}) })
       OR (e:ProcessEvent AND EXISTS { (e)-[:ByUser]->(:Twin {key: $user}) }))
WITH e ORDER BY CASE WHEN e:LogonEvent THEN 0 WHEN e.event_id = 4648 THEN 1 ELSE 2 END, e.timestamp DESC LIMIT 1
RETURN e.key AS key
"""



def graph_session_chain(tb: Toolbox, args: dict) -> dict:
    """session_chain as it was, walking the graph's Event nodes and their links."""
    args = ChainInput.model_validate(args)
    steps: list[ChainStep] = []
    seen: set[str] = set()
    key = args.event
    lineage: list[str] = []
    origin_ip = None
    for hop in range(args.max_hops + 1):
        if key in seen:
            break
        seen.add(key)
        rows = tb.rows("reference", GRAPH_ORIGIN, {"key": key})
        if not rows:
            if hop == 0:
                raise ToolError("not_found", f"no event with key {key!r} in the twin")
            break
        r = rows[0]
        if hop == 0:
            lineage = [a["key"] for a in sorted(r["ancestors"], key=lambda a: -(a["ts"] or 0))]
        users = r["event_users"] or []
        account = r["logon_user"] or (users[0] if users else None)
        from_host = r["logon_from"] or r["event_from"]
        from_ip = r["logon_ip"] or r["event_ip"]
        step = ChainStep(host=r["logon_host"] or r["host"], account=account, time=iso(r["logon_ts"] or r["ts"]),
                         timestamp=r["logon_ts"] or r["ts"], logon=r["logon"], logon_type=r["logon_type"],
                         from_host=from_host if from_host != (r["logon_host"] or r["host"]) else None,
                         from_ip=from_ip, evidence=[k for k in (r["key"], r["logon"]) if k])
        steps.append(step)
        if step.from_host is None:
            if from_ip and step.logon_type not in (2, 7, 11, None):
                origin_ip = from_ip
            break
        if account and account.split("@")[0].rstrip("$").upper() == step.from_host.split(".")[0].upper() \
                or account == step.from_host:
            # a computer acting as itself: its own host is where it comes from
            steps.append(ChainStep(host=step.from_host, account=account, time=None, timestamp=None))
            break
        nxt = tb.rows("reference", GRAPH_BEFORE, {"host": step.from_host, "user": account or "",
                                                  "ts": step.timestamp or 0, "lookback": args.lookback_s})
        if not nxt:
            steps.append(ChainStep(host=step.from_host, account=account, time=None, timestamp=None))
            break
        key = nxt[0]["key"]
    origin = steps[-1] if steps else None
    return ChainOutput(event=args.event, found=bool(steps), steps=steps,
                       origin_host=origin.host if origin else None,
                       origin_account=origin.account if origin else None,
                       origin_ip=origin_ip, lineage=lineage).model_dump(mode="json")


def test_session_chain_from_the_store_walks_as_the_graph_did(estate):
    """A sample of the estate's processes, logons, tickets and replications traced back
    both ways: the same steps, origin, lineage and evidence."""
    recs = estate.driver.execute_query(
        "MATCH (e:Event) WHERE e:ProcessEvent OR e:LogonEvent OR e:ReplicationEvent OR e:TicketEvent "
        "RETURN e.key AS key, e:ProcessEvent AS proc ORDER BY key", database_=estate.database).records
    import random

    picked = random.Random(4).sample(recs, 150) + [r for r in recs if r["proc"]][:60]
    hops = lineage = 0
    for r in picked:
        args = {"event": r["key"], "max_hops": 4}
        want = graph_session_chain(estate, args)
        assert estate.call("session_chain", args).model_dump(mode="json") == want, args
        hops += len(want["steps"]) > 1
        lineage += bool(want["lineage"])
    assert hops >= 20 and lineage >= 20, (hops, lineage)


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

    def reference() -> None:  # the graph side: the store's rows as the per-event nodes
        twin.run("MATCH (e:Event) DETACH DELETE e")
        events_as_nodes(TwinWriter(twin.driver, "reference", database=twin.database), twin.events())

    ingest(twin.driver, [short], database=twin.database, now=1700000000)
    assert len(twin.events(marks=["HostUnresolved"])) == 165
    reference()
    cases = [*cases_from(twin.driver, twin.database, n=10), {"hosts": ["WORKSTATION6"], "limit": 500}]
    assert_same_answers(tb, cases)
    assert "HostUnresolved" in store_find_events(tb, {"limit": 1})["events"][0]["kinds"]
    ingest(twin.driver, [full], database=twin.database, now=1700000000)
    assert twin.events(marks=["HostUnresolved"]) == []
    reference()
    rows, _ = assert_same_answers(tb, cases_from(twin.driver, twin.database, n=25))
    assert rows >= 500
    procs = twin.run("MATCH (e:ProcessEvent) RETURN e.key AS key ORDER BY key LIMIT 40")
    for r in procs:  # re-keyed processes and the chains of others that name them
        args = {"event": r["key"]}
        assert tb.call("session_chain", args).model_dump(mode="json") == graph_session_chain(tb, args), args


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


def test_the_relinks_patch_moves_chains_and_drops_marks_as_the_graph_does(tmp_path):
    """Re-keyed events take the chains that name them along (a session and a parent in
    another day's file); tying a host, a source host or the accounts drops its mark."""
    store = open_store(path=tmp_path / "store")
    day = 86400

    def row(key, ts, kind, marks, **kw):
        return {"key": key, "ts": ts, "kind": kind, "host": key.split(":")[1], "marks": marks, "by_keys": [],
                "target_keys": [], "props": {"timestamp": ts}, **kw}

    run = store.begin()
    run.append([row("EVT:WS6:Security:1", T0 - day, "LogonEvent", ["HostUnresolved", "IpUnresolved"]),
                row("EVT:WS6:Sysmon:2", T0 - day + 1, "ProcessEvent", ["HostUnresolved"]),
                row("EVT:WS6:Sysmon:3", T0, "ProcessEvent", ["HostUnresolved", "AccountUnresolved"],
                    in_session="EVT:WS6:Security:1", parent="EVT:WS6:Sysmon:2")])
    run.commit()
    assert len(store.files()) == 2  # the child is in the next day's file
    full = "WS6.CORP.LOCAL"
    store.patch({f"EVT:WS6:{k}": {"key": f"EVT:{full}:{k}", "host": full}
                 for k in ("Security:1", "Sysmon:2", "Sysmon:3")})
    store.patch({f"EVT:{full}:Security:1": {"from_host": "WS1.CORP.LOCAL"},
                 f"EVT:{full}:Sysmon:3": {"by_keys": ["BOB@CORP.LOCAL"], "settled": ["AccountUnresolved"]}})
    got = {r["key"]: r for r in store.query(EventFilter())}
    assert sorted(got) == [f"EVT:{full}:Security:1", f"EVT:{full}:Sysmon:2", f"EVT:{full}:Sysmon:3"]
    child = got[f"EVT:{full}:Sysmon:3"]
    assert child["in_session"] == f"EVT:{full}:Security:1" and child["parent"] == f"EVT:{full}:Sysmon:2"
    assert child["by_keys"] == ["BOB@CORP.LOCAL"] and all(r["marks"] == [] for r in got.values())
    lineage = store.read(EventFilter(keys=[f"EVT:{full}:Sysmon:3"]), shape="lineage").rows
    assert [(r["key"], r["depth"]) for r in lineage] == [
        (f"EVT:{full}:Sysmon:3", 0), (f"EVT:{full}:Sysmon:2", 1), (f"EVT:{full}:Security:1", None)]


def test_a_lineage_is_read_from_the_days_before_its_event_only(tmp_path):
    """session_chain's lineage read is bounded (LINEAGE_BOUND, graph/tools/chain.py): the
    event's time is found first, then only the days from the bound before it to its own
    are read. What the bound loses is an ancestor older than it; one within it is found as
    by the read of every day."""
    store = open_store(path=tmp_path / "store")
    day, week = 86400, 7 * 86400

    def row(key, ts, kind, **kw):
        return {"key": key, "ts": ts, "kind": kind, "host": "WS1", "by_keys": [], "target_keys": [],
                "props": {"timestamp": ts}, **kw}

    run = store.begin()
    run.append([row(f"EVT:WS1:Sysmon:n{i}", T0 + (i - 30) * day, "NetworkEvent") for i in range(36)] + [
        row("EVT:WS1:Sysmon:g", T0 - 8 * day - day // 2, "ProcessEvent"),
        row("EVT:WS1:Security:l", T0 - 3 * day, "LogonEvent"),
        row("EVT:WS1:Sysmon:p", T0 - 2 * day, "ProcessEvent", parent="EVT:WS1:Sysmon:g", in_session="EVT:WS1:Security:l"),
        row("EVT:WS1:Sysmon:c", T0, "ProcessEvent", parent="EVT:WS1:Sysmon:p", in_session="EVT:WS1:Security:l")])
    run.commit()

    def lineage(key, bound):
        got = store.read(EventFilter(keys=[key], lineage_s=bound), shape="lineage")
        return [(r["key"].rsplit(":", 1)[1], r["depth"]) for r in got.rows], got

    every, unbounded = lineage("EVT:WS1:Sysmon:c", None)
    assert every == [("c", 0), ("p", 1), ("g", 2), ("l", None)]
    assert f"{len(store.files())} files)" in unbounded.statement and len(store.files()) == 36
    got, bounded = lineage("EVT:WS1:Sysmon:c", week)
    assert got == [("c", 0), ("p", 1), ("l", None)]  # the grandparent, 8.5 days before, is past the bound
    days = len(store.files(T0 - week, T0))
    assert days == 8 and bounded.statement.startswith("SELECT min(ts), max(ts)") and f"{days} files)" in bounded.statement
    assert bounded.params["lineage_s"] == week
    # the parent's grandparent is 6.5 days before it: within its bound, found as by every day
    assert lineage("EVT:WS1:Sysmon:p", week)[0] == lineage("EVT:WS1:Sysmon:p", None)[0] == [("p", 0), ("g", 1), ("l", None)]
    assert lineage("EVT:WS1:Sysmon:nope", week)[0] == []


def test_session_chain_reads_the_lineage_within_the_session_lookback(twin):
    tb = _corp(twin)
    tb.call("session_chain", {"event": "EVT:WS07.CORP.LOCAL:Security:101"})
    rec = next(a for a in tb.audit if a.tool == "session_chain")
    assert rec.ok and rec.parameters["lineage_s"] == tb.limits.session_lookback_s == 7 * 86400
    assert rec.query.startswith("SELECT min(ts), max(ts)") and "WITH RECURSIVE" in rec.query
