"""The write path: batched, idempotent upserts with provenance, and scoped cleanup.

Each batch is `UNWIND $rows ... MERGE` in its own explicit transaction: it commits
whole or not at all, and a transient failure (a dropped connection, a deadlock)
retries the same batch, which MERGE makes safe to repeat.

Batches run on `workers` concurrent transactions (TWINSIGHT_WRITE_WORKERS, default 2)
without letting two of them touch the same node at once, so they neither deadlock nor
race: node rows go to lanes by their key, and relationship rows are written
"mix and batch" style: endpoints are hashed into 2 x workers buckets, rows are grouped by
bucket pair, and each round writes pairs of buckets that share no node (a round-robin
tournament schedule), one lane per pair. Rows about the same node or the same pair stay in
one lane in input order, so the last row still wins as it does sequentially. A rare
deadlock over a shared relationship record is a transient error, retried like any other.

Provenance on every node and edge: `source` (the last connector that wrote it),
`sources` (all of them), `firstseen` / `lastseen` (epoch seconds: when the data
says it was seen, else when it was ingested). Re-ingesting the same data moves
only `lastseen`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice

import neo4j
from neo4j.exceptions import ConstraintError, ServiceUnavailable, SessionExpired, TransientError
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from graph.model import NodeSchema, RelSchema, check_identifier
from graph.schema import TWIN_LABEL
from graph.settings import write_workers

DEFAULT_BATCH = 10_000
# Rows taken from the input at a time for one parallel schedule: large enough that every
# lane of every round still fills whole batches, small enough to bound memory.
WINDOW_BATCHES = 24

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


def linked_create_query(schema: NodeSchema) -> str:
    """New nodes and their edges to existing nodes in one statement (see NodeSchema.links):
    the node is bound once instead of being looked up again for every edge kind, and
    nothing is merged. Provenance is what the merge path gives a node or edge it creates.
    Link types arrive as data (`$(...)`, checked against the schema before sending)."""
    labels = ":".join(schema.labels)
    return (
        "UNWIND $rows AS row\n"
        f"CREATE (n:{TWIN_LABEL}:{labels} {{key: row.key}})\n"
        "SET n += row.props, n.firstseen = row.firstseen, n.lastseen = row.lastseen,\n"
        "    n.sources = [$source], n.source = $source\n"
        "WITH n, row\n"
        "CALL (n, row) {\n"
        "  UNWIND row.links AS link\n"
        f"  MATCH (t:{TWIN_LABEL} {{key: link[1]}})\n"
        "  CREATE (n)-[r:$(link[0])]->(t)\n"
        "  SET r.firstseen = row.firstseen, r.lastseen = row.lastseen,\n"
        "      r.sources = [$source], r.source = $source\n"
        "  RETURN count(r) AS linked\n"
        "}\n"
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


def _total(parts: list[WriteStats]) -> WriteStats:
    total = WriteStats()
    for p in parts:
        total.add(p)
    return total


def _chunks(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


_transient = retry_if_exception_type((ServiceUnavailable, SessionExpired, TransientError))


def tournament(buckets: int) -> list[list[tuple[int, int]]]:
    """Rounds of bucket pairs in which no bucket appears twice (circle method): every pair
    of `buckets` (an even number) meets in exactly one round."""
    teams = list(range(buckets))
    rounds = []
    for _ in range(buckets - 1):
        rounds.append([(teams[i], teams[buckets - 1 - i]) for i in range(buckets // 2)])
        teams = [teams[0], teams[-1], *teams[1:-1]]
    return rounds


def node_lanes(rows: list[dict], lanes: int) -> list[list[dict]]:
    """Rows split by key, so that no two lanes write the same node."""
    out: list[list[dict]] = [[] for _ in range(lanes)]
    for r in rows:
        out[hash(r["key"]) % lanes].append(r)
    return [lane for lane in out if lane]


def rel_rounds(rows: list[dict], workers: int) -> list[list[list[dict]]]:
    """Rows grouped into rounds of lanes whose endpoints are disjoint across lanes."""
    nb = 2 * workers
    cells: dict[tuple[int, int], list[dict]] = {}
    for r in rows:
        i, j = hash(r["src"]) % nb, hash(r["dst"]) % nb
        cells.setdefault((i, j) if i <= j else (j, i), []).append(r)
    out = []
    for n, pairs in enumerate(tournament(nb)):
        lanes = []
        for i, j in pairs:
            lane = list(cells.get((min(i, j), max(i, j)), ()))
            if n == 0:  # rows within one bucket: the first round holds every bucket once
                lane += cells.get((i, i), []) + cells.get((j, j), [])
            if lane:
                lanes.append(lane)
        if lanes:
            out.append(lanes)
    return out


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
        workers: int | None = None,
    ) -> None:
        self.driver = driver
        self.source = source
        self.database = database
        self.batch_size = batch_size
        self.workers = workers if workers is not None else write_workers()
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
        if schema.links:
            return self._linked_nodes(schema, rows)
        query = node_upsert_query(schema)

        def write(chunk: list[dict]) -> WriteStats:
            st = WriteStats(batches=1)
            self._merge_nodes(query, schema, [self._prepare(r, ("key",)) for r in chunk], st)
            return st

        return self._load(rows, write, lambda window: [node_lanes(window, self.workers)])

    def rels(self, schema: RelSchema, rows: Iterable[dict]) -> WriteStats:
        query = rel_upsert_query(schema)

        def write(chunk: list[dict]) -> WriteStats:
            st = WriteStats(batches=1)
            self._merge_rels(query, schema, [self._prepare(r, ("src", "dst")) for r in chunk], st)
            return st

        return self._load(rows, write, lambda window: rel_rounds(window, self.workers))

    def _merge_nodes(self, query: str, schema: NodeSchema, batch: list[dict], st: WriteStats) -> None:
        matched, counters = self._run_batch(query, batch)
        st.nodes_created += counters.nodes_created
        st.nodes_updated += matched - counters.nodes_created
        st.per_kind[schema.label] = len(batch)

    def _merge_rels(self, query: str, schema: RelSchema, batch: list[dict], st: WriteStats) -> None:
        matched, counters = self._run_batch(query, batch)
        st.relationships_created += counters.relationships_created
        st.relationships_updated += matched - counters.relationships_created
        st.unresolved += len(batch) - matched
        st.per_kind[schema.type] = len(batch)

    def _linked_nodes(self, schema: NodeSchema, rows: Iterable[dict]) -> WriteStats:
        """Rows of a kind with links: created with their edges while none of them exists
        yet; once a batch meets a node that does (the unique key refuses the create and
        the whole batch rolls back), that batch and every later one take the merge path,
        node first and then each edge kind, which gives the same graph."""
        create = linked_create_query(schema)
        merge_node = node_upsert_query(schema)
        kinds = {rel.type: (rel, rel_upsert_query(rel)) for rel in schema.links}
        merging = threading.Event()

        def write(chunk: list[dict]) -> WriteStats:
            st = WriteStats(batches=1)
            batch = []
            for r in chunk:
                row = self._prepare(r, ("key",))
                row["links"] = list(dict.fromkeys(tuple(x) for x in r.get("links") or ()))
                for rel_type, _ in row["links"]:
                    if rel_type not in kinds:
                        raise ValueError(f"{schema.label} row {row['key']!r}: link {rel_type!r} "
                                         f"is not one of {sorted(kinds)}")
                batch.append(row)
            if not merging.is_set():
                try:
                    _, counters = self._run_batch(create, batch)
                except ConstraintError:
                    merging.set()  # some of these nodes exist already
                else:
                    st.nodes_created += counters.nodes_created
                    st.relationships_created += counters.relationships_created
                    st.unresolved += sum(len(row["links"]) for row in batch) - counters.relationships_created
                    st.per_kind[schema.label] = len(batch)
                    for row in batch:
                        for rel_type, _ in row["links"]:
                            st.per_kind[rel_type] = st.per_kind.get(rel_type, 0) + 1
                    return st
            by_type: dict[str, list[dict]] = {}
            for row in batch:
                for rel_type, dst in row.pop("links"):
                    by_type.setdefault(rel_type, []).append(
                        {"src": row["key"], "dst": dst, "props": {},
                         "firstseen": row["firstseen"], "lastseen": row["lastseen"]})
            self._merge_nodes(merge_node, schema, batch, st)
            for rel_type, rel_rows in by_type.items():
                rel, query = kinds[rel_type]
                self._merge_rels(query, rel, rel_rows, st)
            return st

        return self._load(rows, write, lambda window: [node_lanes(window, self.workers)])

    def _load(
        self,
        rows: Iterable[dict],
        write: Callable[[list[dict]], WriteStats],
        schedule: Callable[[list[dict]], list[list[list[dict]]]],
    ) -> WriteStats:
        """Write `rows` batch by batch: sequentially for one worker or a single batch,
        else window by window, each window's rounds one after another and the lanes of a
        round concurrently. Every batch is its own transaction; on a failure the other
        lanes finish the batch they are in and stop, so only whole batches are left."""
        done: list[WriteStats] = []  # one entry per committed batch, from any lane
        try:
            if self.workers <= 1:
                for chunk in _chunks(rows, self.batch_size):
                    done.append(write(chunk))
                return _total(done)
            failed = threading.Event()

            def lane(lane_rows: list[dict]) -> None:
                for i in range(0, len(lane_rows), self.batch_size):
                    if failed.is_set():
                        return
                    try:
                        done.append(write(lane_rows[i:i + self.batch_size]))
                    except BaseException:
                        failed.set()
                        raise

            with ThreadPoolExecutor(self.workers, thread_name_prefix="twin-writer") as pool:
                for window in _chunks(rows, self.batch_size * WINDOW_BATCHES):
                    if len(window) <= self.batch_size:
                        done.append(write(window))
                        continue
                    for lanes in schedule(window):
                        futures = [pool.submit(lane, rows_) for rows_ in lanes]
                        errors = [f.exception() for f in futures]
                        if any(errors):
                            raise next(e for e in errors if e)
            return _total(done)
        finally:
            self.stats.add(_total(done))

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
