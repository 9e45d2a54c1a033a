"""The event store in DuckDB over day-partitioned Parquet files (graph/events/__init__.py).

Layout under the store's folder (`TWINSIGHT_HOME/events/<database>/`):

    day=2026-12-07/<seq>-<n>.parquet        committed rows, one file per loaded input and day
    _pending/<seq>-<pid>/day=.../<seq>-<n>.parquet   a run still writing (invisible)
    _pending/<seq>-<pid>/COMMIT             the run finished: its files are being moved in

A file is written under `.tmp` and renamed when complete, so no reader ever sees half a
file. A run's files are moved into the day folders only when the ingest finished (the
COMMIT marker first, so a crash while moving is rolled forward, never half-visible); a run
whose process died without its marker is removed by the next run or reset. `seq` (the
run's start, in nanoseconds) orders runs: the same event ingested twice is one row, the
latest run's. Patches and forgets rewrite a file whole under a temporary name.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

try:  # orjson ships with the LangGraph stack (graph/ingest/_live.py)
    import orjson
except ImportError:  # pragma: no cover
    orjson = None

from graph import faults
from graph.events.store import (
    HOST_UNRESOLVED,
    IP_UNRESOLVED,
    EventFilter,
    EventRead,
    EventRun,
    EventStore,
    Shape,
    StoreTimeout,
)

COLUMNS = (("key", "VARCHAR"), ("ts", "BIGINT"), ("event_id", "BIGINT"), ("channel", "VARCHAR"),
           ("kind", "VARCHAR"), ("host", "VARCHAR"), ("from_host", "VARCHAR"), ("by_keys", "VARCHAR[]"),
           ("target_keys", "VARCHAR[]"), ("ip", "VARCHAR"), ("dst_ip", "VARCHAR"), ("source", "VARCHAR"),
           ("props", "VARCHAR"), ("raw", "VARCHAR"), ("seq", "BIGINT"),
           ("marks", "VARCHAR[]"), ("in_session", "VARCHAR"), ("parent", "VARCHAR"), ("from_ip", "VARCHAR"))
_NAMES = [c for c, _ in COLUMNS]
# Every column, typed and empty: a union by name with it gives files written before a
# column existed that column as NULL instead of a binder error.
# The events a process descends from (`parent`, up to LINEAGE_HOPS, `depth` 0 being the
# event itself) and the logon sessions any of them ran in (`depth` NULL): one statement.
# The chains are walked over the columns a filter and a chain need (`ev`, without the
# JSON fields and raw lines, most of a row's bytes); only the rows found are read whole.
LINEAGE_HOPS = 12
_LINEAGE = """WITH RECURSIVE ev AS MATERIALIZED (SELECT {narrow} FROM {{source}} WHERE TRUE {latest}),
line AS (SELECT key, 0 AS depth, [key] AS seen FROM ev WHERE {where}
         UNION ALL
         SELECT p.key, l.depth + 1, list_append(l.seen, p.key) FROM line l JOIN ev c ON c.key = l.key
         JOIN ev p ON p.key = c.parent WHERE l.depth < {hops} AND NOT list_contains(l.seen, p.key)),
kin AS (SELECT key, min(depth) AS depth FROM line GROUP BY key),
want AS (SELECT key, depth FROM kin
         UNION ALL
         SELECT key, NULL FROM ev WHERE key IN (SELECT c.in_session FROM kin JOIN ev c ON c.key = kin.key)),
got AS (SELECT {names} FROM {{source}} WHERE key IN (SELECT key FROM want) {latest})
SELECT {got_names}, want.depth FROM want JOIN got ON got.key = want.key
ORDER BY depth NULLS LAST, key"""
_WIDE = ("props", "raw", "source", "channel")
_PROTOTYPE = f"SELECT {', '.join(f'CAST(NULL AS {t}) AS {n}' for n, t in COLUMNS)} WHERE FALSE"
_PENDING = "_pending"
_MARKER = "COMMIT"
_UNDATED = "day=undated"
_DAY = 86400
# Each key's latest version (a rerun or a relink writes an event again with a higher
# `seq`): every read that judges an event by its columns keeps only that row.
LATEST = "QUALIFY row_number() OVER (PARTITION BY key ORDER BY seq DESC) = 1"
# Columns a patch replaces, and the account lists it adds to (the relink only ever ties more).
_REPLACED = ("key", "host", "from_host")
_ADDED = ("by_keys", "target_keys")
_LISTS = (*_ADDED, "marks")
# A patch's `settled`: the marks it drops (the relink ties an event's accounts).
_SETTLED = "settled"
# A store whose files are at most this many bytes is read from one in-memory copy (see
# DuckEventStore._scan); larger ones are read from the files every time.
CACHE_BYTES = int(os.environ.get("TWINSIGHT_EVENTS_CACHE_MB", "16")) * 1024 * 1024
_CACHE = "_events_cache"
# Where the JSON lines a write passes through go: memory-backed when the machine has it
# (writing them to disk cost as much as the rest of the write), else beside the file.
_SCRATCH = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else None
# Rows per Parquet file of an append: bounds the scratch text (about 2.5 kB a Windows event).
FILE_ROWS = 100_000


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _day(ts: object) -> str:
    if not isinstance(ts, int):
        return _UNDATED
    return "day=" + datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _day_files(root: Path, since: int | None, until: int | None) -> list[Path]:
    """The Parquet files under `root`'s day folders, pruned to the days a window can touch."""
    out = []
    for day in sorted(root.glob("day=*")) if root.exists() else ():
        if day.name != _UNDATED and (since is not None or until is not None):
            start = int(datetime.strptime(day.name[4:], "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
            if (until is not None and start > until) or (since is not None and start + _DAY <= since):
                continue
        out.extend(sorted(day.glob("*.parquet")))
    return out


def _row(r: dict) -> dict:
    r["props"] = json.loads(r["props"]) if r["props"] else {}
    r["marks"] = r["marks"] or []
    return r


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Run(EventRun):
    def __init__(self, store: DuckEventStore) -> None:
        self.store = store
        self.seq = time.time_ns()
        self.dir = store.root / _PENDING / f"{self.seq}-{os.getpid()}"
        self.files = 0
        self.done = False

    def append(self, rows: list[dict]) -> int:
        if not rows:
            return 0
        by_day: dict[str, list[dict]] = {}
        for r in rows:
            by_day.setdefault(_day(r.get("ts")), []).append(r)
        for day, part in sorted(by_day.items()):
            for i in range(0, len(part), FILE_ROWS):
                self.files += 1
                target = self.dir / day / f"{self.seq}-{self.files}.parquet"
                self.store._write(target, part[i:i + FILE_ROWS], self.seq)
                faults.point("events-file")
        return len(rows)

    def pending(self) -> list[Path]:
        return sorted(self.dir.glob("day=*/*.parquet")) if self.dir.exists() else []

    def commit(self) -> None:
        if self.done:
            return
        self.done = True
        if self.dir.exists():
            (self.dir / _MARKER).touch()
            faults.point("events-commit")
            _roll_forward(self.store.root, self.dir)

    def abort(self) -> None:
        self.done = True
        shutil.rmtree(self.dir, ignore_errors=True)

    def patch(self, changes: dict[str, dict]) -> int:
        return self.store.patch(changes)

    def query(self, flt: EventFilter) -> list[dict]:
        return self.store._read_files(flt, self.store.files(flt.since, flt.until)
                                      + self.files_within(flt.since, flt.until))

    def existing(self, keys) -> set[str]:
        return self.store._existing(keys, self.store.files() + self.pending())

    def count_targets(self, event_id: int, pairs: list[tuple[str, str]]) -> dict:
        return self.store._count_targets(event_id, pairs, self.store.files() + self.pending())

    def files_within(self, since: int | None, until: int | None) -> list[Path]:
        return _day_files(self.dir, since, until) if self.dir.exists() and not self.done else []


def _roll_forward(root: Path, run_dir: Path) -> None:
    for f in sorted(run_dir.glob("day=*/*.parquet")):
        dest = root / f.parent.name / f.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, dest)
    shutil.rmtree(run_dir, ignore_errors=True)


class DuckEventStore(EventStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._con = duckdb.connect(":memory:")
        self._con.execute("SET enable_progress_bar = false")  # stderr is the CLI's, not DuckDB's
        self._lock = threading.Lock()
        self._runs: list[_Run] = []
        self._cached: tuple | None = None  # the files (path, inode, size, mtime) the copy holds
        self._cache_unique = False  # no key in the copy has two versions

    # ------------------------------------------------------------------ writing

    def begin(self) -> EventRun:
        self.recover()
        run = _Run(self)
        self._runs.append(run)
        return run

    def recover(self) -> int:
        """Finish runs that committed before a crash; remove those whose process died
        before it committed. Returns how many runs were removed."""
        for scratch in _SCRATCH.glob("*.parquet-*-*.jsonl") if _SCRATCH else ():  # a killed write's text
            pid = scratch.name.rsplit(".parquet-", 1)[1].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                scratch.unlink(missing_ok=True)
        pending = self.root / _PENDING
        removed = 0
        for run_dir in sorted(pending.iterdir()) if pending.exists() else ():
            if (run_dir / _MARKER).exists():
                _roll_forward(self.root, run_dir)
                continue
            pid = run_dir.name.rpartition("-")[2]
            if not pid.isdigit() or not _alive(int(pid)):
                shutil.rmtree(run_dir, ignore_errors=True)
                removed += 1
        return removed

    def _write(self, target: Path, rows: list[dict], seq: int) -> None:
        """`rows` as one Parquet file: through JSON lines DuckDB's own reader parses (a
        million rows: orjson writes them in about a second, and DuckDB reads and
        compresses them on every core), else column by column from Python (a value either
        refuses: a number past 64 bits, a lone surrogate)."""
        if orjson is not None:
            try:
                return self._write_json(target, rows, seq)
            except (orjson.JSONEncodeError, duckdb.Error):
                pass
        self._write_columns(target, rows, seq)

    def _write_json(self, target: Path, rows: list[dict], seq: int) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = (_SCRATCH / f"{target.name}-{os.getpid()}-{threading.get_ident()}.jsonl" if _SCRATCH
                 else target.with_name(target.name + ".jsonl"))
        # sorted keys: `props` reads back as the text json.dumps(sort_keys=True) wrote
        dumps, opt = orjson.dumps, orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
        try:
            with open(lines, "wb") as fh:
                for i in range(0, len(rows), 10_000):
                    fh.write(b"".join([dumps(r, option=opt) for r in rows[i:i + 10_000]]))
            columns = ", ".join(f"'{n}': '{'JSON' if n == 'props' else t}'" for n, t in COLUMNS if n != "seq")
            picks = ", ".join("coalesce(props::VARCHAR, '{}') AS props" if n == "props" else
                              "CAST($seq AS BIGINT) AS seq" if n == "seq" else n for n in _NAMES)
            self._copy(f"SELECT {picks} FROM read_json({_q(lines)}, format = 'newline_delimited', "
                       f"columns = {{{columns}}}, maximum_object_size = {1 << 30})", target, {"seq": seq})
        finally:
            lines.unlink(missing_ok=True)

    def _write_columns(self, target: Path, rows: list[dict], seq: int) -> None:
        dumps = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False).encode
        cols: dict[str, list] = {}
        for name in _NAMES:  # column by column: a million rows cost a comprehension each
            if name == "props":
                cols[name] = [dumps(r.get("props") or {}) for r in rows]
            elif name == "seq":
                cols[name] = [seq] * len(rows)
            elif name in _LISTS:
                cols[name] = [list(r.get(name) or ()) for r in rows]
            else:
                cols[name] = [r.get(name) for r in rows]
                if not all(v is None or type(v) in (int, str) for v in cols[name]):
                    cols[name] = [v if v is None or isinstance(v, (int, str)) else str(v) for v in cols[name]]
        select = ", ".join(f"CAST(unnest(${n}) AS {t}) AS {n}" for n, t in COLUMNS)
        self._copy(f"SELECT {select}", target, cols)

    def _copy(self, select: str, target: Path, params: dict | None = None) -> None:
        """`select` written to `target` whole or not at all (a temporary name, renamed)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        with self._lock:
            self._con.execute(f"COPY ({select}) TO {_q(tmp)} (FORMAT parquet, COMPRESSION zstd)",
                              params or {})
        os.replace(tmp, target)

    # ------------------------------------------------------------------ reading

    def files(self, since: int | None = None, until: int | None = None) -> list[Path]:
        """Committed files, pruned to the days a time window can touch."""
        return _day_files(self.root, since, until)

    def _read_files(self, flt: EventFilter, files: list[Path]) -> list[dict]:
        """`flt`'s events from exactly these files (a run's own beside the committed),
        judged on each event's latest version: an event a later run wrote again without
        its mark is not marked any more."""
        if not files:
            return []
        where, params = self._where(flt)
        names = ", ".join(_NAMES)
        limit = f"LIMIT {int(flt.limit)}" if flt.limit else ""
        source = self._source(files)
        sql = (f"SELECT {names} FROM (SELECT {names} FROM {source} WHERE key IN "
               f"(SELECT key FROM {source} WHERE {where}) "
               f"{LATEST}) "
               f"WHERE {where} ORDER BY {'ts DESC NULLS FIRST, key' if flt.newest else 'ts, key'} {limit}")
        with self._lock:
            values = self._con.execute(sql, params).fetchall()
        return [_row(dict(zip(_NAMES, v, strict=True))) for v in values]

    def _count_targets(self, event_id: int, pairs: list[tuple[str, str]], files: list[Path]) -> dict:
        if not pairs or not files:
            return {}
        sql = (f"WITH ev AS (SELECT key, ts, host, target_keys, marks FROM {self._source(files)} "
               f"WHERE event_id = $eid {LATEST}), "
               f"hit AS (SELECT key, ts, host, unnest(target_keys) AS u FROM ev "
               f"WHERE NOT list_contains(coalesce(marks, []), '{HOST_UNRESOLVED}')), "
               "want AS (SELECT unnest($users) AS u, unnest($hosts) AS h) "
               "SELECT hit.u, hit.host, count(DISTINCT hit.key), min(hit.ts), max(hit.ts) FROM hit "
               "JOIN want ON hit.u = want.u AND hit.host = want.h GROUP BY hit.u, hit.host")
        params = {"eid": event_id, "users": [u for u, _ in pairs], "hosts": [h for _, h in pairs]}
        with self._lock:
            return {(u, h): (n, first, last) for u, h, n, first, last in self._con.execute(sql, params).fetchall()}

    def _existing(self, keys, files: list[Path]) -> set[str]:
        wanted = sorted(set(keys))
        if not wanted or not files:
            return set()
        sql = f"SELECT DISTINCT key FROM {self._source(files)} WHERE key IN (SELECT unnest($keys))"
        with self._lock:
            return {k for (k,) in self._con.execute(sql, {"keys": wanted}).fetchall()}

    def _source(self, files: list[Path], filename: bool = False) -> str:
        scan = f"read_parquet([{', '.join(_q(f) for f in files)}], union_by_name = true{', filename = true' * filename})"
        return f"({_PROTOTYPE} UNION ALL BY NAME SELECT * FROM {scan})"

    def query(self, flt: EventFilter) -> list[dict]:
        return self.read(flt).rows

    def describe(self, flt: EventFilter, shape: Shape = "events") -> tuple[str, dict]:
        sql, params = self._select(flt, shape)
        return sql.replace("{source}", f"events({_q(self.root)})"), params

    def read(self, flt: EventFilter, *, row_cap: int | None = None, timeout_s: float | None = None,
             shape: Shape = "events") -> EventRead:
        late = StoreTimeout(f"the event store read ran longer than {timeout_s or 0:g}s and was stopped")
        with self._lock, self._deadline(timeout_s):
            started = time.monotonic()
            try:
                files, located = self._files_for(flt, shape)
                source, unique = self._scan(files)
                sql, params = self._select(flt, shape, unique=unique)
                shown = located + sql.replace("{source}", f"events({_q(self.root)}, {len(files)} files)")
                told = {**params, "lineage_s": flt.lineage_s} if located else params
                if not files:
                    return EventRead(rows=[], statement=shown, params=told)
                cur = self._con.execute(sql.replace("{source}", source), params)
                values = cur.fetchmany(row_cap + 1) if row_cap is not None else cur.fetchall()
            except duckdb.InterruptException:
                raise late from None
            # The interrupt may come too late to stop a read that ends first: past the
            # bound, the answer is refused all the same (as the guard's client deadline).
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                raise late
        truncated = row_cap is not None and len(values) > row_cap
        values = values[:row_cap] if truncated else values
        if shape in ("days", "counts"):
            names = ("day", "n", "first_sec", "last_sec", "example") if shape == "days" else ("event_id", "n")
            return EventRead(rows=[dict(zip(names, v, strict=True)) for v in values], truncated=truncated,
                             statement=shown, params=told)
        names = [*_NAMES, "depth"] if shape == "lineage" else _NAMES
        out = [_row(dict(zip(names, v, strict=True))) for v in values]
        return EventRead(rows=out, truncated=truncated, statement=shown, params=told)

    def _files_for(self, flt: EventFilter, shape: Shape) -> tuple[list[Path], str]:
        """The files a read needs, and the statement that found them (else ""). A bounded
        lineage first finds its events' times (their key and time columns only, every
        day), then reads the days from `lineage_s` before them to their own: its
        ancestors and sessions are not looked for in the months around them."""
        if shape != "lineage" or flt.lineage_s is None or not flt.keys:
            return self.files(flt.since, flt.until), ""
        every = self.files()
        locate = "SELECT min(ts), max(ts), count(*) FROM {source} WHERE list_contains($keys, key)"
        shown = locate.replace("{source}", f"events({_q(self.root)}, {len(every)} files)") + ";\n"
        if not every:
            return [], shown
        scan, _ = self._scan(every)
        lo, hi, n = self._con.execute(locate.replace("{source}", scan), {"keys": list(flt.keys)}).fetchone()
        if not n:
            return [], shown
        if hi is None:  # an undated event: its ancestors may be on any day
            return every, shown
        return self.files(lo - int(flt.lineage_s), hi), shown

    def _scan(self, files: list[Path]) -> tuple[str, bool]:
        """Where a read of `files` takes its rows from, and whether no key there has two
        versions (then the latest-version window is left out: the same rows without it).

        A small store (CACHE_BYTES) is read from one in-memory copy of all its files, made
        again whenever a file is added, removed or rewritten (path, inode, size, mtime:
        files are only ever replaced whole, by any process); a read of some of the files
        reads their rows of the copy. On an evaluation-sized store most of a read's time
        was DuckDB opening and scanning the same small Parquet files again. A larger
        store is scanned in place: holding it twice costs more memory than it saves."""
        every = self.files()
        stats = [(f, f.stat()) for f in every]
        if not files or sum(st.st_size for _, st in stats) > CACHE_BYTES:
            return self._source(files), False
        sig = tuple((str(f), st.st_ino, st.st_size, st.st_mtime_ns) for f, st in stats)
        if sig != self._cached:
            self._cached = None
            self._con.execute(f"CREATE OR REPLACE TABLE {_CACHE} AS SELECT * EXCLUDE (filename), filename AS _file "
                              f"FROM {self._source(every, filename=True)}")
            n, keys = self._con.execute(f"SELECT count(*), count(DISTINCT key) FROM {_CACHE}").fetchone()
            self._cached, self._cache_unique = sig, n == keys
        names = ", ".join(_NAMES)
        if len(files) == len(every):
            return f"(SELECT {names} FROM {_CACHE})", self._cache_unique
        return (f"(SELECT {names} FROM {_CACHE} WHERE list_contains([{', '.join(_q(f) for f in files)}], _file))",
                self._cache_unique)

    @contextmanager
    def _deadline(self, timeout_s: float | None) -> Iterator[None]:
        """Interrupt the connection's running statement after `timeout_s` (DuckDB has no
        statement timeout of its own); the timer is gone before the lock is released,
        so it can only ever stop the statement it was set for."""
        if timeout_s is None:
            yield
            return
        timer = threading.Timer(timeout_s, self._con.interrupt)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            timer.join()

    def _select(self, flt: EventFilter, shape: Shape = "events", *, unique: bool = False) -> tuple[str, dict]:
        """The statement (`{source}` standing for the files) and parameters of a filter:
        its events, or one row a UTC day with its count, first and last second of the
        day and smallest key (`days`), or the lineage of `flt.keys` (`lineage`). `unique`:
        the source holds one version of each key, so the latest-version window is left out."""
        where, params = self._where(flt)
        latest = "" if unique else LATEST
        if shape == "lineage":
            return _LINEAGE.format(narrow=", ".join(n for n in _NAMES if n not in _WIDE), names=", ".join(_NAMES),
                                   got_names=", ".join(f"got.{n}" for n in _NAMES), where=where, latest=latest,
                                   hops=LINEAGE_HOPS), params
        if shape == "counts":
            return (f"SELECT event_id, count(*) AS n FROM (SELECT key, event_id FROM {{source}} WHERE {where} {latest}) "
                    "GROUP BY event_id ORDER BY n DESC, event_id NULLS LAST"), params
        if shape == "days":
            return (f"SELECT ts // {_DAY} AS day, count(*) AS n, min(ts % {_DAY}) AS first_sec, "
                    f"max(ts % {_DAY}) AS last_sec, min(key) AS example FROM (SELECT key, ts FROM {{source}} "
                    f"WHERE {where} {latest}) GROUP BY day ORDER BY day"), params
        order = "ts DESC NULLS FIRST, key" if flt.newest else "ts, key"
        if flt.near is not None:
            order = "abs(coalesce(ts, 0) - $near), ts, key"
            params["near"] = flt.near
        limit = f"LIMIT {int(flt.limit)}" if flt.limit else ""
        return f"SELECT {', '.join(_NAMES)} FROM {{source}} WHERE {where} {latest} ORDER BY {order} {limit}", params

    def _where(self, flt: EventFilter) -> tuple[str, dict]:
        where, params = ["TRUE"], {}
        if flt.keys:
            where.append("list_contains($keys, key)")
            params["keys"] = list(flt.keys)
        if flt.since is not None:
            where.append("ts >= $lo")
            params["lo"] = flt.since
        if flt.until is not None:
            where.append("ts <= $hi")
            params["hi"] = flt.until
        if flt.event_ids:
            where.append("list_contains($eids, event_id)")
            params["eids"] = [int(e) for e in flt.event_ids]
        if flt.kinds and not (flt.keys_only and "Event" in flt.kinds):
            where.append("list_contains($kinds, kind)")
            params["kinds"] = list(flt.kinds)
        if flt.ips:
            where.append("(list_contains($ips, ip) OR list_contains($ips, dst_ip))")
            params["ips"] = list(flt.ips)
        if flt.hosts and flt.keys_only:  # where the graph has OnHost or FromHost to it
            where.append("((list_contains($hosts, host) AND NOT list_contains(coalesce(marks, []), "
                         f"'{HOST_UNRESOLVED}')) OR list_contains($hosts, from_host))")
            params["hosts"] = list(flt.hosts)
        elif flt.hosts:  # a host key, or its short name as an analyst types it
            where.append("(list_contains($hosts, upper(host)) OR list_contains($hosts, upper(from_host))"
                         " OR list_contains($hosts, upper(split_part(host, '.', 1)))"
                         " OR list_contains($hosts, upper(split_part(from_host, '.', 1))))")
            params["hosts"] = [h.upper() for h in flt.hosts]
        if flt.accounts and flt.keys_only:
            where.append("list_has_any(list_concat(by_keys, target_keys), $accts)")
            params["accts"] = list(flt.accounts)
        elif flt.accounts:  # an account key, or the name before its @
            where.append("len(list_filter(list_concat(by_keys, target_keys), lambda a: "
                         "list_contains($accts, upper(a)) OR list_contains($accts, upper(split_part(a, '@', 1))))) > 0")
            params["accts"] = [a.upper() for a in flt.accounts]
        if flt.on_hosts:  # the graph's OnHost: a tied host only
            where.append(f"list_contains($on_hosts, host) AND NOT list_contains(coalesce(marks, []), '{HOST_UNRESOLVED}')")
            params["on_hosts"] = list(flt.on_hosts)
        if flt.from_hosts:
            where.append("list_contains($from_hosts, from_host)")
            params["from_hosts"] = list(flt.from_hosts)
        if flt.linked:  # the graph's OnHost (a tied host only), FromHost, ByUser, TargetsUser
            where.append(f"((list_contains($linked, host) AND NOT list_contains(coalesce(marks, []), '{HOST_UNRESOLVED}'))"
                         " OR list_contains($linked, from_host) OR list_has_any(list_concat(by_keys, target_keys), $linked)"
                         f"{' OR list_contains($linked, from_ip)' if flt.linked_ip else ''})")
            params["linked"] = list(flt.linked)
        if flt.marks:
            where.append("list_has_any(coalesce(marks, []), $marks)")
            params["marks"] = list(flt.marks)
        if flt.source is not None:
            where.append("source = $source")
            params["source"] = flt.source
        if flt.contains is not None:
            where.append("contains(props, $contains)")
            params["contains"] = flt.contains
        return " AND ".join(where), params

    def count(self) -> int:
        files = self.files()
        if not files:
            return 0
        with self._lock:
            return self._con.execute(f"SELECT count(DISTINCT key) FROM {self._source(files)}").fetchone()[0]

    # ------------------------------------------------------------------ rewriting

    def _files_with(self, files: list[Path], cond: str, params: dict) -> list[tuple[Path, int, int]]:
        """(file, rows matching `cond`, rows) for every file with a match."""
        if not files:
            return []
        sql = (f"SELECT filename, count(*) FILTER (WHERE {cond}) AS hit, count(*) AS n "
               f"FROM {self._source(files, filename=True)} GROUP BY filename HAVING hit > 0")
        with self._lock:
            return [(Path(f), hit, n) for f, hit, n in self._con.execute(sql, params).fetchall()]

    def patch(self, changes: dict[str, dict]) -> int:
        if not changes:
            return 0
        files = self.files() + [f for r in self._runs if not r.done for f in r.pending()]
        keys = sorted(changes)
        # A re-keyed event is also the session or parent other events' chains name.
        renamed = sorted(k for k in keys if changes[k].get("key"))
        hits = self._files_with(files, "list_contains($keys, key) OR list_contains($renamed, in_session) "
                                       "OR list_contains($renamed, parent)", {"keys": keys, "renamed": renamed})
        if not hits:
            return 0
        cols: dict[str, list] = {"old": keys, **{c: [] for c in (*_REPLACED, *_ADDED, _SETTLED)}}
        for k in keys:
            ch = changes[k]
            for c in _REPLACED:
                cols[c].append(ch.get(c))
            for c in (*_ADDED, _SETTLED):
                cols[c].append(list(ch.get(c) or ()))
        types = {**dict(COLUMNS), _SETTLED: "VARCHAR[]"}
        change = ", ".join(f"CAST(unnest(${c}) AS {types.get(c, 'VARCHAR')}) AS {c}" for c in cols)
        # What a patch ties drops the mark saying it was not tied (as the relink's REMOVE does).
        ties = (f"(m = '{HOST_UNRESOLVED}' AND c.host IS NOT NULL) OR (m = '{IP_UNRESOLVED}' AND c.from_host "
                f"IS NOT NULL) OR list_contains(c.{_SETTLED}, m)")
        picks = []
        for name in _NAMES:
            if name in _REPLACED:
                picks.append(f"coalesce(c.{name}, f.{name}) AS {name}")
            elif name in _ADDED:
                picks.append(f"CASE WHEN c.old IS NULL THEN f.{name} "
                             f"ELSE list_sort(list_distinct(list_concat(f.{name}, c.{name}))) END AS {name}")
            elif name == "marks":
                picks.append(f"CASE WHEN c.old IS NULL THEN f.marks "
                             f"ELSE list_filter(coalesce(f.marks, []), lambda m: NOT ({ties})) END AS marks")
            elif name in ("in_session", "parent"):
                picks.append(f"coalesce(r_{name}.key, f.{name}) AS {name}")
            elif name == "props":  # a re-keyed event's fields name its host as the key does
                picks.append("CASE WHEN c.host IS NULL THEN f.props ELSE json_merge_patch(coalesce(f.props, '{}'), "
                             "json_object('host', c.host, 'host_domains', NULL))::VARCHAR END AS props")
            else:
                picks.append(f"f.{name}")
        rekeyed = "(SELECT old, key FROM changed WHERE key IS NOT NULL)"
        for path, _, _ in hits:
            self._copy(f"WITH changed AS (SELECT {change}) "
                       f"SELECT {', '.join(picks)} FROM {self._source([path])} f "
                       f"LEFT JOIN changed c ON c.old = f.key "
                       f"LEFT JOIN {rekeyed} r_in_session ON r_in_session.old = f.in_session "
                       f"LEFT JOIN {rekeyed} r_parent ON r_parent.old = f.parent", path, cols)
        return len(hits)

    def forget(self, tag: str) -> int:
        self.recover()
        cond = "ends_with(source, $sfx)"
        params = {"sfx": f"#{tag}"}
        gone = 0
        for path, hit, n in self._files_with(self.files(), cond, params):
            gone += hit
            if hit == n:
                path.unlink()
            else:
                self._copy(f"SELECT * FROM read_parquet({_q(path)}) WHERE NOT {cond}", path, params)
        return gone

    def reset(self) -> None:
        for r in self._runs:
            r.done = True
        if self.root.exists():
            shutil.rmtree(self.root)
