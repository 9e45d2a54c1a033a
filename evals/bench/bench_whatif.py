"""What-if latency on a large enterprise twin: one simulation, and a ranking.

    python -m evals.bench.bench_whatif [--hosts 20000] [--users 40000] [--seed 7] [--top 20] [--reuse]

The twin is built here with TwinWriter (graph.tools.fixtures.TwinBuilder), because the
enterprise generator writes AD, network and inventory but no services or findings
yet: one domain with nested groups, admin rights, sessions (1% of workstations hold a
Domain Admin's session), four zones with firewall flows, a DMZ of internet-facing web
servers, servers and databases with vulnerable services (findings per package
version, with Trivy-style fixed versions, some in CISA KEV), observed flows, and
crown-jewel data on database hosts. CanExploit is derived by graph/derive/exploit.py.
`--reuse` skips the build when the twin already holds it (same parameters).

Measured, each against a baseline taken in the same run on the same server:
- one what-if (`simulate`, all crown jewels and tier 0 as goals) for several actions;
  baseline: the same exposure count (graph.whatif.exposure) run twice in a
  plain read session - the floor of any before/after comparison (goal: <= 3 s);
- `rank --target <crown jewel> --top N`; baseline: one exposure count for that target
  times the candidates simulated (goal: <= 30 s for the top 20).
Each simulation also reports twin_unchanged, checked after its rollback.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time

import neo4j

from graph import server
from graph.db import open_driver
from graph.schema import apply_schema, reset_twin
from graph.settings import Neo4jSettings
from graph.tools.fixtures import T0, TwinBuilder
from graph.whatif import (
    Action,
    PathScope,
    exposure,
    rank,
    resolve_goals,
    runner,
    simulate,
)

DOM = "CORP.LOCAL"
SID = "S-1-5-21-7000"
PRODUCTS = {  # product -> (port, zones it runs in)
    "nginx": (443, ("dmz",)),
    "openssh-server": (22, ("dmz", "srv")),
    "samba": (445, ("srv",)),
    "postgresql": (5432, ("db",)),
}


def enterprise_twin(driver: neo4j.Driver, database: str | None, *, hosts: int, users: int, seed: int) -> dict:
    rng = random.Random(seed)
    b = TwinBuilder(now=T0)
    b.node("Domain", DOM, name=DOM, domain=DOM, objectid=SID, tier0=True)
    da = b.group("Domain Admins", DOM, f"{SID}-512", tier0=True, admincount=True)
    b.group("Domain Users", DOM, f"{SID}-513")
    b.edge(da, "DCSync", DOM)
    b.edge(da, "GenericAll", DOM)
    n_groups = max(20, users // 80)
    groups = [b.group(f"G{i:05d}", DOM, f"{SID}-2{i:06d}") for i in range(n_groups)]
    for i, g in enumerate(groups[1:], start=1):
        if rng.random() < 0.5:
            b.edge(g, "MemberOf", groups[rng.randrange(0, i)])
    ukeys = [b.user(f"user{i:06d}", DOM, f"{SID}-3{i:07d}", admincount=False) for i in range(users)]
    for u in ukeys:
        for g in rng.sample(groups, k=rng.randint(1, 3)):
            b.edge(u, "MemberOf", g)
    admins = [b.user(f"adm{i:03d}", DOM, f"{SID}-4{i:05d}", admincount=True) for i in range(max(4, users // 1000))]
    for a in admins:
        b.edge(a, "MemberOf", da)

    counts = {"dmz": max(10, hosts // 100), "srv": max(10, hosts // 8), "db": max(5, hosts // 60)}
    counts["corp"] = max(10, hosts - sum(counts.values()))
    b.node("Internet", "INTERNET", name="INTERNET")
    for z in ("dmz", "corp", "srv", "db"):
        b.node("Zone", z, name=z, internet_facing=z == "dmz")
    b.edge("INTERNET", "CanReach", "dmz", ports=["443/tcp", "80/tcp"])
    b.edge("corp", "CanReach", "dmz", ports=["443/tcp", "22/tcp"])
    b.edge("corp", "CanReach", "srv", ports=["445/tcp", "3389/tcp", "443/tcp"])
    b.edge("dmz", "CanReach", "db", ports=["5432/tcp"])
    b.edge("srv", "CanReach", "db", ports=["5432/tcp", "22/tcp"])
    by_zone: dict[str, list[str]] = {}
    i = 0
    for z, n in counts.items():
        prefix = {"dmz": "WEB", "corp": "WS", "srv": "SRV", "db": "DB"}[z]
        by_zone[z] = []
        for _ in range(n):
            h = b.computer(f"{prefix}{i:05d}", DOM, f"{SID}-5{i:07d}", ip=f"10.{i // 65000}.{i // 250 % 256}.{i % 250 + 1}")
            b.edge(h, "InZone", z)
            by_zone[z].append(h)
            i += 1
    dcs = by_zone["srv"][:2]
    for dc in dcs:
        b.node("Computer", dc, tier0=True)
        b.edge(da, "AdminTo", dc)
    # admin rights: helpdesk-like groups over many workstations, server admins over servers
    for g in rng.sample(groups, k=min(len(groups), 12)):
        for h in rng.sample(by_zone["corp"], k=min(len(by_zone["corp"]), 150)):
            b.edge(g, "AdminTo", h)
    for g in rng.sample(groups, k=min(len(groups), 8)):
        for h in rng.sample(by_zone["srv"][2:], k=min(len(by_zone["srv"]) - 2, 40)):
            b.edge(g, "AdminTo", h)
    for g in groups:
        if rng.random() < 0.3:
            b.edge(g, "AdminTo", rng.choice(by_zone["corp"]))
    for h in by_zone["corp"]:
        b.edge(h, "HasSession", rng.choice(ukeys), firstseen=T0 - 3600, lastseen=T0)
        if rng.random() < 0.01:
            b.edge(h, "HasSession", rng.choice(admins), firstseen=T0 - 3600, lastseen=T0)
    for u in rng.sample(ukeys, k=max(1, users // 400)):
        b.edge(u, rng.choice(["GenericAll", "ForceChangePassword", "GenericWrite"]), rng.choice(ukeys))
    # software: per package version a fixed set of findings, fixed in a later version
    cves = []
    for k in range(300):
        cve = f"CVE-2024-{20000 + k}"
        cves.append(cve)
        b.node("Vulnerability", cve, base_score=round(rng.uniform(5, 10), 1),
               attack_vector="NETWORK" if k % 3 else "LOCAL", is_kev=k % 10 == 0, epss_score=round(rng.random(), 3))
    versions: dict[str, list[str]] = {}
    for name in PRODUCTS:
        vers = [f"1.{v}.0" for v in range(6)]
        versions[name] = vers
        for vi, ver in enumerate(vers):
            purl = f"pkg:deb/debian/{name}@{ver}"
            b.node("Package", purl, name=name, version=ver, purl_type="deb", ecosystem="deb", purl=purl)
            if vi == len(vers) - 1:
                continue  # the newest version is clean
            for cve in rng.sample(cves, k=rng.randint(1, 3)):
                b.edge(purl, "HasVulnerability", cve, installed_version=ver, fixed_version=vers[-1])
    for name, (port, zones) in PRODUCTS.items():
        for z in zones:
            for h in by_zone[z]:
                skey = f"{h}:{port}/TCP"
                b.node("Service", skey, port=port, protocol="tcp", name=name, product=name, state="open")
                b.edge(h, "HasService", skey)
                b.edge(h, "HasInstalled", f"pkg:deb/debian/{name}@{rng.choice(versions[name])}")
    jewels = []
    for j, h in enumerate(by_zone["db"][:5]):
        name = f"DATA-{j:02d}"
        b.node("DataAsset", name, name=name, crown_jewel=True, criticality="critical")
        b.edge(name, "HostedOn", h)
        jewels.append(name)
    for h in rng.sample(by_zone["dmz"], k=len(by_zone["dmz"]) // 2):
        b.edge("INTERNET", "ConnectedTo", h, ports=["443/tcp"], count=rng.randint(10, 1000), firstseen=T0 - 86400,
               lastseen=T0)
    for _ in range(min(5000, hosts // 4)):
        src, dst = rng.choice(by_zone["corp"]), rng.choice(by_zone["srv"])
        b.edge(src, "ConnectedTo", dst, ports=["445/tcp"], count=rng.randint(1, 50), firstseen=T0 - 86400, lastseen=T0)
    b.write(driver, database, source="bench")
    from graph.derive.exploit import derive_exploit_edges

    derived = derive_exploit_edges(driver, database, now=T0)
    return {"jewels": jewels, "dmz": by_zone["dmz"], "srv": by_zone["srv"], "db": by_zone["db"],
            "groups": groups, "admins": admins, "dcs": dcs, "derived": derived, "params": [hosts, users, seed]}


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def baseline_count(driver, database, goals: list[str] | None) -> tuple[int, float]:
    """The same exposure count, outside any write transaction."""
    with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as session:
        run = runner(session)
        scope = PathScope(goals=goals)
        rows = resolve_goals(run, scope)
        t0 = time.perf_counter()
        found = exposure(run, scope, rows)
        return found.total(), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=20000)
    ap.add_argument("--users", type=int, default=40000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--reuse", action="store_true", help="keep the twin when it was built with these parameters")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    settings = Neo4jSettings.from_env()
    if not settings.external and not server.read_pid(settings):
        server.start(settings)
    driver = open_driver(settings)
    db = settings.database
    apply_schema(driver, db)
    marker = driver.execute_query("MATCH (n:Twin {key: 'BENCH-WHATIF'}) RETURN n.params AS p", database_=db).records
    info_path = settings.home / "bench_whatif_info.json"
    if args.reuse and marker and marker[0]["p"] == [args.hosts, args.users, args.seed] and info_path.exists():
        info = json.loads(info_path.read_text())
        build_s = 0.0
        print("reusing the twin already built", file=sys.stderr)
    else:
        reset_twin(driver, db)
        info, build_s = timed(enterprise_twin, driver, db, hosts=args.hosts, users=args.users, seed=args.seed)
        driver.execute_query("MERGE (n:Twin {key: 'BENCH-WHATIF'}) SET n.params = $p",
                             p=[args.hosts, args.users, args.seed], database_=db)
        info_path.write_text(json.dumps(info))
    size = driver.execute_query("MATCH (n) WITH count(n) AS n MATCH ()-[r]->() RETURN n, count(r) AS r",
                                database_=db).records[0]
    print(f"twin: {size['n']} nodes, {size['r']} relationships (built in {build_s:.0f} s; "
          f"CanExploit edges {info['derived']['edges']})", file=sys.stderr)

    rng = random.Random(args.seed)
    # warm the page cache and plans, as a running service would have them
    baseline_count(driver, db, None)
    actions = [
        Action(verb="isolate", args=(rng.choice(info["dmz"]),)),
        Action(verb="remove-member", args=(info["admins"][0], "DOMAIN ADMINS@CORP.LOCAL")),
        Action(verb="patch", args=_vulnerable_dmz_host(driver, db)),
        Action(verb="block", args=("dmz", "db", "5432/tcp")),
        Action(verb="disable", args=(info["admins"][1],)),
    ]
    rows = []
    for act in actions:
        base_n, base_s = baseline_count(driver, db, None)
        res, secs = timed(simulate, driver, db, act, listed=10)
        rows.append({"action": act.text, "seconds": round(secs, 3), "baseline_2x_count_s": round(2 * base_s, 3),
                     "ratio": round(secs / (2 * base_s), 2) if base_s else None, "paths_before": res.paths_before,
                     "paths_after": res.paths_after, "removed": res.paths_removed_count,
                     "breaks": len(res.breaks), "twin_unchanged": res.twin_unchanged})
        assert res.paths_before == base_n, (res.paths_before, base_n)
        print(f"{act.text:70s} {secs:6.2f} s  (2x count {2 * base_s:5.2f} s) paths {res.paths_before} -> "
              f"{res.paths_after}  unchanged={res.twin_unchanged}", file=sys.stderr)
    target = info["jewels"][0]
    n_target, count_s = baseline_count(driver, db, [target])
    done: list[int] = [0]

    def progress(i: int, n: int, text: str) -> None:
        done[0] = max(done[0], i)
        print(f"  [{i}/{n}] {text}", file=sys.stderr)

    ranked, rank_s = timed(rank, driver, db, target, top=args.top, progress=progress)
    rank_row = {"target": target, "paths_before": n_target, "seconds": round(rank_s, 2),
                "simulated": done[0], "baseline_count_s": round(count_s, 3),
                "baseline_counts_for_simulated_s": round(count_s * max(1, done[0]), 2),
                "top": [(r.action, r.paths_removed, len(r.breaks)) for r in ranked[:5]],
                "all_unchanged": all(r.twin_unchanged for r in ranked)}
    print(f"rank --target {target} --top {args.top}: {rank_s:.1f} s for {done[0]} simulated "
          f"(one count {count_s:.2f} s; {done[0]} counts {count_s * done[0]:.1f} s)", file=sys.stderr)
    for r in ranked[:5]:
        print(f"   {r.action:60s} removes {r.paths_removed:6d}  breaks {len(r.breaks)}", file=sys.stderr)
    out = {"twin": {"nodes": size["n"], "relationships": size["r"], "hosts": args.hosts, "users": args.users},
           "whatif": rows, "whatif_median_s": statistics.median(r["seconds"] for r in rows),
           "whatif_goal_s": 3.0, "rank": rank_row, "rank_goal_s": 30.0}
    print(json.dumps(out, indent=None if args.json else 2))
    driver.close()
    return 0


def _vulnerable_dmz_host(driver, db) -> tuple[str, str]:
    """An internet-facing host and the finding (KEV first) that makes it exploitable."""
    rec = driver.execute_query(
        "MATCH (:Internet)-[e:CanExploit]->(h:Computer) RETURN h.key AS h, e.cve AS c "
        "ORDER BY e.is_kev DESC, h LIMIT 1", database_=db).records
    return (rec[0]["h"], rec[0]["c"])


if __name__ == "__main__":
    raise SystemExit(main())
