"""Benchmarks: each prints its own numbers next to a baseline measured in the same run."""

from __future__ import annotations

import sys

import neo4j

from graph import server
from graph.db import open_driver
from graph.schema import apply_schema, reset_twin
from graph.settings import Neo4jSettings


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
