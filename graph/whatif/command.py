"""The `twinsight whatif ACTION ... [--json]` command: CLI words to the JSON document
(`run_whatif_argv`, which the bot's service calls too), and the command's body - exit
codes, one-line errors on stderr, progress, and the rich tables a person reads. It sits
in the package, as graph/tools/query_cmd.py does for `query`: cli.py stays a thin shell."""

from __future__ import annotations

import contextlib
import json
import shlex
import sys
import time
from collections.abc import Callable, Iterable

import neo4j
from rich.console import Console
from rich.table import Table

from graph.db import TwinConnectionError, open_driver
from graph.settings import Neo4jSettings
from graph.whatif.errors import WhatIfError, WhatIfInputError
from graph.whatif.grammar import parse_request
from graph.whatif.paths import PathScope, check_hops, exposure, resolve_goals, runner
from graph.whatif.rank import rank
from graph.whatif.sim import simulate


def run_whatif_argv(driver: neo4j.Driver, database: str | None, argv: Iterable[str],
                    progress: Callable[[int, int, str], None] | None = None) -> dict:
    """What `twinsight whatif ... --json` prints, from the CLI words: contract section 7
    for an action; for `rank`, {"action", "target", "paths_before", "ranking": [...],
    "candidates_simulated", "twin_unchanged", "seconds"}."""
    action, opts = parse_request(argv)
    if action is None:
        top = opts.get("top", 10)
        t0 = time.perf_counter()
        done: list[int] = [0]

        def tick(i: int, n: int, text: str) -> None:
            done[0] = max(done[0], i)
            if progress:
                progress(i, n, text)

        ranked = rank(driver, database, opts["target"], top=top, sources=opts.get("sources"), progress=tick,
                      max_hops=opts.get("max_hops", 6), compromised=opts.get("compromised"),
                      as_of=opts.get("as_of"))
        before = ranked[0].paths_before if ranked else _paths_to(driver, database, opts)
        return {
            "action": shlex.join(["rank", "--target", opts["target"], "--top", str(top)]),
            "target": ranked[0].goal if ranked else opts["target"],
            "paths_before": before,
            "ranking": [r.model_dump(mode="json") for r in ranked],
            "candidates_simulated": done[0],
            "twin_unchanged": all(r.twin_unchanged for r in ranked),
            "seconds": round(time.perf_counter() - t0, 3),
        }
    res = simulate(driver, database, action, goals=opts.get("goals"), sources=opts.get("sources"),
                   compromised=opts.get("compromised"), max_hops=opts.get("max_hops", 6),
                   as_of=opts.get("as_of"), listed=opts.get("listed", 25))
    return res.contract()


def _paths_to(driver: neo4j.Driver, database: str | None, opts: dict) -> int:
    """The paths to rank's target when no action removes any (the ranking is empty)."""
    scope = PathScope(goals=[opts["target"]], sources=opts.get("sources"), compromised=opts.get("compromised") or [],
                      max_hops=check_hops(opts.get("max_hops", 6)))
    with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS, notifications_min_severity="OFF") as session:
        run = runner(session)
        found = run("MATCH (n:Twin) WHERE n.key IN [$k, toUpper($k)] RETURN n.key AS k LIMIT 1", k=opts["target"])
        if found:
            scope.goals = [found[0]["k"]]
        return exposure(run, scope, resolve_goals(run, scope)).total()


def render(doc: dict) -> None:
    """The result as tables for a terminal (`--json` prints the document itself)."""
    console = Console()
    if "ranking" in doc:
        table = Table(title=f"What-if ranking for {doc['target']}: {doc['paths_before']} attack paths now")
        for col in ("#", "action", "paths removed", "after", "breaks", "cost"):
            table.add_column(col, justify="right" if col not in ("action",) else "left")
        for i, r in enumerate(doc["ranking"], 1):
            table.add_row(str(i), r["action"], str(r["paths_removed"]), str(r["paths_after"]),
                          str(len(r["breaks"])), f"{r['cost']:g}")
        console.print(table)
        console.print(f"{doc['candidates_simulated']} candidates simulated in {doc['seconds']} s; "
                      f"twin unchanged: {doc['twin_unchanged']}")
        return
    table = Table(title=f"What-if: {doc['action']}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("attack paths", f"{doc['paths_before']} -> {doc['paths_after']} "
                                  f"(removed {doc['paths_removed_count']}, added {doc['paths_added_count']})")
    table.add_row("vulnerabilities lost", ", ".join(doc["vulns_lost"]) or "-")
    table.add_row("vulnerabilities gained", ", ".join(doc["vulns_gained"]) or "-")
    table.add_row("breaks", str(len(doc["breaks"])))
    table.add_row("twin unchanged", str(doc["twin_unchanged"]))
    if doc.get("unknown"):
        table.add_row("unknown", "yes: see notes")
    console.print(table)
    if doc["paths_removed"]:
        paths = Table(title="paths removed (as they were)")
        paths.add_column("goal")
        paths.add_column("path")
        for p in doc["paths_removed"]:
            steps = [p["nodes"][0]]
            for e, n in zip(p["edges"], p["nodes"][1:], strict=False):
                steps.append(f"-{e}-> {n}")
            paths.add_row(p.get("goal") or "", " ".join(steps))
        console.print(paths)
    if doc["breaks"]:
        brk = Table(title="what breaks")
        for col in ("key", "kind", "reason"):
            brk.add_column(col)
        for b in doc["breaks"][:50]:
            brk.add_row(b["key"], b.get("kind", ""), b["reason"])
        console.print(brk)
        if len(doc["breaks"]) > 50:
            console.print(f"... and {len(doc['breaks']) - 50} more (--json for all)")
    for note in doc.get("notes") or []:
        console.print(f"note: {note}")


def whatif_command(argv: list[str], json_out: bool = False) -> int:
    """The body of `twinsight whatif ACTION ... [--json]`: 0 done, 1 the twin could not
    be used, 2 bad usage or input (one line on stderr naming the bad argument)."""
    words = [str(w) for w in argv]
    json_out = json_out or "--json" in words
    try:  # usage errors before touching the twin
        parse_request(words)
    except WhatIfInputError as exc:
        print(f"twinsight whatif: {exc}", file=sys.stderr)
        return 2
    try:
        settings = Neo4jSettings.from_env()
        driver = open_driver(settings)
    except TwinConnectionError as exc:
        print(f"twinsight whatif: {exc}", file=sys.stderr)
        return 1

    def progress(i: int, n: int, text: str) -> None:
        print(f"[{i}/{n}] {text}", file=sys.stderr, flush=True)

    try:
        doc = run_whatif_argv(driver, settings.database, words, progress=progress)
    except WhatIfInputError as exc:
        print(f"twinsight whatif: {exc}", file=sys.stderr)
        return 2
    except WhatIfError as exc:
        print(f"twinsight whatif: {exc}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(Exception):
            driver.close()
    if json_out:
        print(json.dumps(doc, default=str))
    else:
        render(doc)
    return 0
