"""`simulate`: one what-if in one Neo4j write transaction that is always rolled back.

It resolves the goals, lets the verb's planner plan the change, fingerprints what the
change touches, applies it, derives CanExploit again for the hosts it concerns, counts
paths before (on the committed twin, in parallel) and after (in the transaction), rolls
back and checks the fingerprint again. Why a transaction and not a copy, and how a
dropped connection is handled: graph/MODEL.md, "What-if"."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import neo4j
from neo4j.exceptions import DriverError, Neo4jError

from graph.derive.exploit import exploit_rows
from graph.timestamps import parse_time
from graph.whatif.errors import WhatIfError, WhatIfInputError
from graph.whatif.grammar import Action
from graph.whatif.models import ExploitEdge, PathOut, WhatIfResult
from graph.whatif.paths import (
    Exposure,
    PathScope,
    Run,
    check_hops,
    entry_ids,
    exposure_parallel,
    keys_of_ids,
    name_pairs,
    pair_paths,
    reach,
    resolve_goals,
    runner,
)
from graph.whatif.planners import PLANNERS
from graph.whatif.planners.base import EDGE_ROW, Sim


def _rederive(sim: Sim, hosts: list[str]) -> None:
    """Recompute CanExploit into `hosts` on the transaction's state and swap the edges."""
    if not hosts:
        return
    old = sim.run(f"MATCH (a)-[r:CanExploit]->(c:Twin) WHERE c.key IN $hosts RETURN {EDGE_ROW}", hosts=hosts)
    new = exploit_rows(sim.run, hosts)
    old_pairs = {(r["src"], r["dst"]): r["props"] for r in old}
    new_pairs = {(r["src"], r["dst"]): r["props"] for r in new}
    if old:
        sim.run("UNWIND $ids AS id MATCH ()-[r]->() WHERE elementId(r) = id DELETE r", ids=[r["id"] for r in old])
    if new:
        sim.run("UNWIND $rows AS row MATCH (a:Twin {key: row.src}) MATCH (b:Twin {key: row.dst}) "
                "CREATE (a)-[r:CanExploit]->(b) SET r = row.props, r.source = 'whatif', r.sources = ['whatif']",
                rows=new)
    for pair in sorted(set(old_pairs) - set(new_pairs)):
        p = old_pairs[pair]
        sim.exploit_removed.append(ExploitEdge(src=pair[0], dst=pair[1], cve=p.get("cve"), port=p.get("port"),
                                               cves=list(p.get("cves") or [])))
    for pair in sorted(set(new_pairs) - set(old_pairs)):
        p = new_pairs[pair]
        sim.exploit_added.append(ExploitEdge(src=pair[0], dst=pair[1], cve=p.get("cve"), port=p.get("port"),
                                             cves=list(p.get("cves") or [])))
    changed = [pair for pair in set(old_pairs) & set(new_pairs)
               if (old_pairs[pair].get("cves"), old_pairs[pair].get("port")) != (new_pairs[pair].get("cves"),
                                                                                   new_pairs[pair].get("port"))]
    sim.changed.update(pair[1] for pair in set(old_pairs) ^ set(new_pairs))
    sim.changes["exploit_edges_removed"] += len(set(old_pairs) - set(new_pairs))
    sim.changes["exploit_edges_added"] += len(set(new_pairs) - set(old_pairs))
    sim.changes["exploit_edges_changed"] += len(changed)


def _derivation_sources(run: Run, hosts: list[str]) -> set[str]:
    """Every node a recomputed CanExploit edge into `hosts` could start from: zones, the
    internet, and observed peers. They are part of the touched subgraph."""
    if not hosts:
        return set()
    rows = run("MATCH (z) WHERE z:Zone OR z:Internet RETURN collect(z.key) AS ks")
    keys = set(rows[0]["ks"]) if rows else set()
    rows = run("MATCH (a)-[:ConnectedTo|CanExploit]->(c:Twin) WHERE c.key IN $hosts RETURN collect(DISTINCT a.key) AS ks",
               hosts=hosts)
    keys.update(rows[0]["ks"] if rows else [])
    return keys


# Every touched node with the edges among them, each edge read once from the cheaper
# side. A node with few out-edges lists its own (the far end checked by key); a node
# with many (Domain Admins' 295k rights on a 24k-host twin) is joined to each other
# touched node with both ends bound (Expand(Into) reads the end with fewer edges).
# Listing every out-edge of every node took 0.67 s for a two-node answer there; binding
# both ends of every pair took 2.6 s over one evaluation twin's simulations, whose
# isolations touch every zone and ~400 observed peers (measured).
_FP_MANY = 1000
_FP_FEW = """
MATCH (n:Twin) WHERE n.key IN $keys
WITH n, COUNT { (n)-->() } <= $many AS few
RETURN n.key AS key, labels(n) AS labels, properties(n) AS props, few,
       COLLECT { MATCH (n)-[r]->(m:Twin) WHERE few AND m.key IN $keys RETURN [type(r), m.key, properties(r)] } AS out
"""
_FP_MANY_EDGES = """
MATCH (a:Twin) WHERE a.key IN $keys AND COUNT { (a)-->() } > $many
MATCH (b:Twin) WHERE b.key IN $keys
WITH a, collect(b) AS bs
UNWIND bs AS b
MATCH (a)-[r]->(b)
RETURN a.key AS key, [type(r), b.key, properties(r)] AS edge
"""


def fingerprint(run: Run, keys: Iterable[str]) -> str:
    """SHA-256 of the subgraph induced by `keys`: every node's labels and properties,
    every edge among them with its type and properties (parallel edges included)."""
    keys = sorted(set(keys))
    h = hashlib.sha256()
    if not keys:
        return h.hexdigest()
    rows = sorted(run(_FP_FEW, keys=keys, many=_FP_MANY), key=lambda r: r["key"])
    out = {r["key"]: [json.dumps(e, sort_keys=True, default=str) for e in r["out"]] for r in rows}
    for e in run(_FP_MANY_EDGES, keys=keys, many=_FP_MANY) if not all(r["few"] for r in rows) else []:
        out[e["key"]].append(json.dumps(e["edge"], sort_keys=True, default=str))
    for r in rows:
        h.update(json.dumps([r["key"], sorted(r["labels"]), r["props"], sorted(out[r["key"]])], sort_keys=True,
                            default=str).encode())
    h.update(f"|{len(rows)}".encode())
    return h.hexdigest()


def _twin_counts(run: Run) -> tuple[int, int]:
    n = run("MATCH (n) RETURN count(n) AS c")[0]["c"]
    r = run("MATCH ()-[r]->() RETURN count(r) AS c")[0]["c"]
    return n, r


def simulate(
    driver: neo4j.Driver,
    database: str | None,
    action: Action | list[str],
    *,
    goals: list[str] | None = None,
    sources: list[str] | None = None,
    entry_points: tuple[str, ...] = ("internet", "phishable_users"),
    compromised: list[str] | None = None,
    max_hops: int = 6,
    as_of: str | int | float | None = None,
    listed: int = 25,
    on_stage: Callable[[str], None] | None = None,
    baseline: Exposure | None = None,
    workers: int = 2,
    tx_timeout: float = 60.0,
) -> WhatIfResult:
    """Simulate one action inside one write transaction that is always rolled back.

    `goals` (keys) narrows what paths are counted to (default: every crown jewel and
    tier-0 node); `sources` replaces the entry points; `listed` caps the paths listed
    (counts are always complete). `on_stage(name)` is called at "planned", "applied" and
    "counted" (tests kill the process there). `baseline` reuses a before-exposure that
    `rank` computed once for the same goals and scope; otherwise the before-count runs
    on the committed twin in `workers` read sessions while the transaction plans and
    applies the change. Raises WhatIfInputError for bad input (exit 2), WhatIfError
    when the twin could not be used (exit 1). `tx_timeout` (seconds) bounds how long an
    orphaned transaction can hold its locks (graph/MODEL.md, "What-if")."""
    t0 = time.perf_counter()
    act = action if isinstance(action, Action) else Action.from_argv(action)
    try:
        when = parse_time(as_of)
    except ValueError as exc:
        raise WhatIfInputError(f"as_of: {exc}") from None
    scope = PathScope(goals=goals, sources=sources, entry_points=tuple(entry_points),
                      compromised=list(compromised or []), max_hops=check_hops(max_hops), as_of=when)
    stage = on_stage or (lambda _name: None)
    pool = ThreadPoolExecutor(max_workers=1)
    token: str | None = None
    try:
        with driver.session(database=database, notifications_min_severity="OFF") as session:
            read = runner(session)
            counts_before = _twin_counts(read)
            goal_rows = resolve_goals(read, scope)
            if scope.goals is not None and len(goal_rows) < len(scope.goals):
                missing = sorted(set(scope.goals) - {g["key"] for g in goal_rows})
                raise WhatIfInputError(f"goal {missing[0]!r} is not in the twin")
            pending = None if baseline is not None else pool.submit(
                exposure_parallel, driver, database, scope, goal_rows, workers)
            token = uuid.uuid4().hex
            tx = session.begin_transaction(metadata={"twinsight_whatif": token, "action": act.text[:200]},
                                           timeout=tx_timeout)
            try:
                done = _change_and_count(runner(tx), act, scope, goal_rows, listed, stage,
                                         lambda: baseline if baseline is not None else pending.result())
            finally:
                with contextlib.suppress(DriverError, OSError):  # a dead connection: the server rolls back
                    if not tx.closed():
                        tx.rollback()
                with contextlib.suppress(DriverError, OSError):
                    tx.close()
            fp_after = fingerprint(read, done.keys)
            counts_after = _twin_counts(read)
            removed = {g: done.before.pairs(g) - done.after.pairs(g) for g in done.before.reach}
            removed_pairs = name_pairs(read, removed, listed)
            paths_removed = pair_paths(read, scope, removed_pairs) if removed_pairs else []
    except (WhatIfInputError, WhatIfError):
        raise
    except Neo4jError as exc:
        raise WhatIfError(f"Neo4j refused the simulation of {act.text!r}: {exc.message or exc}") from None
    except (DriverError, OSError) as exc:
        ended = token is not None and _terminate(driver, database, token)
        how = ("its transaction was terminated" if ended else
               f"the server rolls the uncommitted change back (at the latest after {tx_timeout:g} s)")
        raise WhatIfError(f"lost the twin during the simulation of {act.text!r} ({type(exc).__name__}); "
                          f"{how}") from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    sim, before, after = done.sim, done.before, done.after
    unchanged = done.fp_before == fp_after and counts_before == counts_after
    if not unchanged:
        sim.notes.append("the twin differs from before the simulation: something else wrote to it meanwhile, "
                         f"or the rollback failed (counts {counts_before} -> {counts_after})")
    gained = sorted(set(sim.vulns_after) - set(sim.vulns_before))
    lost = sorted(set(sim.vulns_before) - set(sim.vulns_after))
    n_removed = sum(len(v) for v in removed.values())
    n_added = sum(len(v) for v in done.added.values())
    if n_removed > len(paths_removed):
        sim.notes.append(f"{n_removed} paths removed, {len(paths_removed)} listed")
    return WhatIfResult(
        action=sim.action.text, argv=sim.action.argv,
        paths_before=before.total(), paths_after=after.total(),
        paths_removed=paths_removed, paths_removed_count=n_removed,
        paths_added=done.paths_added, paths_added_count=n_added,
        vulns_gained=gained, vulns_lost=lost,
        kev_gained=[c for c in gained if sim.vulns_after.get(c)], kev_lost=[c for c in lost if sim.vulns_before.get(c)],
        breaks=sim.breaks, twin_unchanged=unchanged, unknown=sim.unknown, notes=sim.notes,
        exploit_edges_added=sim.exploit_added, exploit_edges_removed=sim.exploit_removed,
        changes=dict(sim.changes), goals=[g["key"] for g in goal_rows], entry_points=scope.describe(),
        max_hops=scope.max_hops, seconds=round(time.perf_counter() - t0, 3),
    )


@dataclass
class _Counted:
    """What the transaction leaves behind once rolled back: the planned change, the
    fingerprint of what it touched, and the exposure before and after it."""

    sim: Sim
    keys: list[str]
    fp_before: str
    before: Exposure
    after: Exposure
    added: dict[str, frozenset[int]]
    paths_added: list[PathOut]


def _change_and_count(run: Run, act: Action, scope: PathScope, goal_rows: list[dict], listed: int,
                      stage: Callable[[str], None], before_of: Callable[[], Exposure]) -> _Counted:
    """Inside the transaction: plan the change, fingerprint what it touches, apply it,
    derive CanExploit again, and recount only the goals the change can reach."""
    sim = Sim(run, act)
    PLANNERS[act.verb](sim)
    rederive = sorted(sim.rederive)
    sim.touched.update(rederive)
    sim.touched.update(_derivation_sources(run, rederive))
    sim.touched.update(n["key"] for n in sim.new_nodes)
    sim.touched.update(c["dst"] for c in sim.to_create)
    keys = sorted(sim.touched)
    fp_before = fingerprint(run, keys)
    stage("planned")
    sim.apply()
    _rederive(sim, rederive)
    for hook in sim.post_hooks:
        hook()
    stage("applied")
    before = before_of()
    changed = set(keys_of_ids(run, sim.changed)) if sim.changed else set()
    affected = before.affected(changed)
    entries = entry_ids(run, scope) if sim.props_changed else before.entries
    fresh = reach(run, scope, [g for g in goal_rows if g["key"] in affected],
                  only=entries if before.partial else None) if affected else {}
    after = Exposure({**before.reach, **fresh}, entries, before.own, partial=before.partial)
    added = {g: after.pairs(g) - before.pairs(g) for g in after.reach}
    added_pairs = name_pairs(run, added, listed)
    paths_added = pair_paths(run, scope, added_pairs) if added_pairs else []
    stage("counted")
    return _Counted(sim, keys, fp_before, before, after, added, paths_added)


def _terminate(driver: neo4j.Driver, database: str | None, token: str) -> bool:
    """Terminate an orphaned simulation transaction by its metadata token, over a new
    connection; False when the server cannot be reached (its timeout then applies)."""
    try:
        with driver.session(database=database, notifications_min_severity="OFF") as s:
            ids = [r["transactionId"] for r in s.run(
                "SHOW TRANSACTIONS YIELD transactionId, metaData WHERE metaData.twinsight_whatif = $t "
                "RETURN transactionId", t=token)]
            if ids:
                s.run("TERMINATE TRANSACTIONS $ids", ids=ids).consume()
            return True
    except Exception:  # best effort: the connection is what just failed
        return False
