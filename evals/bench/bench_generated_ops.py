"""A generated enterprise's day of operations, generated and ingested end to end.

    python -m evals.bench.bench_generated_ops [--hosts 24000 --users 40000] [--days 1] [--seed 1]
                                              [--out DIR] [--reuse] [--keep] [--reset] [--json]

Unlike bench_ops_ingest (synthetic lines, one connector at a time), this runs what a
user runs: `generate(..., ops=True)` writes AD, network, inventory, Nmap, Trivy,
SBOMs, Zeek and Windows events that are consistent with each other, then one registry
`ingest` of `generation.json`'s ingest_paths loads them all, connectors in their
order, with every post_load and derivation (zones, CanExploit) at the end. Per source
the time is the sum of its files' transform+load times (from the ingest's progress
marks); records are the generator's counts. The baseline, measured in the same run
against the same server, creates one bare node per Zeek record and per Windows event
(`UNWIND $rows AS r CREATE (:BenchRow) SET n = r`, rows read from the generated files:
no MERGE, no provenance, no relationships) - the write floor for that many rows.

At full size (the default) the day is >= 1M Zeek records and >= 1M Windows events; the
goal is >= 20k records/s for each. Start the server with room for it first:
    TWINSIGHT_NEO4J_HEAP=4g TWINSIGHT_NEO4J_PAGECACHE=2g twinsight db start
The twin must be empty, or --reset empties it (it holds the benchmark estate afterwards).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from evals.bench import log, open_empty_twin
from graph.generate import generate
from graph.ingest.registry import ingest

GOAL = 20_000


def zeek_rows(root: Path, batch: int) -> Iterator[list[dict]]:
    rows: list[dict] = []
    for f in sorted(root.rglob("conn*.log")):
        with f.open(encoding="utf-8") as fh:
            for line in fh:
                if line[0] == "#":
                    continue
                p = line.split("\t", 7)
                rows.append({"ts": p[0], "uid": p[1], "orig": p[2], "orig_p": p[3], "resp": p[4], "resp_p": p[5],
                             "proto": p[6]})
                if len(rows) >= batch:
                    yield rows
                    rows = []
    if rows:
        yield rows


def event_rows(root: Path, batch: int) -> Iterator[list[dict]]:
    rows: list[dict] = []
    n = 0
    for f in sorted(root.glob("*.jsonl")):
        with f.open(encoding="utf-8") as fh:
            for line in fh:
                n += 1
                rows.append({"key": f"R{n}", "fields": line.rstrip("\n")})
                if len(rows) >= batch:
                    yield rows
                    rows = []
    if rows:
        yield rows


def baseline(driver, db, batches: Iterator[list[dict]]) -> dict:
    """One bare node per record, then removed again."""
    n, secs = 0, 0.0
    for rows in batches:
        t0 = time.perf_counter()
        with driver.session(database=db) as s:
            s.execute_write(lambda tx, c=rows: tx.run("UNWIND $rows AS r CREATE (n:BenchRow) SET n = r",
                                                      rows=c).consume())
        secs += time.perf_counter() - t0
        n += len(rows)
    while driver.execute_query("MATCH (n:BenchRow) WITH n LIMIT 50000 DETACH DELETE n RETURN count(*) AS c",
                               database_=db).records[0]["c"]:
        pass
    return {"records": n, "seconds": round(secs, 2), "records_per_s": round(n / max(secs, 1e-9))}


def timed_ingest(driver, db, paths: list[Path]) -> tuple[dict, dict]:
    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    report = ingest(driver, paths, database=db, progress=lambda m: marks.append((m, time.perf_counter())))
    end = time.perf_counter()
    per_format: dict[str, float] = {}
    for (name, start), (_, nxt) in zip(marks, marks[1:], strict=False):
        fmt = name.split(":", 1)[0]
        per_format[fmt] = per_format.get(fmt, 0.0) + (nxt - start)
    # The last file (inventory.csv, small) cannot be told apart from the post_loads that
    # follow it: both are `post_load_s`. Reading every file before the first transform
    # (the registry sniffs them all first) is in the total only.
    last = marks[-1][1] if marks else t0
    s = report.stats
    summary = {
        "seconds": round(end - t0, 2), "files": report.files, "records": report.records,
        "nodes_created": s.nodes_created, "relationships_created": s.relationships_created,
        "rejected": len(report.rejected), "first_rejects": [r.as_dict() for r in report.rejected[:5]],
        "post_load_s": round(end - last, 2),
    }
    return summary, per_format


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=24000)
    ap.add_argument("--users", type=int, default=40000)
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, help="where to generate (default: a temporary folder)")
    ap.add_argument("--reuse", action="store_true", help="ingest what --out already holds (no generation)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--reset", action="store_true", help="empty the twin first")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    opened = open_empty_twin(args.reset)
    if opened is None:
        return 2
    driver, db = opened
    out = args.out or Path(tempfile.mkdtemp(prefix="twinsight-ops-"))
    results: dict = {"hosts": args.hosts, "users": args.users, "days": args.days, "seed": args.seed}
    try:
        if args.reuse:
            doc = json.loads((out / "generation.json").read_text(encoding="utf-8"))
            log(f"reusing {out}")
        else:
            log(f"generating {args.hosts} hosts / {args.users} users, {args.days} day(s) of operations in {out}")
            doc = generate(out, seed=args.seed, hosts=args.hosts, users=args.users, ops=True, days=args.days)
            results["generate"] = {"seconds": doc["seconds"], "ops_seconds": doc["ops_seconds"]}
            log(f"generated in {doc['seconds']} s: {doc['ops']['counts']}")
        by_format: dict[str, int] = {}
        for meta in doc["files"].values():
            by_format[meta["format"]] = by_format.get(meta["format"], 0) + meta["records"]
        paths = [out / p for p in doc["ingest_paths"]]
        log("ingesting everything in one run ...")
        summary, per_format = timed_ingest(driver, db, paths)
        results["ingest"] = summary
        log(f"ingested in {summary['seconds']} s ({summary['rejected']} rejected, post_load {summary['post_load_s']} s)")
        results["sources"] = {fmt: {"records": by_format.get(fmt, 0), "seconds": round(secs, 2),
                                    "records_per_s": round(by_format.get(fmt, 0) / max(secs, 1e-9))}
                              for fmt, secs in sorted(per_format.items())}
        if not args.no_baseline:
            log("baseline: bare CREATE of one node per Zeek record and per Windows event ...")
            results["baseline"] = {
                "zeek": baseline(driver, db, zeek_rows(out / "ops" / "zeek", 10_000)),
                "winevents": baseline(driver, db, event_rows(out / "ops" / "events", 10_000)),
            }
            for fmt, base in results["baseline"].items():
                src = results["sources"].get(fmt)
                if src:
                    src["baseline_per_s"] = base["records_per_s"]
                    src["vs_baseline"] = round(src["records_per_s"] / max(base["records_per_s"], 1), 2)
        live = [results["sources"].get(f, {}).get("records_per_s", 0) for f in ("zeek", "winevents")]
        results["goal_met"] = all(v >= GOAL for v in live)
    finally:
        driver.close()
        if not args.keep and not args.out:
            shutil.rmtree(out, ignore_errors=True)
    if args.json:
        print(json.dumps(results))
    else:
        print(f"{'source':<11} {'records':>9} {'seconds':>8} {'records/s':>10} {'bare CREATE/s':>13} {'ratio':>6}")
        for fmt, r in results["sources"].items():
            print(f"{fmt:<11} {r['records']:>9} {r['seconds']:>8} {r['records_per_s']:>10} "
                  f"{r.get('baseline_per_s', '-'):>13} {r.get('vs_baseline', '-'):>6}")
        i = results["ingest"]
        print(f"total: {i['records']} records in {i['seconds']} s (post_load {i['post_load_s']} s), "
              f"{i['rejected']} rejected; goal {GOAL} records/s for zeek and winevents: "
              f"{'met' if results['goal_met'] else 'NOT met'}")
    return 0 if results["ingest"]["rejected"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
