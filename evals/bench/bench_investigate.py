"""Offline analyst latency per alert on a generated enterprise, against the raw Cypher floor.

    python -m evals.bench.bench_investigate [--hosts 24000] [--users 40000] [--alerts 20]

Generates and loads the enterprise (AD, inventory, zones, IP leases), plays the scenario
kit's attacks and decoys into its telemetry, then investigates each alert with the
offline analyst and prints p50/p95 seconds and Cypher queries per alert. The baseline,
measured in the same run, is the time the same number of simple indexed Cypher look-ups
takes: what an investigation would cost if each of its queries were trivial.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from agents.runtime import TwinsightService
from evals.bench import open_twin
from evals.build_scenarios import (
    T_BASE,
    Ctx,
    Telemetry,
    _extra_inventory,
    _nmap_fallback,
    alert_doc,
    specs,
)
from graph import server
from graph.derive import reach
from graph.generate import generate
from graph.generate.model import build_enterprise
from graph.ingest.registry import forget, ingest
from graph.schema import reset_twin


class RssProbe:
    """The local server's resident memory (ps RSS of its java process), sampled every
    half second while the alerts are investigated; max in GB. None on an external server."""

    def __init__(self, pid: int | None) -> None:
        self.pid, self.max_kb, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                kb = int(Path(f"/proc/{self.pid}/status").read_text().split("VmRSS:")[1].split()[0])
            except (OSError, IndexError, ValueError):
                return
            self.max_kb = max(self.max_kb, kb)

    def start(self) -> RssProbe:
        if self.pid:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    @property
    def gb(self) -> float | None:
        return round(self.max_kb / 1024 / 1024, 2) if self.max_kb else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=24000)
    ap.add_argument("--users", type=int, default=None)
    ap.add_argument("--alerts", type=int, default=20)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--slowest", type=int, default=0, help="also print the N slowest tool calls")
    ap.add_argument("--reuse", action="store_true", help=(
        "investigate on the twin already loaded by an earlier run with the same --hosts/--users/--seed "
        "(generation and loading take minutes at 24k hosts)"))
    ap.add_argument("--refresh", action="store_true", help=(
        "recompute the reachability summaries before investigating and print where that time went "
        "(a load refreshes them anyway; with --reuse this times the refresh alone)"))
    args = ap.parse_args()
    settings, driver, db = open_twin()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        if args.reuse:
            (out / "ent").mkdir()
        else:
            generate(out / "ent", args.seed, args.hosts, args.users)
        ent = build_enterprise(args.seed, args.hosts, args.users)
        _nmap_fallback(ent, out / "ent", T_BASE - 86400)
        c = Ctx("bench", ent, random.Random(args.seed), "")
        _extra_inventory(c, out / "ent")
        if args.reuse:
            print(f"enterprise: {args.hosts} hosts, reusing the loaded twin")
        else:
            reset_twin(driver, db)
            rep = ingest(driver, [out / "ent"], database=db)
            print(f"enterprise: {args.hosts} hosts, {rep.records} records loaded in {time.perf_counter() - t0:.1f}s")
        if args.refresh:
            got = reach.refresh(driver, db, force=True)
            print(f"summaries refreshed: {json.dumps(got)}")
        svc = TwinsightService(driver, db, state_dir=out / "state", llm="offline")
        todo = specs(c)[: args.alerts]
        probe = RssProbe(None if settings.external else server.read_pid(settings)).start()
        seconds, queries, verdicts, outside = [], [], [], []
        failed = 0
        per_tool: dict[str, list[float]] = {}
        slowest: list[tuple[float, str, dict]] = []
        for i, spec in enumerate(todo, 1):
            t = T_BASE + i * 3 * 3600
            tel = Telemetry(ent, i)
            kw = spec.write(t, tel)
            tel.write(out / f"ev{i}")
            tag = f"bench{i}"
            if any((out / f"ev{i}").iterdir()):
                ingest(driver, [out / f"ev{i}"], database=db, tag=tag)
            alert = alert_doc("ocsf", f"ALERT-BENCH-{i}", spec.title, spec.technique, "high", t, netbios=ent.netbios, **kw)
            t1 = time.perf_counter()
            outcome = svc.investigate(alert)
            seconds.append(time.perf_counter() - t1)
            if outcome.result is None:  # failed, or paused for an approval before its report
                print(f"  alert {i} ({spec.title}): {outcome.status}: {outcome.error or 'no result'}")
                failed += 1
                forget(driver, tag, db)
                continue
            r = outcome.result
            queries.append(r["usage"]["cypher_queries"])
            verdicts.append(r["verdict"] == spec.verdict)
            outside.append(seconds[-1] - sum(call["ms"] for call in r.get("audit", [])) / 1000)
            for call in r.get("audit", []):
                per_tool.setdefault(call["tool"], []).append(call["ms"] / 1000)
                slowest.append((call["ms"], call["tool"], call["params"]))
            forget(driver, tag, db)
        probe.stop()
        # baseline: the same number of trivial indexed look-ups
        n = int(statistics.mean(queries or [1]))
        t2 = time.perf_counter()
        for _ in range(n):
            driver.execute_query("MATCH (n:Twin {key: $k}) RETURN n.key", k=c.dc.fqdn, database_=db)
        floor = time.perf_counter() - t2
    order = list(seconds)
    seconds.sort()
    p50 = statistics.median(seconds)
    p95 = seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))]
    print("seconds per alert, in order: " + " ".join(f"{x:.2f}" for x in order))
    print(f"offline analyst: {len(seconds)} alerts, p50 {p50:.2f}s, p95 {p95:.2f}s, "
          f"{statistics.mean(queries or [0]):.0f} Cypher queries per alert, {sum(verdicts)}/{len(verdicts)} verdicts as labeled"
          + (f", {failed} without a result" if failed else ""))
    slow = sorted(per_tool.items(), key=lambda kv: -sum(kv[1]))[:8]
    print("time per alert by tool: " + ", ".join(
        f"{name} {sum(v) / len(seconds):.2f}s ({len(v)} calls, max {max(v):.2f}s)" for name, v in slow))
    if outside:
        # The tools' audited reads are not all of an investigation: the impact assessor's
        # what-if ranking runs its own rolled-back transactions, and the agents work between reads.
        print(f"outside the tools' audited reads (what-if ranking, the agents' own work): "
              f"p50 {statistics.median(outside):.2f}s, max {max(outside):.2f}s per alert")
    if args.slowest:
        for ms, name, params in sorted(slowest, key=lambda x: -x[0])[:args.slowest]:
            brief = {k: params[k] for k in ("key", "sources", "target", "lo", "hi") if k in params}
            print(f"  {ms / 1000:.2f}s {name} {json.dumps(brief or params, default=str)[:300]}")
    if probe.gb:
        print(f"server resident memory: max {probe.gb} GB during the investigations "
              f"(heap {settings.heap}, page cache {settings.pagecache})")
    print(f"baseline: {n} trivial indexed look-ups take {floor:.3f}s; ratio p50 / baseline {p50 / floor:.1f}x")
    driver.close()


if __name__ == "__main__":
    main()
