"""Fixtures on a real Neo4j 5 over Bolt: started (or reused) once per session.

The server is the embedded default (`graph.server`), or whatever NEO4J_URI names.
Each test that asks for `twin` gets an empty twin with the schema applied; `corp` is the
hand-built corp twin (graph/tools/fixtures.py), shared by a module's tests. Test doubles
(fake Slack, Synapse, a scripted service) live in tests/fakes/.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from evals.spec import schema as shipped_schema
from graph import server
from graph.db import open_driver
from graph.events import EventFilter, open_store
from graph.schema import apply_schema, reset_twin
from graph.settings import Neo4jSettings
from graph.tools.fixtures import corp_twin

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"
SHARED_SPEC = REPO.parent / "shared" / "spec"


def real_data(*parts: str) -> Path:
    """A path in ../shared/data/real, or skip the test saying why."""
    path = SHARED_REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real sample {path} is absent (it lives in ../shared/data/real beside the repo)")
    return path


def validate_contract(name: str, doc: Any) -> None:
    """Hold an output (or scenario) to the contract: the schema shipped in evals/spec
    always, and the one in ../shared/spec too when it is there beside the repo (the
    shipped one is kept at least as strict by tests/test_contract_spec.py)."""
    jsonschema.validate(doc, shipped_schema(name))
    shared = SHARED_SPEC / f"{name}.schema.json"
    if shared.exists():
        jsonschema.validate(doc, json.loads(shared.read_text()))


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

    def events(self, **criteria) -> list[dict]:
        """The twin's events: the event store's rows (graph/events) matching an
        EventFilter's criteria, in time order."""
        return open_store(self.database).query(EventFilter(**criteria))

    def event(self, key: str) -> dict | None:
        return open_store(self.database).get([key]).get(key)

    def events_snapshot(self) -> tuple:
        """Every event row with its ties and fields (not the run that wrote it)."""
        return tuple(sorted(
            (r["key"], r["kind"], r["host"], r["from_host"], r["from_ip"], tuple(r["by_keys"]),
             tuple(r["target_keys"]), tuple(r["marks"]), r["in_session"], r["parent"], r["raw"],
             json.dumps(r["props"], sort_keys=True)) for r in self.events()))

    def snapshot(self) -> tuple:
        """Every node and edge with its properties (minus lastseen), and every event of the
        event store: for 'unchanged' checks."""
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
            self.events_snapshot(),
        )

    def fingerprint(self) -> str:
        """A digest of every node and edge with all their properties, lastseen included:
        equal digests, equal twins (for knowing a loaded twin is still untouched)."""
        nodes = self.run("MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
        rels = self.run("MATCH (a)-[r]->(b) RETURN a.key AS a, type(r) AS t, b.key AS b, properties(r) AS p")
        items = sorted(repr((sorted(r["l"]), sorted(r["p"].items()))) for r in nodes)
        items += sorted(repr((r["a"], r["t"], r["b"], sorted(r["p"].items()))) for r in rels)
        return hashlib.sha256("\n".join(items).encode()).hexdigest()


@pytest.fixture
def twin(driver, neo4j_settings) -> Twin:
    reset_twin(driver, neo4j_settings.database)
    return Twin(driver, neo4j_settings.database)


_CORP_LOADED: list[str | None] = [None]  # the fingerprint of the corp twin this session loaded


@pytest.fixture(scope="module")
def corp(driver, neo4j_settings) -> Twin:
    """The hand-built corp twin, one load for all of a module's tests: they must leave it
    as they found it (a test that writes takes `twin`). It is loaded again only when the
    twin is not, to the last property, the corp twin loaded before, so modules that only
    read it in a row share one load and a module after a writer never sees its writes."""
    handle = Twin(driver, neo4j_settings.database)
    if _CORP_LOADED[0] is None or handle.fingerprint() != _CORP_LOADED[0]:
        _CORP_LOADED[0] = None
        reset_twin(driver, neo4j_settings.database)
        corp_twin(driver, neo4j_settings.database)
        _CORP_LOADED[0] = handle.fingerprint()
    return handle
