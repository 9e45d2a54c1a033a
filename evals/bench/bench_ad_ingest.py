"""End to end at enterprise size: generate the synthetic estate, then ingest it through the
real connectors into an emptied twin, timing each phase.

    python -m evals.bench.bench_ad_ingest [--users 40000 --hosts 24000] [--groups N] [--seed 1]
                                          [--out DIR] [--keep] [--json]

Start the server with room for it first, e.g.
    TWINSIGHT_NEO4J_HEAP=4g TWINSIGHT_NEO4J_PAGECACHE=2g twinsight db start

Phases: generate (Python only), AD ingest (SharpHound files one by one, then every
post_load), network + inventory ingest (with the zone derivation). Rows/s counts what the
loader wrote (nodes + relationships, created or updated) per second of the phase. The
run fails (exit 1) when the twin ends with fewer relationships than --min-rels.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from evals.bench import log, open_twin
from graph.generate import generate
from graph.ingest.registry import ingest
from graph.schema import reset_twin


def timed_ingest(driver, db, paths: list[Path]) -> dict:
    """One registry ingest; per-file times from the progress callback (a file's time runs
    until the next file starts; the post_loads follow the last file)."""
    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    report = ingest(driver, paths, database=db, progress=lambda m: marks.append((m, time.perf_counter())))
    end = time.perf_counter()
    per_file = {}
    for (name, start), (_, nxt) in zip(marks, marks[1:] + [("end", end)], strict=True):
        per_file[name.split(": ", 1)[-1].rsplit("/", 1)[-1]] = round(nxt - start, 2)
    s = report.stats
    rows = s.nodes_created + s.nodes_updated + s.relationships_created + s.relationships_updated
    return {
        "seconds": round(end - t0, 2),
        "files": report.files,
        "records": report.records,
        "nodes_created": s.nodes_created,
        "relationships_created": s.relationships_created,
        "rows_written": rows,
        "rows_per_s": round(rows / max(end - t0, 1e-9)),
        "rejected": len(report.rejected),
        "first_rejects": [r.as_dict() for r in report.rejected[:5]],
        "per_file_s": per_file,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=40_000)
    ap.add_argument("--hosts", type=int, default=24_000)
    ap.add_argument("--groups", type=int, default=None, help="default: 1.9 per user")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="where to write the estate (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--min-rels", type=int, default=1_500_000)
    ap.add_argument("--json", action="store_true", help="print the result as one JSON document")
    args = ap.parse_args()

    settings, driver, db = open_twin()
    out = args.out or Path(tempfile.mkdtemp(prefix="twinsight-bench-"))
    result: dict = {"parameters": {"users": args.users, "hosts": args.hosts, "groups": args.groups, "seed": args.seed},
                    "neo4j": {"heap": settings.heap, "pagecache": settings.pagecache}}
    try:
        log(f"generating into {out} ...")
        t0 = time.perf_counter()
        summary = generate(out, seed=args.seed, hosts=args.hosts, users=args.users, groups=args.groups)
        gen_s = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        objects = sum(f["records"] for f in summary["files"].values())
        result["generate"] = {"seconds": round(gen_s, 2), "objects": objects, "mbytes": round(size / 2**20, 1),
                              "objects_per_s": round(objects / gen_s), "counts": summary["counts"]}
        log(f"generate: {gen_s:.1f}s, {objects} objects, {size / 2**20:.0f} MB")

        log("emptying the twin ...")
        t0 = time.perf_counter()
        reset_twin(driver, db)
        result["reset_s"] = round(time.perf_counter() - t0, 2)

        log("ingesting AD (SharpHound) ...")
        result["ingest_ad"] = timed_ingest(driver, db, [out / "ad"])
        log(f"ingest AD: {result['ingest_ad']['seconds']}s, {result['ingest_ad']['rows_per_s']} rows/s")
        log("ingesting network.yaml + inventory.csv ...")
        result["ingest_network_inventory"] = timed_ingest(driver, db, [out / "network.yaml", out / "inventory.csv"])
        log(f"ingest network+inventory: {result['ingest_network_inventory']['seconds']}s")

        nodes = driver.execute_query("MATCH (n) RETURN count(n) AS c", database_=db).records[0]["c"]
        rels = driver.execute_query("MATCH ()-[r]->() RETURN count(r) AS c", database_=db).records[0]["c"]
        by_type = driver.execute_query(
            "MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS c ORDER BY c DESC LIMIT 12", database_=db).records
        labels = {lbl: driver.execute_query(f"MATCH (n:{lbl}) RETURN count(n) AS c", database_=db).records[0]["c"]
                  for lbl in ("User", "Group", "Computer")}
        total_s = result["generate"]["seconds"] + result["ingest_ad"]["seconds"] + result["ingest_network_inventory"]["seconds"]
        result["twin"] = {"nodes": nodes, "relationships": rels, **{k.lower() + "s": v for k, v in labels.items()},
                          "top_relationship_types": {r["t"]: r["c"] for r in by_type}}
        result["total_s"] = round(total_s, 2)
        ok = rels >= args.min_rels and not result["ingest_ad"]["rejected"] and not result["ingest_network_inventory"]["rejected"]
        result["ok"] = ok
    finally:
        driver.close()
        if not args.keep and args.out is None:
            shutil.rmtree(out, ignore_errors=True)

    if args.json:
        print(json.dumps(result))
    else:
        g, a, n, t = result["generate"], result["ingest_ad"], result["ingest_network_inventory"], result["twin"]
        print(f"generate        {g['seconds']:8.1f} s  {g['objects']:>9} objects  {g['objects_per_s']:>8} objects/s  {g['mbytes']} MB")
        print(f"ingest AD       {a['seconds']:8.1f} s  {a['rows_written']:>9} rows     {a['rows_per_s']:>8} rows/s  "
              f"({a['records']} records, {a['rejected']} rejected)")
        for name, s in a["per_file_s"].items():
            print(f"    {name:<22} {s:8.1f} s")
        print(f"ingest net+inv  {n['seconds']:8.1f} s  {n['rows_written']:>9} rows     {n['rows_per_s']:>8} rows/s  "
              f"({n['records']} records, {n['rejected']} rejected)")
        print(f"total           {result['total_s']:8.1f} s")
        print(f"twin: {t['nodes']} nodes, {t['relationships']} relationships "
              f"({t['users']} users, {t['groups']} groups, {t['computers']} computers)")
        print("top relationship types: " + ", ".join(f"{k} {v}" for k, v in t["top_relationship_types"].items()))
        print("OK" if result["ok"] else f"FAILED: need >= {args.min_rels} relationships and no rejects")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
