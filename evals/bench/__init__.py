"""Benchmarks: each prints its own numbers next to a baseline measured in the same run.

What several benchmarks share lives here once: progress on stderr (`log`), the twin
(`open_twin`, or emptied: `open_empty_twin`), and for the live-layer benches the options
and the generated enterprise they all start from (`enterprise_args`, `generated_enterprise`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import neo4j

from graph import server
from graph.db import open_driver
from graph.generate import generate
from graph.schema import apply_schema, reset_twin
from graph.settings import Neo4jSettings


def log(msg: str) -> None:
    """Progress goes to stderr, so that stdout holds only the results (and `--json` one document)."""
    print(msg, file=sys.stderr, flush=True)


def open_twin() -> tuple[Neo4jSettings, neo4j.Driver, str | None]:
    """The benchmark's server (started when it is the local one and not running yet), a
    driver and the database, with the schema applied; whatever the twin holds stays."""
    settings = Neo4jSettings.from_env()
    server.ensure_running(settings)
    driver = open_driver(settings)
    db = settings.database
    apply_schema(driver, db)
    return settings, driver, db


def open_empty_twin(reset: bool) -> tuple[neo4j.Driver, str | None] | None:
    """The benchmark's server (started when it is the local one) with the schema applied and
    nothing in it: a twin that holds data is emptied only when `reset` says so, else None
    (a benchmark must not wipe someone's twin by default)."""
    settings = Neo4jSettings.from_env()
    if not settings.external:
        server.start(settings)
    driver = open_driver(settings)
    db = settings.database
    apply_schema(driver, db)
    if driver.execute_query("MATCH (n) RETURN count(n) AS c", database_=db).records[0]["c"]:
        if not reset:
            print("the twin is not empty: pass --reset to empty it for the benchmark", file=sys.stderr)
            driver.close()
            return None
        reset_twin(driver, db)
    return driver, db


def enterprise_args(doc: str, *, hosts: int, users: int, seed: int, files: bool = False) -> argparse.ArgumentParser:
    """The options of a benchmark on a generated enterprise with a day of operations: its
    size and seed, and `--files` (how many of the day's event files) where it reads events.
    The caller adds its own options, then `--reset` and `--json` with `parse_enterprise_args`."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=hosts)
    ap.add_argument("--users", type=int, default=users)
    ap.add_argument("--seed", type=int, default=seed)
    if files:
        ap.add_argument("--files", type=int, default=1, help="how many of the day's event files to use")
    return ap


def parse_enterprise_args(ap: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    ap.add_argument("--reset", action="store_true", help="empty the twin first")
    ap.add_argument("--json", action="store_true")
    return ap.parse_args(argv)


@dataclass
class Generated:
    """An emptied twin and the enterprise generated for it (not yet ingested)."""

    driver: neo4j.Driver
    db: str | None
    out: Path  # the run's temporary folder: stores and scratch files go here
    gen: Path  # the generated files
    doc: dict  # generate()'s manifest

    def paths(self, formats: tuple[str, ...], *, exclude: bool = False, by_name: bool = False) -> list[Path]:
        """The generated files of these formats (or, with `exclude`, of every other format), in
        the manifest's order or, with `by_name`, sorted by their names in it."""
        files = sorted(self.doc["files"].items()) if by_name else self.doc["files"].items()
        return [self.gen / p for p, m in files if (m["format"] in formats) != exclude]


@contextmanager
def generated_enterprise(args: argparse.Namespace, prefix: str) -> Iterator[Generated | None]:
    """An emptied twin and a generated enterprise with a day of operations, both cleaned up
    after the block (driver closed, temporary folder removed); None when the twin holds data
    and `--reset` was not given (`open_empty_twin` has said so: the benchmark exits 2)."""
    opened = open_empty_twin(args.reset)
    if opened is None:
        yield None
        return
    driver, db = opened
    out = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        log(f"generating {args.hosts} hosts / {args.users} users with a day of operations ...")
        doc = generate(out / "gen", seed=args.seed, hosts=args.hosts, users=args.users, ops=True)
        yield Generated(driver, db, out, out / "gen", doc)
    finally:
        driver.close()
        shutil.rmtree(out, ignore_errors=True)
