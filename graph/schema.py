"""The twin's schema: one unique `key` across every node, and the look-ups agents do.

Every node carries the `Twin` label beside its kind (BloodHound's `User`, `Computer`,
... or ours: `Vulnerability`, `Service`, ...), so the key constraint covers the
whole twin with one index; the other indexes are those graph/catalog declares.
Statements use IF NOT EXISTS: applying twice is a no-op.
"""

from __future__ import annotations

import neo4j

from graph import catalog
from graph.events import open_store
from graph.model import TWIN_LABEL

CONSTRAINTS = [
    f"CREATE CONSTRAINT twin_key IF NOT EXISTS FOR (n:{TWIN_LABEL}) REQUIRE n.key IS UNIQUE",
]

# (index name, label, property): the indexes the catalogue's properties declare (range
# indexes for equality and range look-ups; text indexes make CONTAINS / ENDS WITH on keys
# cheap, for fuzzy resolution).
INDEXES: list[tuple[str, str, str]] = [(n, lbl, prop) for n, lbl, prop, text in catalog.indexes() if not text]
TEXT_INDEXES: list[tuple[str, str, str]] = [(n, lbl, prop) for n, lbl, prop, text in catalog.indexes() if text]


def schema_statements() -> list[str]:
    stmts = list(CONSTRAINTS)
    stmts += [f"CREATE INDEX {n} IF NOT EXISTS FOR (x:{lbl}) ON (x.{prop})" for n, lbl, prop in INDEXES]
    stmts += [f"CREATE TEXT INDEX {n} IF NOT EXISTS FOR (x:{lbl}) ON (x.{prop})" for n, lbl, prop in TEXT_INDEXES]
    return stmts


def apply_schema(driver: neo4j.Driver, database: str | None = None) -> None:
    for stmt in schema_statements():
        driver.execute_query(stmt, database_=database)
    driver.execute_query("CALL db.awaitIndexes(300)", database_=database)


def describe_schema(driver: neo4j.Driver, database: str | None = None) -> dict:
    """Constraints and indexes as Neo4j reports them (tests compare before/after)."""
    cons = driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN collect(name) AS c", database_=database)
    idx = driver.execute_query("SHOW INDEXES YIELD name RETURN collect(name) AS c", database_=database)
    return {"constraints": sorted(cons.records[0]["c"]), "indexes": sorted(idx.records[0]["c"])}


def reset_twin(driver: neo4j.Driver, database: str | None = None, batch: int = 10000) -> int:
    """Empty the twin, keeping the schema; batched so a large twin does not blow the heap
    (relationships first: DETACH DELETE of a dense node would take all its edges at once).
    The event store beside it (graph/events) is emptied first: events never outlive the
    twin they were resolved against."""
    open_store(database).reset()
    while True:
        rec = driver.execute_query(
            "MATCH ()-[r]->() WITH r LIMIT $batch DELETE r RETURN count(*) AS c",
            batch=batch * 5, database_=database,
        ).records[0]
        if rec["c"] < batch * 5:
            break
    deleted = 0
    while True:
        rec = driver.execute_query(
            "MATCH (n) WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS c",
            batch=batch, database_=database,
        ).records[0]
        deleted += rec["c"]
        if rec["c"] < batch:
            return deleted
