"""Fixtures on a real Neo4j 5 over Bolt: started (or reused) once per session.

The server is the embedded default (`graph.server`), or whatever NEO4J_URI names.
Each test that asks for `twin` gets an empty twin with the schema applied.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graph import server
from graph.db import open_driver
from graph.schema import apply_schema, reset_twin
from graph.settings import Neo4jSettings

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"


def real_data(*parts: str) -> Path:
    """A path in ../shared/data/real, or skip the test saying why."""
    path = SHARED_REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real sample {path} is absent (it lives in ../shared/data/real beside the repo)")
    return path


@pytest.fixture(scope="session")
def neo4j_settings() -> Neo4jSettings:
    settings = Neo4jSettings.from_env()
    started_here = False
    if not settings.external and not server.read_pid(settings):
        server.start(settings)
        started_here = True
    yield settings
    if started_here and not os.environ.get("TWINSIGHT_KEEP_NEO4J"):
        server.stop(settings)


@pytest.fixture(scope="session")
def driver(neo4j_settings):
    drv = open_driver(neo4j_settings)
    apply_schema(drv, neo4j_settings.database)
    yield drv
    drv.close()


class Twin:
    """A handle on the emptied twin with a few read helpers for assertions."""

    def __init__(self, driver, database):
        self.driver = driver
        self.database = database

    def run(self, query: str, **params):
        return self.driver.execute_query(query, params, database_=self.database).records

    def value(self, query: str, **params):
        recs = self.run(query, **params)
        return recs[0][0] if recs else None

    def counts(self) -> tuple[int, int]:
        return (self.value("MATCH (n) RETURN count(n)"), self.value("MATCH ()-[r]->() RETURN count(r)"))

    def snapshot(self) -> tuple:
        """Every node and edge with its properties (minus lastseen): for 'unchanged' checks."""
        nodes = self.run(
            "MATCH (n) RETURN n.key AS k, labels(n) AS l, properties(n) AS p ORDER BY k"
        )
        rels = self.run(
            "MATCH (a)-[r]->(b) RETURN a.key AS a, type(r) AS t, b.key AS b, properties(r) AS p "
            "ORDER BY a, t, b"
        )
        strip = lambda p: tuple(sorted((k, str(v)) for k, v in p.items() if k != "lastseen"))  # noqa: E731
        return (
            tuple((r["k"], tuple(sorted(r["l"])), strip(r["p"])) for r in nodes),
            tuple((r["a"], r["t"], r["b"], strip(r["p"])) for r in rels),
        )


@pytest.fixture
def twin(driver, neo4j_settings) -> Twin:
    reset_twin(driver, neo4j_settings.database)
    return Twin(driver, neo4j_settings.database)
