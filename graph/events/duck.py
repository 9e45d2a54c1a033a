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
           ("marks", "VARCHAR[]"), ("in_session", "VARCHAR"), ("parent", "VARCHAR"))
_NAMES = [c for c, _ in COLUMNS]
# Every column, typed and empty: a union by name with it gives files written before a
# column existed that column as NULL instead of a binder error.
# The events a process descends from (`parent`, up to LINEAGE_HOPS, `depth` 0 being the
# event itself) and the logon sessions any of them ran in (`depth` NULL): one statement.
LINEAGE_HOPS = 12
_LINEAGE = """WITH RECURSIVE ev AS MATERIALIZED (SELECT {names} FROM {{source}} WHERE TRUE {latest}),
line AS (SELECT key, 0 AS depth, [key] AS seen FROM ev WHERE {where}
         UNION ALL
         SELECT p.key, l.depth + 1, list_append(l.seen, p.key) FROM line l JOIN ev c ON c.key = l.key
         JOIN ev p ON p.key = c.parent WHERE l.depth < {hops} AND NOT list_contains(l.seen, p.key)),
kin AS (SELECT key, min(depth) AS depth FROM line GROUP BY key)
SELECT {ev_names}, kin.depth FROM kin JOIN ev ON ev.key = kin.key
UNION ALL
SELECT {ev_names}, NULL FROM ev WHERE ev.key IN (SELECT c.in_session FROM kin JOIN ev c ON c.key = kin.key)
ORDER BY depth NULLS LAST, key"""
_PROTOTYPE = f"SELECT {', '.join(f'CAST(NULL AS {t}) AS {n}' for n, t in COLUMNS)} WHERE FALSE"
_PENDING = "_pending"
_MARKER = "COMMIT"
_UNDATED = "day=undated"
_DAY = 86400
# Columns a patch replaces, and the account lists it adds to (the relink only ever ties more).
_REPLACED = ("key", "host", "from_host")
_ADDED = ("by_keys", "target_keys")
_LISTS = (*_ADDED, "marks")
# A patch's `settled`: the marks it drops (the relink ties an event's accounts).
_SETTLED = "settled"


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _day(ts: object) -> str:
    if not isinstance(ts, int):
        return _UNDATED
    return "day=" + datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


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
            self.files += 1
            target = self.dir / day / f"{self.seq}-{self.files}.parquet"
            self.store._write(target, part, self.seq)
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

    # ------------------------------------------------------------------ writing

    def begin(self) -> EventRun:
        self.recover()
        run = _Run(self)
        self._runs.append(run)
        return run

    def recover(self) -> int:
        """Finish runs that committed before a crash; remove those whose process died
        before it committed. Returns how many runs were removed."""
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
        dumps = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False).encode
        cols: dict[str, list] = {}
        for name in _NAMES:  # column by column: a million rows cost a comprehension each
            if name == "props":
                cols[name] = [dumps(r.get("props") or {}) for r in rows]
            elif name == "seq":
                cols[name] = [seq] * len(rows)
            elif name in _LISTS:
                cols[name] = [r.get(name) or [] for r in rows]
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
        out = []
        for day in sorted(self.root.glob("day=*")) if self.root.exists() else ():
            if day.name != _UNDATED and (since is not None or until is not None):
                start = int(datetime.strptime(day.name[4:], "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
                if (until is not None and start > until) or (since is not None and start + _DAY <= since):
                    continue
            out.extend(sorted(day.glob("*.parquet")))
        return out

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
        files = self.files(flt.since, flt.until)
        sql, params = self._select(flt, shape)
        shown = sql.replace("{source}", f"events({_q(self.root)}, {len(files)} files)")
        if not files:
            return EventRead(rows=[], statement=shown, params=params)
        late = StoreTimeout(f"the event store read ran longer than {timeout_s or 0:g}s and was stopped")
        with self._lock, self._deadline(timeout_s):
            started = time.monotonic()
            try:
                cur = self._con.execute(sql.replace("{source}", self._source(files)), params)
                values = cur.fetchmany(row_cap + 1) if row_cap is not None else cur.fetchall()
            except duckdb.InterruptException:
                raise late from None
            # The interrupt may come too late to stop a read that ends first: past the
            # bound, the answer is refused all the same (as the guard's client deadline).
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                raise late
        truncated = row_cap is not None and len(values) > row_cap
        values = values[:row_cap] if truncated else values
        if shape == "days":
            names = ("day", "n", "first_sec", "last_sec", "example")
            return EventRead(rows=[dict(zip(names, v, strict=True)) for v in values], truncated=truncated,
                             statement=shown, params=params)
        names = [*_NAMES, "depth"] if shape == "lineage" else _NAMES
        out = []
        for v in values:
            r = dict(zip(names, v, strict=True))
            r["props"] = json.loads(r["props"]) if r["props"] else {}
            r["marks"] = r["marks"] or []
            out.append(r)
        return EventRead(rows=out, truncated=truncated, statement=shown, params=params)

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

    def _select(self, flt: EventFilter, shape: Shape = "events") -> tuple[str, dict]:
        """The statement (`{source}` standing for the files) and parameters of a filter:
        its events, or one row a UTC day with its count, first and last second of the
        day and smallest key (`days`), or the lineage of `flt.keys` (`lineage`)."""
        where, params = self._where(flt)
        latest = "QUALIFY row_number() OVER (PARTITION BY key ORDER BY seq DESC) = 1"
        if shape == "lineage":
            return _LINEAGE.format(names=", ".join(_NAMES), ev_names=", ".join(f"ev.{n}" for n in _NAMES),
                                   where=where, latest=latest, hops=LINEAGE_HOPS), params
        if shape == "days":
            return (f"SELECT ts // {_DAY} AS day, count(*) AS n, min(ts % {_DAY}) AS first_sec, "
                    f"max(ts % {_DAY}) AS last_sec, min(key) AS example FROM (SELECT key, ts FROM {{source}} "
                    f"WHERE {where} {latest}) GROUP BY day ORDER BY day"), params
        order = "ts, key"
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
