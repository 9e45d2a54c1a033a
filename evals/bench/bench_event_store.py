"""Windows events end to end with the event store beside the graph, against a bare append.

    python -m evals.bench.bench_event_store [--hosts 2400] [--users 4000] [--files 1] [--reset]

On a generated enterprise (its AD, inventory and scans ingested first, so accounts and
hosts resolve as they do for a user), in one run against one server:

- `bare append`: the day's event rows (as the ingest shapes them) appended to a fresh
  event store and committed: the baseline, nothing but the store's own write;
- `end to end`: `ingest` of the same files, graph and store, every event queryable after;
- `zeek`: `ingest` of the day's Zeek logs, records/s (the store takes its observations).

Each ingest's seconds per phase (its files, post-load steps, derivations, the summaries'
refresh) are printed after the table.

Printed as events/s and as the ratio of end to end to the bare append; the goal is
>= 20k Windows events/s end to end and >= 20k Zeek records/s.
"""

from __future__ import annotations

import json
import os
import time

from evals.bench import enterprise_args, generated_enterprise, log, parse_enterprise_args
from graph.events import batch_event_rows, open_store
from graph.ingest import winevents
from graph.ingest.base import IngestContext, Source
from graph.ingest.registry import ingest

GOAL = 20_000


def main(argv: list[str] | None = None) -> int:
    args = parse_enterprise_args(enterprise_args(__doc__, hosts=2400, users=4000, seed=1, files=True), argv)
    with generated_enterprise(args, "twinsight-store-") as g:
        if g is None:
            return 2
        driver, db, out = g.driver, g.db, g.out
        events = g.paths(("winevents",), by_name=True)[:args.files]
        zeek_files = g.paths(("zeek",), by_name=True)
        rest = g.paths(("winevents", "zeek", "alerts"), exclude=True)
        log(f"ingesting the enterprise without its events ({len(rest)} files) ...")
        ingest(driver, rest, database=db, events=open_store(path=out / "base-store"))

        ctx = IngestContext(driver=driver, database=db, now=int(time.time()))
        batches = [winevents.transform(Source.from_path(p), ctx) for p in events]
        rows = [batch_event_rows(b, "winevents") for b in batches]
        n = sum(len(r) for r in rows)
        log(f"{n} events in {len(events)} file(s); bare append ...")
        bare = open_store(path=out / "bare-store")
        t0 = time.perf_counter()
        run = bare.begin()
        for part in rows:
            run.append(part)
        run.commit()
        bare_s = time.perf_counter() - t0
        assert bare.count() == n
        del batches, rows

        log("end to end ...")
        store = open_store(path=out / "store")
        t0 = time.perf_counter()
        report = ingest(driver, events, database=db, events=store)
        e2e_s = time.perf_counter() - t0
        assert store.count() == n, (store.count(), n)

        log(f"zeek ({len(zeek_files)} logs) ...")
        t0 = time.perf_counter()
        zr = ingest(driver, zeek_files, database=db, events=store)
        zeek_s = time.perf_counter() - t0

    results = {
        "events": n, "hosts": args.hosts, "users": args.users, "cpus": os.cpu_count(),
        "bare_append": {"s": round(bare_s, 2), "per_s": round(n / bare_s)},
        "end_to_end": {"s": round(e2e_s, 2), "per_s": round(n / e2e_s), "records": report.records,
                       "timings": report.as_contract()["timings"]},
        "ratio_end_to_end_vs_bare_append": round(bare_s / e2e_s, 3),
        "zeek": {"records": zr.records, "s": round(zeek_s, 2), "per_s": round(zr.records / zeek_s),
                 "timings": zr.as_contract()["timings"]},
    }
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{n} Windows events, {results['cpus']} CPUs")
    print(f"{'part':<22} {'seconds':>8} {'per s':>9}")
    print(f"{'bare append (store)':<22} {results['bare_append']['s']:>8} {results['bare_append']['per_s']:>9}")
    print(f"{'end to end (ingest)':<22} {results['end_to_end']['s']:>8} {results['end_to_end']['per_s']:>9}")
    print(f"{'zeek (ingest)':<22} {results['zeek']['s']:>8} {results['zeek']['per_s']:>9}")
    print(f"end to end = {results['ratio_end_to_end_vs_bare_append']:.3f}x the bare append; "
          f"{results['end_to_end']['per_s'] / GOAL:.2f}x the {GOAL} goal; "
          f"zeek {results['zeek']['per_s'] / GOAL:.2f}x")
    for part in ("end_to_end", "zeek"):  # where an ingest's time went (ingest --json's `timings`)
        print(f"{part} phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in results[part]["timings"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
