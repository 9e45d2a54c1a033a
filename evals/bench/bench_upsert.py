"""Upsert throughput: TwinWriter against a bare `UNWIND $rows MERGE` loop, same server, same run.

    python -m evals.bench.bench_upsert [--nodes 200000] [--rels 1000000] [--batch 10000]

Both sides write the same rows in the same batch size; the twin is emptied before
each side. The bare loop has no provenance, no retries and no stats, one transaction
after another: the floor our engine's overhead is measured against. TwinWriter runs as
configured (TWINSIGHT_WRITE_WORKERS concurrent transactions, default 2, deadlock-free
by node lanes and mix-and-batch rounds; see graph/loader.py), so the ratio includes what
that parallelism buys back on the server's cores. With --rounds N each side runs N
times, alternating, and its fastest run is reported.
"""

from __future__ import annotations

import argparse
import random
import time

from evals.bench import open_twin
from graph.loader import TwinWriter
from graph.model import NodeSchema, RelSchema
from graph.schema import reset_twin
from graph.settings import write_workers

REL_TYPES = ["MemberOf", "AdminTo", "HasSession", "GenericAll", "CanRDP"]


def make_rows(n_nodes: int, n_rels: int, seed: int = 7):
    rnd = random.Random(seed)
    nodes = [
        {"key": f"N{i}@CORP.LOCAL", "props": {"name": f"N{i}@CORP.LOCAL", "objectid": f"S-1-5-21-9-{i}", "enabled": i % 3 != 0}}
        for i in range(n_nodes)
    ]
    rels: dict[str, list[dict]] = {t: [] for t in REL_TYPES}
    for i in range(n_rels):
        t = REL_TYPES[i % len(REL_TYPES)]
        rels[t].append({"src": f"N{rnd.randrange(n_nodes)}@CORP.LOCAL", "dst": f"N{rnd.randrange(n_nodes)}@CORP.LOCAL",
                        "props": {"isinherited": bool(i & 1)}})
    return nodes, rels


BARE_NODE = "UNWIND $rows AS row MERGE (n:Twin {key: row.key}) SET n:User, n += row.props"
BARE_REL = (
    "UNWIND $rows AS row MATCH (a:Twin {key: row.src}) MATCH (b:Twin {key: row.dst}) "
    "MERGE (a)-[r:%s]->(b) SET r += row.props"
)


def bare(driver, db, nodes, rels, batch):
    def run(query, rows):
        for i in range(0, len(rows), batch):
            with driver.session(database=db) as s:
                s.execute_write(lambda tx, chunk=rows[i:i + batch]: tx.run(query, rows=chunk).consume())

    t0 = time.perf_counter()
    run(BARE_NODE, nodes)
    t1 = time.perf_counter()
    for t, rows in rels.items():
        run(BARE_REL % t, rows)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def engine(driver, db, nodes, rels, batch):
    w = TwinWriter(driver, "bench", database=db, batch_size=batch)
    t0 = time.perf_counter()
    w.nodes(NodeSchema("User"), nodes)
    t1 = time.perf_counter()
    for t, rows in rels.items():
        w.rels(RelSchema(t), rows)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=200_000)
    ap.add_argument("--rels", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=1, help="alternate bare/engine this many times")
    args = ap.parse_args()
    _, driver, db = open_twin()
    nodes, rels = make_rows(args.nodes, args.rels)
    total_rels = sum(len(r) for r in rels.values())
    print(f"rows: {len(nodes)} nodes, {total_rels} relationships, batch {args.batch}, "
          f"TwinWriter workers {write_workers()}")
    results: dict[str, list[tuple[float, float]]] = {"bare UNWIND MERGE": [], "TwinWriter": []}
    for _ in range(args.rounds):
        for name, fn in (("bare UNWIND MERGE", bare), ("TwinWriter", engine)):
            reset_twin(driver, db)
            results[name].append(fn(driver, db, nodes, rels, args.batch))
    reset_twin(driver, db)
    print(f"{'':20} {'nodes/s':>10} {'rels/s':>10} {'rows/s':>10} {'seconds':>8}")
    rates = {}
    for name, runs in results.items():
        tn = min(r[0] for r in runs)
        tr = min(r[1] for r in runs)
        rows_s = (len(nodes) + total_rels) / (tn + tr)
        rates[name] = rows_s
        print(f"{name:20} {len(nodes) / tn:10.0f} {total_rels / tr:10.0f} {rows_s:10.0f} {tn + tr:8.1f}")
    print(f"ratio TwinWriter / bare: {rates['TwinWriter'] / rates['bare UNWIND MERGE']:.2f}x")
    driver.close()


if __name__ == "__main__":
    main()
