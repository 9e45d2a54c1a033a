"""Tool latency: each agent tool against the same Cypher run raw, same server, same run.

    python -m evals.bench.bench_tools [--sizes 1000,10000] [--iterations 40] [--seed 7]

For each size a synthetic twin is built with TwinWriter (graph.tools.fixtures
.synthetic_twin; the twin is emptied first). Each tool call is timed end to end
(pydantic in, guard, result models out); its queries are captured as they reached the
server and replayed right after through `driver.execute_query`, the floor the guard
and the models are measured against (the two sides alternate which runs first; the
ratio is the median of per-call ratios). Inputs rotate over random users, hosts and
targets. Goals: context tools p95 <= 100 ms, path tools p95 <= 1 s, overhead <= 1.2x.

A second table times the path search itself: the tools' `SHORTEST k` quantified path
pattern against `shortestPath()` / `allShortestPaths()` written for the same question.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import time
import warnings

import neo4j

from graph import server
from graph.db import open_driver
from graph.schema import apply_schema, reset_twin
from graph.settings import Neo4jSettings
from graph.tools.base import Toolbox
from graph.tools.fixtures import T0, synthetic_twin
from graph.tools.paths import LIVE_EDGE, PRECIOUS, TRAVERSE, build_path_query, path_params

CONTEXT_TOOLS = {"resolve_entities", "entity_context", "observed_path", "expert_cypher"}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def workloads(info: dict, rng: random.Random):
    users, hosts = info["users"], info["hosts"]
    jewels = info["jewels"] or [info["domain_admins"]]
    return {
        "resolve_entities": lambda: {"names": [rng.choice(users).split("@")[0].lower(),
                                               rng.choice(hosts).split(".")[0], f"CORP\\{rng.choice(users).split('@')[0]}"]},
        "entity_context": lambda: {"key": rng.choice(users + hosts)},
        "observed_path": lambda: {"entities": [rng.choice(users)], "as_of": T0},
        "expert_cypher": lambda: {"cypher": "MATCH (u:User {key: $k})-[:MemberOf*1..3]->(g:Group) "
                                            "RETURN DISTINCT g.key AS g ORDER BY g", "params": {"k": rng.choice(users)}},
        "attack_paths(source)": lambda: {"sources": [rng.choice(users)]},
        "attack_paths(entry)": lambda: {"target": rng.choice([info["domain_admins"], *jewels])},
        "blast_radius": lambda: {"key": rng.choice(users), "max_hops": 4},
        "choke_points": lambda: {"target": rng.choice(jewels), "max_paths": 200},
    }


def raw_replay(driver, db, trace):
    t0 = time.perf_counter()
    for query, params in trace:
        driver.execute_query(query, params, database_=db, routing_=neo4j.RoutingControl.READ)
    return (time.perf_counter() - t0) * 1000


def bench_tools(driver, db, info, iterations: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    tb = Toolbox(driver, db, as_of=T0)
    tb.guard.trace = []
    loads = workloads(info, rng)
    rows = []
    for label, make in loads.items():
        name = label.split("(")[0]
        for _ in range(3):  # warm the plan caches on both sides
            tb.guard.trace.clear()
            tb.call(name, make())
            raw_replay(driver, db, tb.guard.trace)
        tool_ms, raw_ms = [], []
        for i in range(iterations):
            args = make()
            tb.guard.trace.clear()
            tb.call(name, args)  # untimed: captures the queries and warms this input on the server
            trace = list(tb.guard.trace)

            def timed_tool(args=args, name=name) -> float:
                t0 = time.perf_counter()
                tb.call(name, args)
                return (time.perf_counter() - t0) * 1000

            if i % 2:  # alternate which side runs first, so neither always gets the warmer cache
                raw_ms.append(raw_replay(driver, db, trace))
                tool_ms.append(timed_tool())
            else:
                tool_ms.append(timed_tool())
                raw_ms.append(raw_replay(driver, db, trace))
        rows.append({
            "tool": label, "p50": pct(tool_ms, 0.5), "p95": pct(tool_ms, 0.95), "raw_p50": pct(raw_ms, 0.5),
            "raw_p95": pct(raw_ms, 0.95),
            "ratio": statistics.median(t / max(r, 1e-9) for t, r in zip(tool_ms, raw_ms, strict=True)),
            "goal_ms": 100 if name in CONTEXT_TOOLS else 1000,
        })
    return rows


def bench_engines(driver, db, info, iterations: int, seed: int) -> list[dict]:
    """The same questions asked with SHORTEST (what the tools use) and with shortestPath()."""
    rng = random.Random(seed + 1)
    users = info["users"]
    target = info["domain_admins"]
    precious = PRECIOUS.format(v="t")
    sp_source = (f"MATCH (s:Twin {{key: $src}}), (t:Twin) WHERE {precious}\n"
                 f"MATCH p = {{fn}}((s)-[:{TRAVERSE}*1..6]->(t))\n"
                 "RETURN [x IN nodes(p) | x.key] AS nodes LIMIT 200")
    sp_entry = ("MATCH (t:Twin {key: $target})\n"
                "MATCH (s:Twin) WHERE s:Internet OR (s:User AND coalesce(s.enabled, false) "
                "AND NOT coalesce(s.admincount, false))\n"
                f"MATCH p = {{fn}}((s)-[:{TRAVERSE}*1..6]->(t))\n"
                "WITH p LIMIT 200 RETURN [x IN nodes(p) | x.key] AS nodes")
    shortest_source = (f"MATCH (s:Twin {{key: $src}})\nMATCH p = SHORTEST 1 (s)-[r:{TRAVERSE} WHERE {LIVE_EDGE}]->{{1,6}}(t:Twin)\n"
                       f"WHERE {precious}\nRETURN [x IN nodes(p) | x.key] AS nodes LIMIT 200")
    cases = {
        "source->tier0": [
            ("SHORTEST 1 (QPP)", shortest_source),
            ("SHORTEST 5 + cost (tool)", build_path_query("source", 5, 6)),
            ("shortestPath()", sp_source.replace("{fn}", "shortestPath")),
            ("allShortestPaths()", sp_source.replace("{fn}", "allShortestPaths")),
        ],
        "entry->target": [
            ("SHORTEST 5 + cost (tool)", build_path_query("entry", 5, 6)),
            ("shortestPath()", sp_entry.replace("{fn}", "shortestPath")),
            ("allShortestPaths()", sp_entry.replace("{fn}", "allShortestPaths")),
        ],
    }
    out = []
    for case, variants in cases.items():
        inputs = [rng.choice(users) for _ in range(max(5, iterations // 2))]
        for name, query in variants:
            times = []
            for i, src in enumerate(inputs):
                params = {**path_params(sources=[src], target=target, keep=20), "src": src}
                t0 = time.perf_counter()
                driver.execute_query(query, params, database_=db, routing_=neo4j.RoutingControl.READ)
                if i:  # the first run plans
                    times.append((time.perf_counter() - t0) * 1000)
            out.append({"case": case, "variant": name, "p50": pct(times, 0.5), "p95": pct(times, 0.95)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="approximate node counts")
    ap.add_argument("--iterations", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    settings = Neo4jSettings.from_env()
    server.ensure_running(settings)
    driver = open_driver(settings)
    db = settings.database
    apply_schema(driver, db)
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            reset_twin(driver, db)
            users = max(30, int(size / 2.9))
            t0 = time.perf_counter()
            info = synthetic_twin(driver, db, users=users, hosts=users // 2, groups=max(20, users // 10), seed=args.seed)
            nodes = driver.execute_query("MATCH (n) RETURN count(n) AS c", database_=db).records[0]["c"]
            rels = driver.execute_query("MATCH ()-[r]->() RETURN count(r) AS c", database_=db).records[0]["c"]
            print(f"\n== twin ~{size}: {nodes} nodes, {rels} relationships (built in {time.perf_counter() - t0:.1f}s)")
            print(f"{'tool':22s} {'p50 ms':>8s} {'p95 ms':>8s} {'raw p50':>8s} {'raw p95':>8s} {'ratio':>6s} {'goal p95':>9s}")
            for r in bench_tools(driver, db, info, args.iterations, args.seed):
                ok = "ok" if r["p95"] <= r["goal_ms"] else "MISS"
                print(f"{r['tool']:22s} {r['p50']:8.1f} {r['p95']:8.1f} {r['raw_p50']:8.1f} {r['raw_p95']:8.1f} "
                      f"{r['ratio']:6.2f} {r['goal_ms']:>6d} {ok}")
            print(f"\n{'path search':16s} {'variant':26s} {'p50 ms':>8s} {'p95 ms':>8s}")
            for r in bench_engines(driver, db, info, args.iterations, args.seed):
                print(f"{r['case']:16s} {r['variant']:26s} {r['p50']:8.1f} {r['p95']:8.1f}")
    finally:
        driver.close()


if __name__ == "__main__":
    main()
