"""The lineage read (session_chain's parents and session) bounded by time, against the unbounded read.

    python -m evals.bench.bench_lineage [--days 30] [--per-day 20000] [--calls 40] [--rounds 3]

A multi-day event store written through its own write path (no Neo4j needed): each day,
hosts whose accounts log on (4624) and start process trees (Sysmon 1, up to five deep,
each process in its logon session and under its parent), among network events, with raw
lines of a real event's size. For random processes of random days, the same lineage is
read three times: with `lineage_s` through the store's `read(..., shape="lineage")` (the
bound session_chain gives, a week: the event's time is found first, then only the days
from a week before it to its own are read), without it (every day), and by the
statement it ran before (`BEFORE`: every day, every column of every row materialised).
The answers must be equal (the trees fit the week; else the benchmark stops). Printed:
p50/p95 of each, the files each read, and medians of per-call ratios (below 1 = saves).

Standalone (no helper shared with the other benchmarks).
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

from graph.events import EventFilter, open_store
from graph.events.duck import LINEAGE_HOPS, DuckEventStore

# The lineage statement before this bound and before its walk left the wide columns out:
# every column of every row of every day materialised, the chains walked over them.
BEFORE = """WITH RECURSIVE ev AS MATERIALIZED (SELECT {names} FROM {{source}} WHERE TRUE {latest}),
line AS (SELECT key, 0 AS depth, [key] AS seen FROM ev WHERE {where}
         UNION ALL
         SELECT p.key, l.depth + 1, list_append(l.seen, p.key) FROM line l JOIN ev c ON c.key = l.key
         JOIN ev p ON p.key = c.parent WHERE l.depth < {hops} AND NOT list_contains(l.seen, p.key)),
kin AS (SELECT key, min(depth) AS depth FROM line GROUP BY key)
SELECT {ev_names}, kin.depth FROM kin JOIN ev ON ev.key = kin.key
UNION ALL
SELECT {ev_names}, NULL FROM ev WHERE ev.key IN (SELECT c.in_session FROM kin JOIN ev c ON c.key = kin.key)
ORDER BY depth NULLS LAST, key"""

DAY = 86400
WEEK = 7 * DAY
START = 1_780_000_000 // DAY * DAY  # a midnight UTC
IMAGES = ["C:\\Windows\\explorer.exe", "C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0"
          "\\powershell.exe", "C:\\Windows\\System32\\rundll32.exe", "C:\\Program Files\\App\\app.exe"]


def day_rows(day: int, per_day: int, hosts: int, rng: random.Random) -> tuple[list[dict], list[str]]:
    """One day's events (logons opening sessions, process trees in them, network noise),
    and the keys of its processes."""
    rows: list[dict] = []
    procs: list[str] = []
    base = START + day * DAY
    n = 0
    while len(rows) < per_day:
        host = f"WS{rng.randrange(hosts):04d}.CORP.LOCAL"
        user = f"U{rng.randrange(hosts * 2):05d}@CORP.LOCAL"
        t = base + rng.randrange(DAY - 3600)
        n += 1
        logon = f"EVT:{host}:Security:{day}-{n}"
        rows.append(_row(logon, t, 4624, "LogonEvent", host, [], [user], {"logon_type": 10}))
        parent = None
        for depth in range(rng.randint(1, 5)):
            n += 1
            key = f"EVT:{host}:Sysmon:{day}-{n}"
            t += rng.randint(1, 300)
            rows.append(_row(key, t, 1, "ProcessEvent", host, [user], [],
                             {"image": rng.choice(IMAGES), "command_line": f"run {depth} {'x' * 80}"},
                             in_session=logon, parent=parent))
            procs.append(key)
            parent = key
        for _ in range(rng.randint(2, 8)):
            n += 1
            rows.append(_row(f"EVT:{host}:Sysmon:{day}-{n}", t + rng.randint(0, 600), 3, "NetworkEvent", host,
                             [user], [], {"dst_port": 445}))
    return rows, procs


def _row(key: str, ts: int, eid: int, kind: str, host: str, by: list[str], targets: list[str], extra: dict,
         **chains: str | None) -> dict:
    props = {"timestamp": ts, "event_id": eid, **extra}
    raw = json.dumps({"EventID": eid, "Hostname": host, "UtcTime": ts, "Message": "m" * 400, **extra})
    return {"key": key, "ts": ts, "event_id": eid, "kind": kind, "host": host, "by_keys": by, "target_keys": targets,
            "channel": "Security" if eid == 4624 else "Sysmon", "props": props, "raw": raw, "source": "bench",
            "in_session": chains.get("in_session"), "parent": chains.get("parent")}


def before_read(store: DuckEventStore, key: str) -> list:
    """The lineage of `key` as it was read before: (key, depth) of each row."""
    from graph.events.duck import _NAMES

    where, params = store._where(EventFilter(keys=[key]))
    sql = BEFORE.format(names=", ".join(_NAMES), ev_names=", ".join(f"ev.{n}" for n in _NAMES), where=where, hops=LINEAGE_HOPS,
                        latest="QUALIFY row_number() OVER (PARTITION BY key ORDER BY seq DESC) = 1")
    with store._lock:
        rows = store._con.execute(sql.replace("{source}", store._source(store.files())), params).fetchall()
    return [(r[0], r[-1]) for r in rows]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--per-day", type=int, default=5000, help="events a day")
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--calls", type=int, default=40, help="processes whose lineage is read")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    out = Path(tempfile.mkdtemp(prefix="twinsight-lineage-"))
    try:
        store = open_store(path=out / "store")
        log(f"writing {args.days} days x {args.per_day} events ...")
        procs: list[str] = []
        for day in range(args.days):
            run = store.begin()
            rows, keys = day_rows(day, args.per_day, args.hosts, rng)
            run.append(rows)
            run.commit()
            procs += rng.sample(keys, min(3, len(keys)))
        calls = rng.sample(procs, min(args.calls, len(procs)))
        n_events, n_files = store.count(), len(store.files())
        log(f"{n_events} events in {n_files} files; {len(calls)} lineages x {args.rounds} rounds ...")
        timed: dict[str, list[float]] = {"before": [], "unbounded": [], "bounded": []}
        files: dict[str, list[int]] = {"before": [], "unbounded": [], "bounded": []}
        ratios: dict[str, list[float]] = {"unbounded": [], "bounded": []}
        depth = 0
        for rnd in range(args.rounds):
            for i, key in enumerate(calls):
                got = {}
                sides = [("before", None), ("unbounded", None), ("bounded", WEEK)]
                k = (i + rnd) % 3  # which runs first turns
                for name, bound in sides[k:] + sides[:k]:
                    t0 = time.perf_counter()
                    if name == "before":
                        got[name] = before_read(store, key)
                        files[name].append(len(store.files()))
                    else:
                        read = store.read(EventFilter(keys=[key], lineage_s=bound), shape="lineage")
                        got[name] = [(r["key"], r["depth"]) for r in read.rows]
                        files[name].append(int(read.statement.rsplit(" files)", 1)[0].rsplit(", ", 1)[1]))
                    timed[name].append((time.perf_counter() - t0) * 1000)
                if not got["bounded"] == got["unbounded"] == got["before"]:
                    raise SystemExit(f"the lineage of {key} differs between the reads: {got}")
                depth += sum(d is not None for _, d in got["bounded"]) - 1
                for name in ratios:
                    ratios[name].append(timed[name][-1] / timed["before"][-1])
    finally:
        shutil.rmtree(out, ignore_errors=True)

    n = len(ratios["bounded"])
    results = {
        "events": n_events, "days": args.days, "files": n_files, "calls": n,
        "ancestors_per_call": round(depth / max(1, n), 2),
        **{f"{k}_ms": {"p50": round(pct(v, 0.5), 2), "p95": round(pct(v, 0.95), 2)} for k, v in timed.items()},
        **{f"{k}_files": round(statistics.mean(v), 1) for k, v in files.items()},
        **{f"ratio_{k}_vs_before": round(statistics.median(v), 3) for k, v in ratios.items()},
        "ratio_bounded_vs_unbounded": round(statistics.median(
            b / u for b, u in zip(timed["bounded"], timed["unbounded"], strict=True)), 3),
    }
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{n_events} events over {args.days} days ({n_files} files), {results['calls']} lineage reads "
          f"(identical answers), {results['ancestors_per_call']} ancestors a read")
    print(f"{'lineage read':<30} {'p50 ms':>8} {'p95 ms':>8} {'files':>6}")
    for name, label in (("before", "every day, whole rows (before)"), ("unbounded", "every day"),
                        ("bounded", "a week before the event")):
        print(f"{label:<30} {results[name + '_ms']['p50']:>8} {results[name + '_ms']['p95']:>8} "
              f"{results[name + '_files']:>6}")
    print(f"bounded lineage = {results['ratio_bounded_vs_unbounded']:.3f}x the unbounded read's time, "
          f"{results['ratio_bounded_vs_before']:.3f}x the read before (every day, whole rows; "
          f"unbounded {results['ratio_unbounded_vs_before']:.3f}x); medians of per-call ratios")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
