"""observed_path with its events from the event store against the same call reading the graph's Event nodes.

    python -m evals.bench.bench_observed_path [--hosts 120] [--users 240] [--days 1] [--rounds 3] [--reset]

On a generated enterprise with operations (Windows logons, processes, tickets,
replication, Zeek, alerts), ingested once, its events then also written as graph nodes
the way the connectors wrote them before events moved to the store
(graph.tools.fixtures.events_as_nodes), in one run against one server: every call is answered twice, by `observed_path` (its events from
the store, through the toolbox's audited door) and by the same tool with its events read
by the Cypher it ran before over the per-event nodes (`GRAPH_OBSERVED_EVENTS`, the
baseline; what the twin knows, rights, flows, alerts, is read the same way on both
sides). The answers must be equal (else the benchmark stops). The calls are the path
hunter's: each alert, and random events' accounts and hosts with windows of an hour to
a week; the two sides alternate which runs first. Printed: p50/p95 of each, and the
median of per-call ratios store / graph (below 1 = the store is faster).

Standalone (no helper shared with the other benchmarks): tests/test_tools_observed_store.py
holds the store's answers to the baseline here.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from graph.tools.base import Toolbox
from graph.tools.observed import ObservedInput, observed

# What observed_path ran on the graph before it read the store: anchored on the entities
# when there are some (their events only), else every event of the window; the first
# `cap` by (time, key), one row per combination of the event's links (ordered by account
# within an event here: the planner's order, which it left open, made fixed).
_EVENTS_OF = """
MATCH (x:Twin) WHERE x.key IN $entities
MATCH (e:Event)-[:OnHost|ByUser|TargetsUser|FromHost]->(x)
WHERE e.timestamp >= $lo AND e.timestamp <= $hi
WITH DISTINCT e ORDER BY e.timestamp, e.key LIMIT $cap
"""
_EVENTS_ALL = """
MATCH (e:Event)
WHERE e.timestamp >= $lo AND e.timestamp <= $hi
WITH e ORDER BY e.timestamp, e.key LIMIT $cap
"""
_EVENT_FIELDS = """
OPTIONAL MATCH (e)-[:OnHost]->(h)
OPTIONAL MATCH (e)-[:ByUser]->(u)
OPTIONAL MATCH (e)-[:TargetsUser]->(tu)
OPTIONAL MATCH (e)-[:FromHost]->(fh)
RETURN e.key AS key, [l IN labels(e) WHERE l ENDS WITH 'Event' AND l <> 'Event'][0] AS kind,
       e.event_id AS event_id, e.timestamp AS ts, e.logon_type AS logon_type, e.image AS image,
       e.command_line AS command_line, h.key AS host, h.domain AS host_domain, u.key AS user,
       tu.key AS target_user, fh.key AS from_host
ORDER BY ts, key, user, target_user
"""
GRAPH_OBSERVED_EVENTS = {"of": _EVENTS_OF + _EVENT_FIELDS, "all": _EVENTS_ALL + _EVENT_FIELDS}


def graph_events(tb: Toolbox, entities: list[str], lo: int, hi: int, cap: int) -> list[dict]:
    """observed_path's events as it read them before: the graph's Event nodes and links."""
    query = GRAPH_OBSERVED_EVENTS["of" if entities else "all"]
    return tb.rows("reference", query, {"entities": entities, "lo": lo, "hi": hi, "cap": cap})


def graph_observed_path(tb: Toolbox, args: dict) -> dict:
    """observed_path as it was: the same arguments, its events read from the graph."""
    return observed(tb, ObservedInput.model_validate(args), graph_events).model_dump(mode="json")


def store_observed_path(tb: Toolbox, args: dict) -> dict:
    return tb.call("observed_path", args).model_dump(mode="json")


def observed_cases(driver, database, n: int, seed: int, *, cuts: bool = True) -> list[dict]:
    """The path hunter's calls: each alert (its entities and time), and at `n` random
    events' times their host, account, source host, the pair, and no entity at all (every
    event of the window), with windows of a minute to a week; `cuts` adds small
    `max_steps` that cut the answer."""
    rng = random.Random(seed)
    alerts = [r["key"] for r in driver.execute_query(
        "MATCH (a:Alert) WHERE a.timestamp IS NOT NULL RETURN a.key AS key ORDER BY key", database_=database).records]
    recs = driver.execute_query(
        "MATCH (e:Event) WHERE e.timestamp IS NOT NULL OPTIONAL MATCH (e)-[:OnHost]->(h) "
        "OPTIONAL MATCH (e)-[:FromHost]->(s) OPTIONAL MATCH (e)-[:ByUser|TargetsUser]->(u) "
        "RETURN e.key AS key, e.timestamp AS ts, h.key AS host, s.key AS src, u.key AS user ORDER BY key, user",
        database_=database).records
    out: list[dict] = []
    for key in alerts[:40]:
        out.append({"alert": key})
        out.append({"alert": key, "before_s": rng.choice([600, 7 * 86400]), "max_steps": rng.choice([5, 200])})
    steps = [3, 10, 50, 500] if cuts else [500]
    for r in rng.sample(recs, min(n, len(recs))):
        at = {"as_of": r["ts"], "before_s": rng.choice([60, 3600, 86400, 7 * 86400]),
              "after_s": rng.choice([0, 3600]), "max_steps": rng.choice(steps)}
        for ents in ([r["host"]], [r["user"]], [r["src"]], [r["host"], r["user"]]):
            if all(ents):
                out.append({**at, "entities": ents})
        out.append({**at, "entities": [], "before_s": 600, "after_s": 60})
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _open_empty_twin(reset: bool):
    """The local (or NEO4J_URI) server with the schema and nothing in it; a twin that
    holds data is emptied only with --reset."""
    from graph import server
    from graph.db import open_driver
    from graph.schema import apply_schema, reset_twin
    from graph.settings import Neo4jSettings

    settings = Neo4jSettings.from_env()
    if not settings.external:
        server.start(settings)
    driver = open_driver(settings)
    apply_schema(driver, settings.database)
    if driver.execute_query("MATCH (n) RETURN count(n) AS c", database_=settings.database).records[0]["c"]:
        if not reset:
            log("the twin is not empty: pass --reset to empty it for the benchmark")
            driver.close()
            return None
        reset_twin(driver, settings.database)
    return driver, settings.database


def main(argv: list[str] | None = None) -> int:
    from graph.events import EventFilter, open_store
    from graph.generate import generate
    from graph.ingest.registry import ingest
    from graph.loader import TwinWriter
    from graph.tools.fixtures import events_as_nodes

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=120)
    ap.add_argument("--users", type=int, default=240)
    ap.add_argument("--days", type=int, default=1, help="days of operations")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--calls", type=int, default=40, help="events whose time and names the calls take")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reset", action="store_true", help="empty the twin first")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    opened = _open_empty_twin(args.reset)
    if opened is None:
        return 2
    driver, db = opened
    out = Path(tempfile.mkdtemp(prefix="twinsight-observed-"))
    try:
        log(f"generating {args.hosts} hosts / {args.users} users with {args.days} day(s) of operations ...")
        doc = generate(out / "gen", seed=args.seed, hosts=args.hosts, users=args.users, ops=True, days=args.days)
        store = open_store(path=out / "store")
        log("ingesting (graph and store) ...")
        ingest(driver, [out / "gen" / p for p in doc["ingest_paths"]], database=db, events=store)
        # the graph side: the same events as nodes, as the connectors wrote them before the store
        events_as_nodes(TwinWriter(driver, "reference", database=db), store.query(EventFilter()))
        n_events = store.count()
        tb = Toolbox(driver, db, events=store)
        calls = observed_cases(driver, db, args.calls, args.seed, cuts=False)
        log(f"{n_events} events; {len(calls)} calls x {args.rounds} rounds ...")
        graph_ms: list[float] = []
        store_ms: list[float] = []
        ratios: list[float] = []
        steps = 0
        for rnd in range(args.rounds):
            for i, call in enumerate(calls):
                timed = {}
                sides = [("graph", graph_observed_path), ("store", store_observed_path)]
                for name, fn in sides if (i + rnd) % 2 else sides[::-1]:
                    t0 = time.perf_counter()
                    timed[name] = (fn(tb, call), (time.perf_counter() - t0) * 1000)
                if timed["graph"][0] != timed["store"][0]:
                    raise SystemExit(f"the store answered differently from the graph for {json.dumps(call)}")
                steps += len(timed["store"][0]["steps"])
                graph_ms.append(timed["graph"][1])
                store_ms.append(timed["store"][1])
                ratios.append(timed["store"][1] / timed["graph"][1])
    finally:
        driver.close()
        shutil.rmtree(out, ignore_errors=True)

    results = {
        "events": n_events, "hosts": args.hosts, "users": args.users, "days": args.days, "calls": len(graph_ms),
        "steps_per_call": round(steps / max(1, len(graph_ms)), 1),
        "graph_ms": {"p50": round(pct(graph_ms, 0.5), 2), "p95": round(pct(graph_ms, 0.95), 2)},
        "store_ms": {"p50": round(pct(store_ms, 0.5), 2), "p95": round(pct(store_ms, 0.95), 2)},
        "ratio_store_vs_graph": round(statistics.median(ratios), 3),
    }
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{n_events} events, {results['calls']} calls (identical answers), {results['steps_per_call']} steps a call")
    print(f"{'observed_path events from':<28} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'graph (Event nodes, before)':<28} {results['graph_ms']['p50']:>8} {results['graph_ms']['p95']:>8}")
    print(f"{'event store':<28} {results['store_ms']['p50']:>8} {results['store_ms']['p95']:>8}")
    print(f"observed_path from the store = {results['ratio_store_vs_graph']:.3f}x the graph's time "
          "(median of per-call ratios)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
