"""find_events from the event store against the same call answered by the graph's Event nodes.

    python -m evals.bench.bench_find_events [--hosts 120] [--users 240] [--rounds 3] [--reset]

On a generated enterprise with a day of operations (Windows logons, processes, tickets,
replication, Zeek), ingested once, its events then also written as graph nodes the way
the connectors wrote them before events moved to the store (graph.tools.fixtures.
events_as_nodes), in one run against one server: every call is answered twice, by `find_events` (the store, through the
toolbox's audited door) and by the Cypher it ran before over the per-event nodes
(`GRAPH_FIND_EVENTS`, the baseline, through the same guard and the same result model).
The two answers must be equal (else the benchmark stops). The calls are the pivots the
analysts make (an account, a host with the family's event ids, an address, one event
id) at a random event's time, with the offline analyst's windows and limits; the two
sides alternate which runs first. Printed: p50/p95 of each, and the median of per-call
ratios store / graph (below 1 = the store is faster).
"""

from __future__ import annotations

import json
import random
import statistics
import time

from evals.bench import enterprise_args, generated_enterprise, log, parse_enterprise_args
from graph.events import EventFilter, open_store
from graph.ingest.registry import ingest
from graph.loader import TwinWriter
from graph.timestamps import parse_time
from graph.tools.base import Toolbox
from graph.tools.events import FindEventsInput, events_answer
from graph.tools.fixtures import events_as_nodes

# What find_events ran on the graph before it read the store: the baseline here and the
# reference tests/test_tools_events_store.py holds the store's answers to.
GRAPH_FIND_EVENTS = """
MATCH (e:Event)
WHERE ($lo IS NULL OR e.timestamp >= $lo) AND ($hi IS NULL OR e.timestamp <= $hi)
  AND (size($eids) = 0 OR e.event_id IN $eids)
  AND (size($kinds) = 0 OR any(l IN labels(e) WHERE l IN $kinds))
  AND (size($ips) = 0 OR e.ip IN $ips OR e.src_ip IN $ips OR e.dst_ip IN $ips)
OPTIONAL MATCH (e)-[:OnHost]->(h:Computer)
OPTIONAL MATCH (e)-[:FromHost]->(src:Computer)
WITH e, h, src
WHERE (size($hosts) = 0 OR h.key IN $hosts OR src.key IN $hosts)
OPTIONAL MATCH (e)-[:ByUser]->(b)
OPTIONAL MATCH (e)-[:TargetsUser]->(t)
WITH e, h, src, collect(DISTINCT b.key) AS by, collect(DISTINCT t.key) AS targets
WHERE size($users) = 0 OR any(u IN by WHERE u IN $users) OR any(u IN targets WHERE u IN $users)
RETURN e.key AS key, [l IN labels(e) WHERE l <> 'Twin'] AS kinds, e.event_id AS event_id,
       e.timestamp AS timestamp, h.key AS host, by, targets, src.key AS from_host,
       coalesce(e.ip, e.src_ip) AS ip, e.logon_type AS logon_type, e.image AS image,
       e.parent_image AS parent_image, e.command_line AS command_line,
       e.ticket_encryption AS ticket_encryption, e.pre_auth_type AS pre_auth_type,
       e.service_name AS service_name, e.object_name AS object_name, e.share_name AS share_name, e.properties AS properties,
       e.subject_user AS subject_user, e.target_user AS target_user, e.channel AS channel,
       e.provider AS provider, e.logon_id AS logon_id, e.subject_logon_id AS subject_logon_id,
       e.target_logon_id AS target_logon_id, e.process_id AS process_id, e.process_guid AS process_guid,
       e.parent_process_guid AS parent_process_guid, e.src_ip AS src_ip, e.src_port AS src_port,
       e.dst_ip AS dst_ip, e.dst_port AS dst_port, e.access_mask AS access_mask,
       e.granted_access AS granted_access, e.target_image AS target_image,
       e.target_filename AS target_filename, e.target_object AS target_object, e.status AS status,
       e.workstation AS workstation, e.auth_package AS auth_package,
       COLLECT { MATCH (e)-[:InLogonSession]->(l) RETURN l.key LIMIT 1 }[0] AS in_session,
       COLLECT { MATCH (e)-[:SpawnedBy]->(pp) RETURN pp.key LIMIT 1 }[0] AS parent,
       CASE WHEN $raw THEN e.fields ELSE null END AS raw
ORDER BY CASE WHEN $t IS NULL THEN 0 ELSE abs(timestamp - $t) END, timestamp, key
LIMIT $limit
"""


def graph_find_events(tb: Toolbox, args: dict) -> dict:
    """find_events as it was: the same arguments, answered by the graph's Event nodes."""
    a = FindEventsInput.model_validate(args)
    t = parse_time(a.as_of) if a.as_of is not None else tb.as_of
    lo = hi = None
    if t is not None:
        lo = t - (a.before_s if a.before_s is not None else a.window_s)
        hi = t + (a.after_s if a.after_s is not None else a.window_s)
    rows = tb.rows("reference", GRAPH_FIND_EVENTS, {
        "t": t, "lo": lo, "hi": hi, "eids": a.event_ids, "kinds": list(a.kinds), "ips": a.ips, "hosts": a.hosts,
        "users": a.users, "limit": a.limit, "raw": a.include_raw})
    return events_answer(rows, lo, hi).model_dump(mode="json")


def store_find_events(tb: Toolbox, args: dict) -> dict:
    return tb.call("find_events", args).model_dump(mode="json")


def pivots(driver, database, n: int, seed: int) -> list[dict]:
    """The analysts' calls (agents/offline.py) at `n` random events' times."""
    rng = random.Random(seed)
    recs = driver.execute_query(
        "MATCH (e:Event) WHERE e.timestamp IS NOT NULL OPTIONAL MATCH (e)-[:OnHost]->(h:Computer) "
        "OPTIONAL MATCH (e)-[:ByUser|TargetsUser]->(u) "
        "RETURN e.timestamp AS ts, h.key AS host, u.key AS user, e.event_id AS eid, "
        "coalesce(e.ip, e.src_ip) AS ip ORDER BY e.key", database_=database).records
    out = []
    for r in rng.sample(recs, min(n, len(recs))):
        at = {"as_of": r["ts"]}
        if r["user"]:
            out.append({**at, "users": [r["user"]], "before_s": 86400, "after_s": 3600, "limit": 400,
                        "include_raw": True})
        if r["host"]:
            out.append({**at, "hosts": [r["host"]], "event_ids": [4624, 4634, 4647], "before_s": 12 * 3600,
                        "after_s": 60, "limit": 200})
            out.append({**at, "hosts": [r["host"]], "event_ids": [1, 4688], "before_s": 2 * 3600, "after_s": 60,
                        "limit": 100})
        if r["ip"]:
            out.append({**at, "ips": [r["ip"]], "event_ids": [3], "before_s": 180, "after_s": 60, "limit": 50})
        if r["eid"] is not None:
            out.append({**at, "event_ids": [r["eid"]], "window_s": 3600, "limit": 50})
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main(argv: list[str] | None = None) -> int:
    ap = enterprise_args(__doc__, hosts=120, users=240, seed=3)
    ap.add_argument("--calls", type=int, default=40, help="events whose time and names the calls take")
    ap.add_argument("--rounds", type=int, default=3)
    args = parse_enterprise_args(ap, argv)
    with generated_enterprise(args, "twinsight-find-events-") as g:
        if g is None:
            return 2
        driver, db, out, doc = g.driver, g.db, g.out, g.doc
        store = open_store(path=out / "store")
        log("ingesting (graph and store) ...")
        ingest(driver, [g.gen / p for p in doc["ingest_paths"]], database=db, events=store)
        # the graph side: the same events as nodes, as the connectors wrote them before the store
        events_as_nodes(TwinWriter(driver, "reference", database=db), store.query(EventFilter()))
        n_events = store.count()
        tb = Toolbox(driver, db, events=store)
        calls = pivots(driver, db, args.calls, args.seed)
        log(f"{n_events} events; {len(calls)} calls x {args.rounds} rounds ...")
        graph_ms: list[float] = []
        store_ms: list[float] = []
        ratios: list[float] = []
        rows = 0
        for rnd in range(args.rounds):
            for i, call in enumerate(calls):
                timed = {}
                sides = [("graph", graph_find_events), ("store", store_find_events)]
                for name, fn in sides if (i + rnd) % 2 else sides[::-1]:
                    t0 = time.perf_counter()
                    timed[name] = (fn(tb, call), (time.perf_counter() - t0) * 1000)
                if timed["graph"][0] != timed["store"][0]:
                    raise SystemExit(f"the store answered differently from the graph for {json.dumps(call)}")
                rows += timed["store"][0]["total"]
                graph_ms.append(timed["graph"][1])
                store_ms.append(timed["store"][1])
                ratios.append(timed["store"][1] / timed["graph"][1])

    results = {
        "events": n_events, "hosts": args.hosts, "users": args.users, "calls": len(graph_ms),
        "rows_per_call": round(rows / max(1, len(graph_ms)), 1),
        "graph_ms": {"p50": round(pct(graph_ms, 0.5), 2), "p95": round(pct(graph_ms, 0.95), 2)},
        "store_ms": {"p50": round(pct(store_ms, 0.5), 2), "p95": round(pct(store_ms, 0.95), 2)},
        "ratio_store_vs_graph": round(statistics.median(ratios), 3),
    }
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{n_events} events, {results['calls']} calls (identical answers), {results['rows_per_call']} rows a call")
    print(f"{'reader':<28} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'graph (Event nodes, before)':<28} {results['graph_ms']['p50']:>8} {results['graph_ms']['p95']:>8}")
    print(f"{'event store (find_events)':<28} {results['store_ms']['p50']:>8} {results['store_ms']['p95']:>8}")
    print(f"find_events from the store = {results['ratio_store_vs_graph']:.3f}x the graph's time (median of per-call ratios)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
