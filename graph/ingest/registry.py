"""Finding the connectors, sniffing formats, and running an ingest end to end.

Connectors are discovered: every module in this package that defines `CONNECTOR`.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

import neo4j

import graph.ingest as package
from graph.derive import DERIVATIONS, reach
from graph.derive.base import clear_pending, mark_pending, pending
from graph.events import EventStore, batch_event_rows, open_store
from graph.ingest._jsonhead import Head
from graph.ingest.base import (
    BadFile,
    Batch,
    Connector,
    IngestContext,
    Rejected,
    Source,
    cleanup_batch,
    load_batch,
    member_problem,
)
from graph.loader import TwinWriter, WriteStats, transient, withdraw_source
from graph.settings import IngestLimits

REJECTED_LIST_CAP = 1000  # items of `rejected` in `ingest --json`; all are counted by reason
_SKIP_SUFFIXES = {".md", ".txt", ".yaml.example", ".gz", ".pyc"}
_SKIP_NAMES = {"generation.json", "scenario.yaml", "model.json"}  # describe a folder; not inputs


def connectors() -> dict[str, Connector]:
    found: dict[str, Connector] = {}
    for mod in pkgutil.iter_modules(package.__path__):
        if mod.name in {"base", "registry"} or mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{mod.name}")
        conn = getattr(module, "CONNECTOR", None)
        if isinstance(conn, Connector):
            found[conn.name] = conn
    return found


class UsageError(ValueError):
    """Bad input to the command itself (unknown format, missing path): exit code 2."""


# The twin gone or unusable for now (past the writer's retries: graph.loader.transient);
# other Neo4j errors are faults of a query, not of the run, and keep their own message.


class IngestInterrupted(RuntimeError):
    """The twin stopped answering in the middle of a run (Neo4j killed, connection lost
    past the retries). Every committed batch is whole and a rerun of the same ingest
    completes it (MERGE, order-independent provenance); `report` is what got in."""

    def __init__(self, where: str, cause: BaseException, report: IngestReport) -> None:
        first = (str(cause).strip() or type(cause).__name__).splitlines()[0]
        super().__init__(f"ingest stopped while loading {where}: {first}")
        self.report = report


def iter_sources(paths: list[Path], limits: IngestLimits | None = None) -> Iterator[Source]:
    """Files, folders (recursively, sorted) and zips (their members) as Sources, unread:
    each is read when its connector asks, within `limits`."""
    limits = limits or IngestLimits()
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if f.name.startswith(".") or f.suffix in _SKIP_SUFFIXES or f.name in _SKIP_NAMES:
                continue
            if f.suffix.lower() == ".zip":
                yield from _zip_members(f, limits)
            else:
                yield Source.from_path(f, limits)


def _zip_members(path: Path, limits: IngestLimits) -> Iterator[Source]:
    """Members as lazy Sources: each is inflated only when loaded, chunk by chunk, and
    refused from its header alone when it declares more than the caps allow."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = sorted(zf.infolist(), key=lambda i: i.filename)
        packed = path.stat().st_size
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        yield Source(name=str(path), data=b"", error=f"not a readable zip: {exc}")
        return
    if sum(i.compress_size for i in infos) > packed:
        # Members whose compressed data overlap (one deflate stream named a thousand
        # times) are how a 10 MB zip becomes terabytes: no honest archive does it.
        yield Source(name=str(path), data=b"", error="members overlap one another: refused as a zip bomb")
        return
    for info in infos:
        if info.is_dir() or info.filename.split("/")[-1].startswith("."):
            continue
        name = f"{path}:{info.filename}"
        problem = member_problem(info, limits)
        if problem:
            yield Source(name, b"", error=problem, limits=limits)
            continue
        yield Source(name, opener=partial(_open_member, path, info.filename),
                     packed=info.compress_size, limits=limits)


@contextmanager
def _open_member(path: Path, member: str) -> Iterator[BinaryIO]:
    with zipfile.ZipFile(path) as zf, zf.open(member) as fh:
        yield fh


def sniff(source: Source, forced: str | None, table: dict[str, Connector]) -> Connector | None:
    if forced:
        if forced not in table:
            raise UsageError(f"--format {forced}: unknown format (known: {', '.join(sorted(table))})")
        return table[forced]
    # The text head for line formats; its JSON structure (graph.ingest._jsonhead) is read
    # from the whole data, once, when a JSON sniffer first asks for it.
    head = Head(source.head().decode("utf-8", errors="replace"), lambda: source.data)
    for conn in sorted(table.values(), key=lambda c: c.order):
        try:
            if conn.sniff(source.name, head):
                return conn
        except Exception:  # a sniffer must never sink the run
            continue
    return None


@dataclass
class IngestReport:
    files: int = 0
    records: int = 0
    stats: WriteStats = field(default_factory=WriteStats)
    rejected: list[Rejected] = field(default_factory=list)
    seconds: float = 0.0
    formats: dict[str, int] = field(default_factory=dict)
    # files that gave the twin at least one row: 0 with rejects means the run loaded nothing
    loaded_files: int = 0
    # What the derivations could not tie (events without host / source host), if any ran.
    unresolved: dict | None = None
    # rows this run wrote to the event store (graph/events): events are not graph nodes
    events_stored: int = 0
    # seconds per phase (files, each post-load step, each derivation, the summaries'
    # refresh): on a large twin the steps after the files can outweigh the files
    timings: dict[str, float] = field(default_factory=dict)
    # derivations left out: nothing this run wrote is among their inputs (graph/derive/base.py)
    skipped_derivations: list[str] = field(default_factory=list)

    def rejected_by_reason(self) -> list[dict]:
        """One entry per kind of reject, most frequent first: a file of 16,843 records
        without a record number is one line, not 16,843."""
        groups: dict[str, list] = {}
        for r in self.rejected:
            g = groups.setdefault(r.reason, [0, set(), r])
            g[0] += 1
            g[1].add(r.file)
        return [{"reason": reason, "count": n, "files": len(files), "example": first.as_dict()}
                for reason, (n, files, first) in sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0]))]

    def as_contract(self, max_rejected: int = REJECTED_LIST_CAP) -> dict:
        """The `ingest --json` document of contract section 1, plus `rejected_by_reason`,
        `rejected_count` (the `rejected` list stops at `max_rejected` items) and
        `unresolved` (graph/ingest/_winlink.py)."""
        doc = {
            "files": self.files,
            "records": self.records,
            "nodes_created": self.stats.nodes_created,
            "nodes_updated": self.stats.nodes_updated,
            "relationships_created": self.stats.relationships_created,
            "events_stored": self.events_stored,
            "rejected": [r.as_dict() for r in self.rejected[:max_rejected]],
            "rejected_count": len(self.rejected),
            "rejected_by_reason": self.rejected_by_reason(),
            "seconds": round(self.seconds, 3),
            "formats": self.formats,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "derivations_skipped": self.skipped_derivations,
        }
        if self.unresolved is not None:
            doc["unresolved"] = self.unresolved
        return doc


def ingest(
    driver: neo4j.Driver,
    paths: list[Path],
    *,
    database: str | None = None,
    forced_format: str | None = None,
    cleanup: bool = False,
    now: int | None = None,
    progress: Callable[[str], None] | None = None,
    tag: str | None = None,
    events: EventStore | None = None,
) -> IngestReport:
    """Sniff every file first (rejecting the unrecognised), then transform and load them
    in connector order, so that identities exist before the events and alerts that name
    them (later connectors resolve against what earlier ones loaded).

    `tag` marks this run's provenance (`source` becomes `name#tag`) so that `forget(tag)`
    can take exactly its data out again: the evaluator layers each scenario's events on
    a shared base twin that way.

    Every event also goes to the event store (graph/events; `events`, else the twin's
    own), as one run made visible only once the whole ingest is done: a run that stops
    midway leaves the graph's committed batches (which the rerun completes) and no rows
    in the store (which the rerun writes whole)."""
    t0 = time.perf_counter()
    table = connectors()
    try:
        limits = IngestLimits.from_env()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    report = IngestReport()
    ctx = IngestContext(driver=driver, database=database, now=int(now or time.time()), tag=tag)
    ctx.events = (events or open_store(database)).begin()
    ctx.pending_derive = pending(driver, database)
    try:
        _ingest(driver, paths, database, forced_format, cleanup, progress, table, limits, report, ctx)
        ctx.events.commit()
    finally:
        ctx.events.abort()  # nothing once committed; an interrupted run's rows go
    report.seconds = time.perf_counter() - t0
    return report


def _ingest(driver, paths, database, forced_format, cleanup, progress, table, limits,
            report: IngestReport, ctx: IngestContext) -> None:
    planned: list[tuple[Connector, Source]] = []
    for source in iter_sources(paths, limits):
        try:
            if source.error:
                raise BadFile(source.error)
            conn = sniff(source, forced_format, table)
        except BadFile as exc:
            report.rejected.append(Rejected(source.name, "-", str(exc)))
            continue
        if conn is None:
            report.rejected.append(Rejected(source.name, "-", "unrecognised format (use --format)"))
            continue
        planned.append((conn, source))
    # stable: file order kept within a format and rank
    planned.sort(key=lambda cs: (cs[0].order, cs[0].rank(cs[1]) if cs[0].rank else 0))
    used: dict[str, Connector] = {}
    to_clean: dict[str, list] = {}
    for conn, source in planned:
        if progress:
            progress(f"{conn.name}: {source.name}")
        t_file = time.perf_counter()
        try:
            loaded = _load_one(conn, source, ctx, driver, database, report, limits)
        except Exception as exc:
            if not transient(exc):
                raise
            raise IngestInterrupted(source.name, exc, report) from exc
        finally:
            source.release()
            _timed(report, "files", t_file)
        if loaded is None:
            continue
        if cleanup:
            to_clean.setdefault(conn.name, []).append(loaded)
        used[conn.name] = conn
    always = {n: c for n, c in table.items() if c.always_post_load and c.post_load}
    try:
        # Marked before they write: a run that stops from here on leaves "unknown" for the
        # next run's derivations (its files' kinds were marked as each file loaded).
        mark_pending(driver, database, None)
        # Kinds this run wrote or deleted, for the derivations below; None: unknown.
        changed: set[str] | None = ctx.pending_derive
        for conn in sorted({**used, **always}.values(), key=lambda c: c.order):
            if conn.post_load:
                t = time.perf_counter()
                writer = TwinWriter(driver, source=conn.name, database=database, now=ctx.now)
                conn.post_load(writer, ctx)
                _written(report, writer, f"({conn.name} post-load)")
                _timed(report, f"post_load:{conn.name}", t)
                # what it wrote reaches `changed` with the report's per_kind below; a step that
                # declares nothing, or writes beyond what it declares, makes it unknown
                if conn.post_load_kinds is None or not set(writer.stats.per_kind) <= set(conn.post_load_kinds):
                    changed = None
        # Cleanup once per connector, after the whole run (files of one collection arrive
        # one by one: cleaning after the first would drop what a later file re-adds), and
        # before the derivations and summaries, which must not keep what it removed.
        t = time.perf_counter()
        for items in to_clean.values():
            for writer, batch in items:
                cleanup_batch(writer, batch)
                report.stats.deleted += writer.stats.deleted
                if writer.stats.deleted:
                    changed = None  # nodes go with whatever edges they had
        _timed(report, "cleanup", t)
        if changed is not None:
            changed |= set(report.stats.per_kind)
        # Derived edges depend on the whole twin, not on this run's files: after every
        # ingest, once every load, post-load step and cleanup above is done.
        derive(driver, database, ctx.now, changed, report)
        report.unresolved = ctx.unresolved
    except Exception as exc:
        if not transient(exc):
            raise
        raise IngestInterrupted("the derivations after the files", exc, report) from exc


def derive(driver: neo4j.Driver, database: str | None, now: int, changed: set[str] | None,
           report: IngestReport | None = None) -> None:
    """Run the derivations (graph/derive) whose inputs are among the `changed` kinds (None:
    unknown, so all of them), then refresh the reachability summaries, which read the
    static attack edges the loads and the derivations wrote (graph/derive/reach.py)."""
    report = report if report is not None else IngestReport()
    derived_moved = False
    for derivation in DERIVATIONS:
        if not derivation.needed(changed):
            report.skipped_derivations.append(derivation.name)
            continue
        t = time.perf_counter()
        writer = TwinWriter(driver, source=derivation.source, database=database, now=now)
        result = derivation.run(writer)
        moved = bool(writer.stats.relationships_created or writer.stats.deleted) or (
            isinstance(result, dict) and bool(result.get("created") or result.get("removed")))
        derived_moved |= moved
        if moved and changed is not None:
            changed |= set(derivation.writes)
        _written(report, writer, f"({derivation.name} derivation)")
        _timed(report, f"derivation:{derivation.name}", t)
    clear_pending(driver, database)
    t = time.perf_counter()
    reach.refresh(driver, database, force=derived_moved or changed is None or reach.changed_kinds_need_refresh(changed))
    _timed(report, "reach_refresh", t)


def _timed(report: IngestReport, phase: str, since: float) -> None:
    report.timings[phase] = report.timings.get(phase, 0.0) + time.perf_counter() - since


def _written(report: IngestReport, writer: TwinWriter, where: str) -> None:
    """A post-load step's or a derivation's counts, and any row its writer refused."""
    report.stats.add(writer.stats)
    report.rejected.extend(Rejected(where, record, why) for record, why in writer.rejected)


def _load_one(conn: Connector, source: Source, ctx: IngestContext, driver: neo4j.Driver,
              database: str | None, report: IngestReport,
              limits: IngestLimits) -> tuple[TwinWriter, Batch] | None:
    """Transform one input whole, then write it; a file refused whole leaves nothing."""
    try:
        batch: Batch = conn.transform(source, ctx)
    except BadFile as exc:
        report.rejected.append(Rejected(source.name, "-", str(exc)))
        return None
    except RecursionError:  # a JSON document (not lines) nested past the parser's reach
        report.rejected.append(Rejected(source.name, "-", "JSON nested too deeply to read"))
        return None
    report.files += 1
    report.records += batch.records + len(source.rejected)
    report.rejected.extend(source.rejected)
    report.rejected.extend(batch.rejected)
    report.formats[conn.name] = report.formats.get(conn.name, 0) + 1
    if batch.nodes or batch.rels or batch.events:
        report.loaded_files += 1
    writer = TwinWriter(driver, source=f"{conn.name}#{ctx.tag}" if ctx.tag else conn.name, database=database,
                        now=ctx.now, max_property_bytes=limits.property_bytes)
    if batch.nodes or batch.rels:
        # noted before the first write: if the run stops, the next one derives from them
        kinds = batch.kinds()
        mark_pending(driver, database, kinds)
        if ctx.pending_derive is not None:
            ctx.pending_derive |= kinds
    # The event rows go to the store while the graph takes the rest: DuckDB and the
    # server work at once (each waits outside the interpreter most of the time).
    with ThreadPoolExecutor(1, thread_name_prefix="event-store") as beside:
        stored = beside.submit(ctx.events.append, batch_event_rows(batch, writer.source)) if batch.events else None
        try:
            load_batch(writer, batch)
        finally:
            report.stats.add(writer.stats)
        if stored is not None:
            report.events_stored += stored.result()
    report.rejected.extend(Rejected(source.name, record, why) for record, why in writer.rejected)
    ctx.loaded(batch)
    return writer, batch


def forget(driver: neo4j.Driver, tag: str, database: str | None = None,
           events: EventStore | None = None) -> dict[str, int]:
    """Undo a tagged ingest: what only it wrote goes; shared nodes and edges lose its tag;
    the event store drops the tagged run's rows (first: a crash between the two leaves
    the graph's copy, which a second forget removes)."""
    (events or open_store(database)).forget(tag)
    # What it takes out moves derived edges: derived again below (noted first, so that a
    # forget that stops midway leaves the next ingest to do it: graph/derive/base.py).
    inherited = pending(driver, database)
    mark_pending(driver, database, None)
    keep = "NOT s ENDS WITH $sfx"
    rels = driver.execute_query(
        "MATCH ()-[r]->() WHERE any(s IN r.sources WHERE s ENDS WITH $sfx) WITH r AS x"
        + withdraw_source("x", "DELETE x", keep) + " RETURN sum(gone) AS c",
        sfx=f"#{tag}", database_=database).records[0]["c"]
    nodes = driver.execute_query(
        "MATCH (n:Twin) WHERE any(s IN n.sources WHERE s ENDS WITH $sfx) WITH n AS x"
        + withdraw_source("x", "DETACH DELETE x", keep) + " RETURN sum(gone) AS c",
        sfx=f"#{tag}", database_=database).records[0]["c"]
    derive(driver, database, int(time.time()), None if rels or nodes else inherited)
    return {"nodes_deleted": nodes or 0, "relationships_deleted": rels or 0}
