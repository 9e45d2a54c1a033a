"""What every connector is made of, and the rules they all keep.

get       read the file (or a member of a zip) as its own tool wrote it, lazily and
          within the caps of IngestLimits (size, compression ratio; per JSON line:
          length and nesting), a record over a cap rejected by name;
transform turn it into rows of declared node and relationship kinds (graph.model),
          rejecting bad records one by one (file + record + reason) and the whole
          file when it cannot be parsed at all;
load      write the rows through the shared TwinWriter, nodes before edges;
cleanup   optionally drop what a snapshot source no longer reports.

A file is transformed completely before anything of it is written, so a file that
cannot be parsed leaves nothing of itself in the twin.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import InitVar, dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import neo4j

from graph.loader import TwinWriter
from graph.model import NodeSchema, RelSchema
from graph.reader import TwinReader
from graph.resolve import TwinIndex
from graph.settings import IngestLimits

# What a TwinIndex holds: nodes with these labels, and HasIP leases.
_INDEXED_LABELS = ("Computer", "User", "Group", "Domain")
# The properties graph.resolve.TwinIndex.refresh reads of a node of each kind (besides its
# key and lastseen): a row writing only others (a display name, a flag) leaves the index right.
_INDEX_READS = {
    "Computer": frozenset({"shortname", "objectid", "ip", "ips", "domain"}),
    "User": frozenset({"samaccountname", "objectid", "domain", "aliases", "upn", "userprincipalname", "email"}),
    "Group": frozenset({"samaccountname", "objectid", "domain"}),
}


def _moves_index(kind: str, key: str, props: dict | None) -> bool:
    """Does a row on a node the index knows change what the index holds? A host keyed by
    its address, written again with that address as its `ip` (every Zeek log re-sends the
    hosts only Zeek knows), does not: the index has the address from the key."""
    read = set(props or ()) & _INDEX_READS.get(kind, frozenset())
    if kind == "Computer" and read == {"ip"} and props["ip"] == key:
        return False
    return bool(read)
SNIFF_BYTES = 65536
# Below this many decompressed bytes no compression ratio is suspicious (a small JSON
# file of repeated keys compresses a hundredfold and costs nothing).
RATIO_FLOOR = 1 << 20
_READ_CHUNK = 1 << 20
S = TypeVar("S")


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


def size_text(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class Source:
    """One input: a file on disk or a member of a zip (name + bytes).

    Nothing is read until a connector asks (`data`, `text()`); sniffing reads only the
    head (`peek()`), and a source is released after its load, so a run holds one input
    at a time. What declares too much (a file's size, a zip member's header) is refused
    unread (`error`); reading stops at the first chunk over the file cap or the
    compression-ratio cap: BadFile says which."""

    def __init__(self, name: str, data: bytes | None = None, error: str | None = None, *,
                 opener: Callable[[], AbstractContextManager[BinaryIO]] | None = None,
                 packed: int | None = None, limits: IngestLimits | None = None) -> None:
        self.name = name  # what error messages call it: path, or "archive.zip:member.json"
        self.error = error  # set when the input was refused before reading (a cap, a bad zip)
        self.limits = limits or IngestLimits()
        self.rejected: list[Rejected] = []  # records refused while reading (caps per line)
        self._data = data
        self._opener = opener
        self._packed = packed  # compressed size of an archive member: the ratio cap's base
        self._screened = False

    def __repr__(self) -> str:
        return f"Source({self.name!r})"

    @classmethod
    def from_path(cls, path: Path, limits: IngestLimits | None = None) -> Source:
        limits = limits or IngestLimits()
        try:
            size = path.stat().st_size
        except OSError as exc:
            return cls(str(path), b"", error=f"cannot read: {exc.strerror}", limits=limits)
        if size > limits.file_bytes:
            return cls(str(path), b"", error=_over_file_cap(size, limits), limits=limits)
        return cls(str(path), opener=lambda: open(path, "rb"), limits=limits)

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self._read(None)
        return self._data

    def head(self, n: int = SNIFF_BYTES) -> bytes:
        return self._data[:n] if self._data is not None else self._read(n)

    def peek(self) -> Source:
        """The head alone, as a Source: what format sniffing looks at."""
        return Source(self.name, self.head(), limits=self.limits)

    def release(self) -> None:
        """Forget the bytes (they can be read again): the run moves to the next input."""
        if self._opener is not None:
            self._data = None

    def _read(self, n: int | None) -> bytes:
        if self._opener is None:
            return b""
        cap, chunks, total = self.limits.file_bytes, [], 0
        try:
            with self._opener() as fh:
                while n is None or total < n:
                    chunk = fh.read(_READ_CHUNK if n is None else min(_READ_CHUNK, n - total))
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > cap:
                        raise BadFile(_over_file_cap(total, self.limits, "more than "))
                    if self._packed is not None and total > RATIO_FLOOR \
                            and total > self.limits.ratio * max(self._packed, 1):
                        raise BadFile(_over_ratio(total, self._packed, self.limits))
                    chunks.append(chunk)
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
            # BadZipFile: a bad CRC or header; RuntimeError: an encrypted member;
            # NotImplementedError: a compression method zipfile lacks.
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
            raise BadFile(f"cannot read: {reason}") from None
        return b"".join(chunks)

    def text(self) -> str:
        try:
            text = self.data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadFile(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        text, refused = screen_json_lines(text, self.limits)
        if not self._screened:  # a connector may ask twice: reject each line once
            self._screened = True
            self.rejected += [Rejected(self.name, f"line {n}", why) for n, why in refused]
        return text


def _over_file_cap(size: int, limits: IngestLimits, more: str = "") -> str:
    return (f"{more}{size_text(size)}, over the {size_text(limits.file_bytes)} file cap "
            "(TWINSIGHT_INGEST_MAX_FILE_MB)")


def _over_ratio(size: int, packed: int, limits: IngestLimits) -> str:
    return (f"expands from {size_text(packed)} to more than {size_text(size)}, over "
            f"{limits.ratio}x (TWINSIGHT_INGEST_MAX_RATIO): refused as a zip bomb")


def member_problem(info: zipfile.ZipInfo, limits: IngestLimits) -> str | None:
    """What the archive's own header says is too much, before a byte is inflated (the
    header cannot understate it: zipfile stops at the declared size and checks the CRC)."""
    if info.file_size > limits.file_bytes:
        return _over_file_cap(info.file_size, limits)
    if info.file_size > RATIO_FLOOR and info.file_size > limits.ratio * max(info.compress_size, 1):
        return _over_ratio(info.file_size, info.compress_size, limits)
    return None


# A JSON string (escapes included) or one bracket: enough to follow the nesting.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_NON_SPACE = re.compile(r"\S")


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether JSON text nests deeper than `limit` (brackets inside strings do not count);
    it stops at the first level too deep, so 100,000 opening brackets cost ~65 steps."""
    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        t = m.group()
        if t == "{" or t == "[":
            depth += 1
            if depth > limit:
                return True
        elif t == "}" or t == "]":
            depth -= 1
    return False


def screen_json_lines(text: str, limits: IngestLimits) -> tuple[str, list[tuple[int, str]]]:
    """In JSON lines (a first line that is a whole object, and more lines after it) every
    line is a record: a line over the length cap or nested deeper than the depth cap is
    refused by its number and blanked (connectors skip blank lines, numbering is kept),
    before a parser meets it. Any other text comes back as it was."""
    start = _NON_SPACE.search(text)
    if start is None or text[start.start()] != "{":
        return text, []
    end = text.find("\n", start.start())
    if end < 0 or not text[start.start():end].rstrip().endswith("}") or _NON_SPACE.search(text, end) is None:
        return text, []
    lines = text.split("\n")
    cap, depth = limits.line_bytes, limits.depth
    long_ = max(map(len, lines)) > cap // 4  # a character is at most 4 bytes of UTF-8
    deep = max(map(str.count, lines, repeat("{"))) + max(map(str.count, lines, repeat("["))) > depth
    if not (long_ or deep):
        return text, []
    refused: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        why = None
        if long_ and len(line) > cap // 4 and (size := len(line.encode("utf-8", "surrogatepass"))) > cap:
            why = f"line of {size_text(size)}, over the {size_text(cap)} line cap (TWINSIGHT_INGEST_MAX_LINE_KB)"
        elif deep and line.count("{") + line.count("[") > depth and nesting_exceeds(line, depth):
            why = f"JSON nested deeper than {depth} levels (TWINSIGHT_INGEST_MAX_DEPTH)"
        if why:
            refused.append((i + 1, why))
            lines[i] = ""
    return ("\n".join(lines), refused) if refused else (text, [])


@dataclass
class Batch:
    """What a transform produces: rows by kind, in load order, plus its rejects.

    `events` are rows for the event store only (graph.events.store.event_row's shape): a
    day of events is a million rows read by filter, and one Neo4j node each held ingest
    to a few thousand a second. The graph takes what the events taught it (the other
    kinds: hosts, leases, LoggedOn, ...)."""

    nodes: list[tuple[NodeSchema, list[dict]]] = field(default_factory=list)
    rels: list[tuple[RelSchema, list[dict]]] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
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

    def add_events(self, rows: list[dict]) -> None:
        self.events.extend(rows)

    def kinds(self) -> set[str]:
        """The node labels and relationship types the graph load may write (a node
        kind's links included): what the derivations after the run ask about."""
        out = {schema.label for schema, _ in self.nodes}
        out |= {link.type for schema, _ in self.nodes for link in schema.links}
        return out | {schema.type for schema, _ in self.rels}

    def reject(self, file: str, record: object, error: str, reason: str | None = None) -> None:
        self.rejected.append(Rejected(file, str(record), error, reason or ""))


@dataclass
class IngestContext:
    """What one `ingest` run gives its transforms: the twin to read (a TwinReader, never a
    driver: a transform cannot write), the run's clock and tag, and the run state a
    connector keeps between its files and its post_load (`run_state`)."""

    driver: InitVar[neo4j.Driver | None]
    database: InitVar[str | None]
    now: int
    # Marks the run's provenance (`source#tag`): post-load steps that touch existing nodes
    # keep to the tag's own.
    tag: str | None = None
    reader: TwinReader = field(init=False)
    # What the event post-load step could not tie (events without host / source host).
    unresolved: dict | None = field(default=None, init=False)
    # The run's rows in the event store (graph.events.EventRun): the relink patches them.
    events: Any = field(default=None, init=False)
    # Kinds the run's files (and a stopped run before it) wrote, for the derivations after
    # the run (graph/derive/base.py); None: unknown, so every derivation runs.
    pending_derive: set[str] | None = field(default_factory=set, init=False)
    _states: dict[type, object] = field(default_factory=dict, init=False, repr=False)
    _index: TwinIndex | None = field(default=None, init=False, repr=False)

    def __post_init__(self, driver: neo4j.Driver | None, database: str | None) -> None:
        self.reader = TwinReader(driver, database)

    def run_state(self, kind: type[S]) -> S:
        """This run's one instance of a connector's state class, made on first use: files
        of one collection arrive one by one and their post_load finishes what they began."""
        state = self._states.get(kind)
        if state is None:
            state = self._states[kind] = kind()
        return state  # type: ignore[return-value]

    def take_state(self, kind: type[S]) -> S | None:
        """The run's state of that class, if any file made one; the run keeps none after."""
        return self._states.pop(kind, None)  # type: ignore[return-value]

    def twin_index(self) -> TwinIndex:
        """The twin's hosts, leases and accounts for resolving one file: read once per
        run (24 hourly Zeek logs would otherwise read 140k nodes 24 times), kept true to
        the twin by `loaded`, and handed out as a copy so one file's learning stays its own."""
        if self._index is None:
            self._index = TwinIndex.read(self.reader)
        return self._index.copy()

    def loaded(self, batch: Batch) -> None:
        """Bring the run's index up to date with a batch just written. New hosts and
        accounts are read back from the twin and added, a known host's leases (`HasIP`)
        merged as the edges hold them; a row that changes what else the index holds (new
        properties on a known node, a domain) drops the index, to be read whole again when
        next needed. Rows that only move a known host's lastseen keep it (that time only
        breaks ties between hosts claiming one address). A lease dropped the index before:
        every Windows event file has some, and the next file read the whole twin again."""
        index = self._index
        if index is None or not self.reader:
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
                    if _moves_index(kind, key, row.get("props")) or (kind == "Computer") != (key in index.hosts):
                        self._index = None
                        return
                    if kind == "Computer":
                        last = int(row.get("lastseen") or 0)
                        index.host_lastseen[key] = max(index.host_lastseen.get(key, 0), last)
                else:
                    new.add(key)
        if new:
            index.refresh(self.reader, keys=sorted(new))  # their leases come with them
        for schema, rows in batch.rels:  # leases of known hosts, as the edges now hold them
            if schema.type != "HasIP":
                continue
            for row in rows:
                host, address = row["src"], row["dst"]
                if host in new or host not in index.hosts or not address.startswith("IP:"):
                    continue
                first = int(row.get("firstseen") or row.get("lastseen") or self.now)
                index.merge_lease(address[3:], host, first, int(row.get("lastseen") or first))


@dataclass(frozen=True)
class Connector:
    """A source format. `sniff(name, head)` says whether a file looks like it (head is
    the first 64 KiB decoded leniently, its `.json` the top-level JSON structure: see
    graph.ingest._jsonhead); `transform(source, ctx)` returns a Batch or
    raises BadFile; `post_load(writer, ctx)` finishes the run's loads once the rows are in
    (SharpHound's deferred edges, Trivy's pruned scopes). Edges derived from the whole
    twin (DCSync, CanExploit) are not a connector's: graph/derive runs them."""

    name: str
    sniff: Callable[[str, str], bool]
    transform: Callable[[Source, IngestContext], Batch]
    post_load: Callable[[TwinWriter, IngestContext], None] | None = None
    # Lower loads first when several formats arrive in one run (AD before events).
    order: int = 50
    # A post-load step that depends on data from other sources (hosts in zones, events
    # tied to hosts) runs after every ingest, whichever formats it carried; it must be
    # idempotent.
    always_post_load: bool = False
    # Order of this format's files within a run, lower first (Zeek: DNS logs, whose
    # answers name hosts, before the logs that only know addresses); file order otherwise.
    rank: Callable[[Source], int] | None = None
    # The kinds `post_load` may write or delete (the derivations after the run skip when
    # none of their inputs moved: graph/derive/base.py). A step that declares them notes in
    # its writer's `stats.per_kind` each kind it wrote or deleted, including through its own
    # queries. None: not declared, so a run whose post-load step ran derives everything (as
    # does a step that notes a kind it did not declare).
    post_load_kinds: tuple[str, ...] | None = None


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
