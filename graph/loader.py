"""The write path: batched, idempotent upserts with provenance, and scoped cleanup.

Each batch is `UNWIND $rows ... MERGE` in its own explicit transaction: it commits
whole or not at all, and a transient failure (a dropped connection, a deadlock)
retries the same batch, which MERGE makes safe to repeat.

Provenance on every node and edge: `source` (the last connector that wrote it),
`sources` (all of them), `firstseen` / `lastseen` (epoch seconds: when the data
says it was seen, else when it was ingested). Re-ingesting the same data moves
only `lastseen`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

import neo4j
from neo4j.exceptions import ServiceUnavailable, SessionExpired, TransientError
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from graph.model import NodeSchema, RelSchema, check_identifier
from graph.schema import TWIN_LABEL

DEFAULT_BATCH = 10_000

_PROVENANCE_ON_CREATE = """
  {v}.firstseen = row.firstseen, {v}.lastseen = row.lastseen, {v}.sources = [$source]"""
_PROVENANCE_ON_MATCH = """
  {v}.firstseen = CASE WHEN {v}.firstseen IS NULL OR row.firstseen < {v}.firstseen
                       THEN row.firstseen ELSE {v}.firstseen END,
  {v}.lastseen = CASE WHEN {v}.lastseen IS NULL OR row.lastseen > {v}.lastseen
                      THEN row.lastseen ELSE {v}.lastseen END,
  {v}.sources = CASE WHEN $source IN coalesce({v}.sources, []) THEN {v}.sources
                     ELSE coalesce({v}.sources, []) + $source END"""


def node_upsert_query(schema: NodeSchema) -> str:
    labels = ":".join(schema.labels)
    return (
        "UNWIND $rows AS row\n"
        f"MERGE (n:{TWIN_LABEL} {{key: row.key}})\n"
        f"ON CREATE SET {_PROVENANCE_ON_CREATE.format(v='n')}\n"
        f"ON MATCH SET {_PROVENANCE_ON_MATCH.format(v='n')}\n"
        f"SET n:{labels}, n += row.props, n.source = $source\n"
        "RETURN count(*) AS matched"
    )


def rel_upsert_query(schema: RelSchema) -> str:
    return (
        "UNWIND $rows AS row\n"
        f"MATCH (a:{schema.src.label} {{{schema.src.prop}: row.src}})\n"
        f"MATCH (b:{schema.dst.label} {{{schema.dst.prop}: row.dst}})\n"
        f"MERGE (a)-[r:{schema.type}]->(b)\n"
        f"ON CREATE SET {_PROVENANCE_ON_CREATE.format(v='r')}\n"
        f"ON MATCH SET {_PROVENANCE_ON_MATCH.format(v='r')}\n"
        "SET r += row.props, r.source = $source\n"
        "RETURN count(*) AS matched"
    )


def clean_props(props: dict) -> dict:
    """Neo4j stores primitives and lists of one primitive type: drop nulls, and keep
    nested structures as JSON text rather than losing them."""
    out = {}
    for k, v in props.items():
        if v is None:
            continue
        if isinstance(v, dict):
            out[k] = json.dumps(v, sort_keys=True, default=str)
        elif isinstance(v, (list, tuple)):
            items = [x for x in v if x is not None]
            if items and (
                any(isinstance(x, (dict, list, tuple)) for x in items)
                or len({type(x) for x in items}) > 1
            ):
                out[k] = json.dumps(items, sort_keys=True, default=str)
            else:
                out[k] = list(items)
        else:
            out[k] = v
    return out


@dataclass
class WriteStats:
    nodes_created: int = 0
    nodes_updated: int = 0
    relationships_created: int = 0
    relationships_updated: int = 0
    unresolved: int = 0
    deleted: int = 0
    batches: int = 0
    per_kind: dict[str, int] = field(default_factory=dict)

    def add(self, other: WriteStats) -> None:
        for name in ("nodes_created", "nodes_updated", "relationships_created",
                     "relationships_updated", "unresolved", "deleted", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for k, v in other.per_kind.items():
            self.per_kind[k] = self.per_kind.get(k, 0) + v


def _chunks(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


_transient = retry_if_exception_type((ServiceUnavailable, SessionExpired, TransientError))


class TwinWriter:
    """Writes rows of declared kinds into the twin on behalf of one source and one run."""

    def __init__(
        self,
        driver: neo4j.Driver,
        source: str,
        *,
        database: str | None = None,
        batch_size: int = DEFAULT_BATCH,
        now: int | None = None,
        attempts: int = 5,
    ) -> None:
        self.driver = driver
        self.source = source
        self.database = database
        self.batch_size = batch_size
        self.now = int(now if now is not None else time.time())
        self.stats = WriteStats()
        self._run_batch = retry(
            retry=_transient,
            stop=stop_after_attempt(attempts),
            wait=wait_random_exponential(multiplier=0.2, max=5),
            reraise=True,
        )(self._run_batch_once)

    def _prepare(self, row: dict, key_fields: tuple[str, ...]) -> dict:
        out = {k: row[k] for k in key_fields}
        out["props"] = clean_props(row.get("props") or {})
        out["firstseen"] = int(row.get("firstseen") or row.get("lastseen") or self.now)
        out["lastseen"] = int(row.get("lastseen") or row.get("firstseen") or self.now)
        return out

    def _run_batch_once(self, query: str, rows: list[dict]) -> tuple[int, neo4j.SummaryCounters]:
        with self.driver.session(database=self.database) as session:
            tx = session.begin_transaction()
            try:
                result = tx.run(query, rows=rows, source=self.source)
                matched = result.single()["matched"]
                counters = result.consume().counters
                tx.commit()
            finally:
                if tx.closed() is False:
                    tx.close()
        return matched, counters

    def nodes(self, schema: NodeSchema, rows: Iterable[dict]) -> WriteStats:
        stats = WriteStats()
        query = node_upsert_query(schema)
        for chunk in _chunks(rows, self.batch_size):
            batch = [self._prepare(r, ("key",)) for r in chunk]
            matched, counters = self._run_batch(query, batch)
            stats.nodes_created += counters.nodes_created
            stats.nodes_updated += matched - counters.nodes_created
            stats.batches += 1
            stats.per_kind[schema.label] = stats.per_kind.get(schema.label, 0) + len(batch)
        self.stats.add(stats)
        return stats

    def rels(self, schema: RelSchema, rows: Iterable[dict]) -> WriteStats:
        stats = WriteStats()
        query = rel_upsert_query(schema)
        for chunk in _chunks(rows, self.batch_size):
            batch = [self._prepare(r, ("src", "dst")) for r in chunk]
            matched, counters = self._run_batch(query, batch)
            stats.relationships_created += counters.relationships_created
            stats.relationships_updated += matched - counters.relationships_created
            stats.unresolved += len(batch) - matched
            stats.batches += 1
            stats.per_kind[schema.type] = stats.per_kind.get(schema.type, 0) + len(batch)
        self.stats.add(stats)
        return stats

    def cleanup_nodes(self, schema: NodeSchema, scope: dict[str, object] | None = None) -> int:
        """Delete this source's nodes of a snapshot kind that this run did not see again
        (lastseen older than the run), within a scope such as one AD domain."""
        if not schema.snapshot:
            return 0
        where, params = self._scope(scope)
        query = (
            f"MATCH (n:{schema.label}) WHERE $source IN n.sources AND n.lastseen < $now{where} "
            "WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS c"
        )
        return self._delete_loop(query, params)

    def cleanup_rels(self, schema: RelSchema, scope: dict[str, object] | None = None) -> int:
        if not schema.snapshot:
            return 0
        where, params = self._scope(scope, var="r")
        query = (
            f"MATCH ()-[r:{schema.type}]->() WHERE r.source = $source AND r.lastseen < $now{where} "
            "WITH r LIMIT $limit DELETE r RETURN count(*) AS c"
        )
        return self._delete_loop(query, params)

    def _scope(self, scope: dict[str, object] | None, var: str = "n") -> tuple[str, dict]:
        where, params = "", {}
        for i, (prop, value) in enumerate((scope or {}).items()):
            where += f" AND {var}.{check_identifier(prop)} = $scope{i}"
            params[f"scope{i}"] = value
        return where, params

    def _delete_loop(self, query: str, params: dict) -> int:
        total = 0
        while True:
            rec = self.driver.execute_query(
                query, source=self.source, now=self.now, limit=self.batch_size,
                database_=self.database, **params,
            ).records[0]
            total += rec["c"]
            if rec["c"] < self.batch_size:
                self.stats.deleted += total
                return total
