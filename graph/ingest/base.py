"""What every connector is made of, and the rules they all keep.

get       read the file (or a member of a zip) as its own tool wrote it;
transform turn it into rows of declared node and relationship kinds (graph.model),
          rejecting bad records one by one (file + record + reason) and the whole
          file when it cannot be parsed at all;
load      write the rows through the shared TwinWriter, nodes before edges;
cleanup   optionally drop what a snapshot source no longer reports.

A file is transformed completely before anything of it is written, so a file that
cannot be parsed leaves nothing of itself in the twin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import neo4j

from graph.loader import TwinWriter
from graph.model import NodeSchema, RelSchema
from graph.resolve import TwinIndex

# What a TwinIndex holds: nodes with these labels, and HasIP leases.
_INDEXED_LABELS = ("Computer", "User", "Group", "Domain")


class BadFile(Exception):
    """The file as a whole cannot be read as its format: nothing of it is loaded."""


@dataclass
class Rejected:
    file: str
    record: str
    error: str
    reason: str = ""  # the kind of error, for summaries ("missing Hostname"); else the error

    def __post_init__(self) -> None:
        self.reason = self.reason or self.error.split(":", 1)[0]

    def as_dict(self) -> dict:
        return {"file": self.file, "record": self.record, "error": self.error}


@dataclass
class Source:
    """One input: a path on disk, or a member of a zip (name + bytes)."""

    name: str  # what error messages call it: path, or "archive.zip:member.json"
    data: bytes
    error: str | None = None  # set when the container itself could not be read

    @classmethod
    def from_path(cls, path: Path) -> Source:
        return cls(name=str(path), data=path.read_bytes())

    def text(self) -> str:
        try:
            return self.data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadFile(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


@dataclass
class Batch:
    """What a transform produces: rows by kind, in load order, plus its rejects."""

    nodes: list[tuple[NodeSchema, list[dict]]] = field(default_factory=list)
    rels: list[tuple[RelSchema, list[dict]]] = field(default_factory=list)
    records: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    # Scope for cleanup of snapshot kinds, e.g. {"domain": "CORP.LOCAL"}.
    scope: dict[str, object] | None = None

    def add_nodes(self, schema: NodeSchema, rows: list[dict]) -> None:
        if rows:
            self.nodes.append((schema, rows))

    def add_rels(self, schema: RelSchema, rows: list[dict]) -> None:
        if rows:
            self.rels.append((schema, rows))

    def reject(self, file: str, record: object, error: str, reason: str | None = None) -> None:
        self.rejected.append(Rejected(file, str(record), error, reason or ""))


@dataclass
class IngestContext:
    """Shared state for one `ingest` run: the driver (for connectors that resolve
    against what the twin already holds, e.g. IP -> host) and the run's clock."""

    driver: neo4j.Driver | None
    database: str | None
    now: int
    # Per-run scratch space for connectors whose files arrive one by one (SharpHound).
    state: dict = field(default_factory=dict)
    _index: TwinIndex | None = None

    def twin_index(self) -> TwinIndex:
        """The twin's hosts, leases and accounts for resolving one file: read once per
        run (24 hourly Zeek logs would otherwise read 140k nodes 24 times), kept true to
        the twin by `loaded`, and handed out as a copy so one file's learning stays its own."""
        if self._index is None:
            self._index = TwinIndex.load(self.driver, self.database)
        return self._index.copy()

    def loaded(self, batch: Batch) -> None:
        """Bring the run's index up to date with a batch just written. New hosts and
        accounts are read back from the twin and added; a row that changes what the index
        already holds (new properties on a known node, a lease, a domain) drops the index,
        to be read whole again when next needed. Rows that only move a known host's
        lastseen keep it (that time only breaks ties between hosts claiming one address)."""
        index = self._index
        if index is None or self.driver is None:
            return
        new: set[str] = set()
        for schema, rows in batch.nodes:
            kind = next((lb for lb in _INDEXED_LABELS if lb in schema.labels), None)
            if kind is None:
                continue
            if kind == "Domain":
                self._index = None
                return
            for row in rows:
                key = row["key"]
                if key in index.hosts or key in index.users:
                    if row.get("props") or (kind == "Computer") != (key in index.hosts):
                        self._index = None
                        return
                    if kind == "Computer":
                        last = int(row.get("lastseen") or 0)
                        index.host_lastseen[key] = max(index.host_lastseen.get(key, 0), last)
                else:
                    new.add(key)
        if any(schema.type == "HasIP" for schema, _ in batch.rels):
            self._index = None
            return
        if new:
            index.refresh(self.driver, self.database, keys=sorted(new))


@dataclass(frozen=True)
class Connector:
    """A source format. `sniff(name, head)` says whether a file looks like it (head is
    the first 64 KiB decoded leniently, its `.json` the top-level JSON structure: see
    graph.ingest._jsonhead); `transform(source, ctx)` returns a Batch or
    raises BadFile; `post_load(writer, ctx)` derives edges once the rows are in
    (e.g. DCSync from GetChanges + GetChangesAll)."""

    name: str
    sniff: Callable[[str, str], bool]
    transform: Callable[[Source, IngestContext], Batch]
    post_load: Callable[[TwinWriter, IngestContext], None] | None = None
    # Lower loads first when several formats arrive in one run (AD before events).
    order: int = 50
    # Derivations that depend on data from other sources (hosts in zones, DCSync)
    # run after every ingest, whichever formats it carried; they must be idempotent.
    always_post_load: bool = False
    # Order of this format's files within a run, lower first (Zeek: DNS logs, whose
    # answers name hosts, before the logs that only know addresses); file order otherwise.
    rank: Callable[[Source], int] | None = None


def load_batch(writer: TwinWriter, batch: Batch) -> None:
    for schema, rows in batch.nodes:
        writer.nodes(schema, rows)
    for schema, rows in batch.rels:
        writer.rels(schema, rows)


def cleanup_batch(writer: TwinWriter, batch: Batch) -> None:
    for schema, _ in batch.rels:
        writer.cleanup_rels(schema, None)
    for schema, _ in batch.nodes:
        writer.cleanup_nodes(schema, batch.scope)
