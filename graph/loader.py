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

Provenance on every node and edge: `sources` (every connector that wrote it, sorted),
`source` (the first of them), `firstseen` / `lastseen` (epoch seconds: when the data
says it was seen, else when it was ingested; the earliest and the latest). None of them
depends on the order of the writes, so loading A then B gives B then A's graph, and a
rerun after a crash (connectors write some rows earlier or later once the twin already
holds part of the data) gives a clean load's. Re-ingesting the same data moves only
`lastseen`.
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
from neo4j.exceptions import (
    ClientError,
    ConstraintError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from graph import faults
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
  {v}.sources = """ + "{sources}"
# `source` after the sources are set: the first of them, whoever wrote last.
_SOURCE = "{v}.source = {v}.sources[0]"


def sources_with(var: str, source: str = "$source") -> str:
    """Cypher for `var`'s sources with `source` added in sort order (unchanged when it is
    there): every writer of `sources` uses it, so the list never depends on write order."""
    have = f"coalesce({var}, [])"
    return (f"CASE WHEN {source} IN {have} THEN {var} "
            f"ELSE [s IN {have} WHERE s < {source}] + {source} + [s IN {have} WHERE s > {source}] END")


def _on_match(v: str) -> str:
    return _PROVENANCE_ON_MATCH.format(v=v, sources=sources_with(f"{v}.sources"))


def node_upsert_query(schema: NodeSchema) -> str:
    labels = ":".join(schema.labels)
    return (
        "UNWIND $rows AS row\n"
        f"MERGE (n:{TWIN_LABEL} {{key: row.key}})\n"
        f"ON CREATE SET {_PROVENANCE_ON_CREATE.format(v='n')}\n"
        f"ON MATCH SET {_on_match('n')}\n"
        f"SET n:{labels}, n += row.props, {_SOURCE.format(v='n')}\n"
        "RETURN count(*) AS matched"
    )


def rel_upsert_query(schema: RelSchema) -> str:
    return (
        "UNWIND $rows AS row\n"
        f"MATCH (a:{schema.src.label} {{{schema.src.prop}: row.src}})\n"
        f"MATCH (b:{schema.dst.label} {{{schema.dst.prop}: row.dst}})\n"
        f"MERGE (a)-[r:{schema.type}]->(b)\n"
        f"ON CREATE SET {_PROVENANCE_ON_CREATE.format(v='r')}\n"
        f"ON MATCH SET {_on_match('r')}\n"
        f"SET r += row.props, {_SOURCE.format(v='r')}\n"
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


class PropertyTooLarge(ValueError):
    """One property of a row is over the cap: the row is refused, the rest of the batch
    is written."""


def undeclared(props: dict, allowed: frozenset[str] | None) -> str | None:
    """Why a row's properties do not fit its kind (graph/catalog), or None: a property the
    catalogue does not declare would be a column no reader knows, or a connector's typo
    that silently splits one fact in two."""
    if allowed is None:
        return None
    extra = props.keys() - allowed
    if not extra:
        return None
    names = ", ".join(repr(n) for n in sorted(extra)[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
    return f"undeclared propert{'ies' if len(extra) > 1 else 'y'} {names} (graph/catalog)"


def clean_props(props: dict, cap: int | None = None) -> dict:
    """Neo4j stores primitives and lists of one primitive type: drop nulls, and keep
    nested structures as JSON text rather than losing them. With `cap`, a value whose
    stored size (UTF-8 text, 8 bytes a number) is over it raises PropertyTooLarge; the
    check costs a len() per text value (a character is at most 4 bytes)."""
    out = {}
    quarter = cap // 4 if cap is not None else None
    for k, v in props.items():
        if v is None:
            continue
        if isinstance(v, dict):
            v = json.dumps(v, sort_keys=True, default=str)
        elif isinstance(v, (list, tuple)):
            items = [x for x in v if x is not None]
            if items and (
                any(isinstance(x, (dict, list, tuple)) for x in items)
                or len({type(x) for x in items}) > 1
            ):
                v = json.dumps(items, sort_keys=True, default=str)
            else:
                v = items
                if quarter is not None and items:
                    n = sum(map(len, items)) if isinstance(items[0], str) else 8 * len(items)
                    if n > quarter:
                        _check_size(k, items, cap)
        out[k] = v
        if quarter is not None and type(v) is str and len(v) > quarter:
            _check_size(k, v, cap)
    return out


def _check_size(name: str, value: str | list, cap: int) -> None:
    if isinstance(value, str):
        size = len(value.encode("utf-8", "surrogatepass"))
    else:
        size = sum(len(x.encode("utf-8", "surrogatepass")) if isinstance(x, str) else 8 for x in value)
    if size > cap:
        raise PropertyTooLarge(f"property {name!r} is {size:,} bytes, over the {cap:,}-byte "
                               "property cap (TWINSIGHT_INGEST_MAX_PROPERTY_KB)")


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


# The server ended the transaction (a dropped client, a stopped lock client, a kill): the
# driver calls these ClientErrors not retryable since Neo4j 5, because it cannot know
# whether the work was idempotent. A batch is one transaction of MERGEs, so nothing of it
# was committed and running it again gives the same graph.
SERVER_ENDED = frozenset({
    "Neo.ClientError.Transaction.LockClientStopped",
    "Neo.ClientError.Transaction.Terminated",
})


def transient(exc: BaseException) -> bool:
    """Whether a failed batch is worth running again (and, past the retries, means the
    twin was lost rather than the query wrong)."""
    if isinstance(exc, (ServiceUnavailable, SessionExpired, TransientError)):
        return True
    return isinstance(exc, ClientError) and exc.code in SERVER_ENDED


_transient = retry_if_exception(transient)


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
        max_property_bytes: int | None = None,
    ) -> None:
        self.driver = driver
        self.source = source
        self.max_property_bytes = max_property_bytes
        # (record, reason) of rows refused for a property over max_property_bytes
        self.rejected: list[tuple[str, str]] = []
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

    def _prepare(self, row: dict, key_fields: tuple[str, ...], kind: str,
                 allowed: frozenset[str] | None = None) -> dict | None:
        """The row as the queries take it, or None (recorded in `rejected`) when one of its
        properties is over the cap or not one its kind declares (`allowed`)."""
        out = {k: row[k] for k in key_fields}
        try:
            out["props"] = clean_props(row.get("props") or {}, self.max_property_bytes)
            why = undeclared(out["props"], allowed)
        except PropertyTooLarge as exc:
            why = str(exc)
        if why is not None:
            record = f"{kind} {row['key']}" if "key" in row else f"{row['src']} {kind} {row['dst']}"
            self.rejected.append((record, why))  # list.append: safe across lanes
            return None
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
                faults.point("batch-open")
                tx.commit()
            finally:
                if tx.closed() is False:
                    tx.close()
        faults.point("batch-done")
        return matched, counters

    def nodes(self, schema: NodeSchema, rows: Iterable[dict]) -> WriteStats:
        if schema.links:
            return self._linked_nodes(schema, rows)
        query = node_upsert_query(schema)

        def write(chunk: list[dict]) -> WriteStats:
            st = WriteStats(batches=1)
            batch = [p for r in chunk
                     if (p := self._prepare(r, ("key",), schema.label, schema.properties)) is not None]
            if batch:
                self._merge_nodes(query, schema, batch, st)
            return st

        return self._load(rows, write, lambda window: [node_lanes(window, self.workers)])

    def rels(self, schema: RelSchema, rows: Iterable[dict]) -> WriteStats:
        query = rel_upsert_query(schema)

        def write(chunk: list[dict]) -> WriteStats:
            st = WriteStats(batches=1)
            batch = [p for r in chunk
                     if (p := self._prepare(r, ("src", "dst"), schema.type, schema.properties)) is not None]
            if batch:
                self._merge_rels(query, schema, batch, st)
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
                row = self._prepare(r, ("key",), schema.label, schema.properties)
                if row is None:
                    continue
                row["links"] = list(dict.fromkeys(tuple(x) for x in r.get("links") or ()))
                for rel_type, _ in row["links"]:
                    if rel_type not in kinds:
                        raise ValueError(f"{schema.label} row {row['key']!r}: link {rel_type!r} "
                                         f"is not one of {sorted(kinds)}")
                batch.append(row)
            if not batch:
                return st
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
        """Withdraw this source from its nodes of a snapshot kind that this run did not see
        again (lastseen older than the run), within a scope such as one AD domain: a node
        no other source vouches for goes, the others only lose this source."""
        if not schema.snapshot:
            return 0
        where, params = self._scope(scope)
        return self._withdraw_loop(
            f"MATCH (n:{schema.label}) WHERE $source IN n.sources AND n.lastseen < $now{where} "
            "WITH n AS x LIMIT $limit", "DETACH DELETE x", params)

    def cleanup_rels(self, schema: RelSchema, scope: dict[str, object] | None = None) -> int:
        """The same for relationships: filtered on `sources`, not on `source`, so what is
        cleaned does not depend on which connector happened to write an edge last."""
        if not schema.snapshot:
            return 0
        where, params = self._scope(scope, var="r")
        return self._withdraw_loop(
            f"MATCH ()-[r:{schema.type}]->() WHERE $source IN r.sources AND r.lastseen < $now{where} "
            "WITH r AS x LIMIT $limit", "DELETE x", params)

    def _scope(self, scope: dict[str, object] | None, var: str = "n") -> tuple[str, dict]:
        where, params = "", {}
        for i, (prop, value) in enumerate((scope or {}).items()):
            where += f" AND {var}.{check_identifier(prop)} = $scope{i}"
            params[f"scope{i}"] = value
        return where, params

    def _withdraw_loop(self, match: str, delete: str, params: dict) -> int:
        """Run `match` (binding `x`, at most $limit of them) until it finds nothing: each
        `x` this source alone vouches for is deleted, the others lose this source."""
        query = match + withdraw_source("x", delete) + " RETURN count(*) AS c, sum(gone) AS gone"
        total = 0
        while True:
            rec = self.driver.execute_query(
                query, source=self.source, now=self.now, limit=self.batch_size,
                database_=self.database, **params,
            ).records[0]
            total += rec["gone"] or 0
            if rec["c"] < self.batch_size:
                self.stats.deleted += total
                return total


def withdraw_source(var: str, delete: str, keep: str = "s <> $source") -> str:
    """Cypher taking a source off `var` (a node or relationship bound before): `delete`
    when none of its sources is left, else the rest (still sorted) and `source` updated.
    `keep` says which sources stay (`s` is each one). Returns one row with `gone`."""
    return (
        f" WITH {var}, [s IN {var}.sources WHERE {keep}] AS rest"
        f" CALL ({var}, rest) {{ WITH {var}, rest WHERE size(rest) = 0 {delete} RETURN 1 AS gone"
        f" UNION WITH {var}, rest WHERE size(rest) > 0"
        f" SET {var}.sources = rest, {var}.source = rest[0] RETURN 0 AS gone }}"
    )
