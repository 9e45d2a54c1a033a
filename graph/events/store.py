"""The event store's interface (EventStore, EventRun, EventFilter) and the rows it keeps:
graph/events/__init__.py says why the store exists, graph/events/duck.py how it is kept."""


from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

# What an event's links say, as the store's columns (NodeSchema.links of Event kinds).
_LINK_COLUMNS = {"OnHost": "host", "FromHost": "from_host", "FromIP": "from_ip"}
_LIST_LINKS = {"ByUser": "by_keys", "TargetsUser": "target_keys"}
# The chains between events (graph/ingest/winevents.py): the logon session an event ran
# in and a process's parent, as the store's columns.
CHAIN_COLUMNS = {"InLogonSession": "in_session", "SpawnedBy": "parent"}
# Labels saying what an event could not be tied to yet (graph/ingest/_winlink.py), and
# the patch column whose change ties it.
HOST_UNRESOLVED, IP_UNRESOLVED, ACCOUNT_UNRESOLVED = "HostUnresolved", "IpUnresolved", "AccountUnresolved"


@dataclass
class EventFilter:
    """What to keep: every given criterion must hold; within one, any value may match.
    `hosts` match where the event happened or where it came from, `accounts` who acted
    or was targeted, `ips` its source or destination address; times are epoch seconds."""

    hosts: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    since: int | None = None
    until: int | None = None
    limit: int | None = None
    # Order by distance to this time (the nearest `limit`), else by time.
    near: int | None = None
    # As the graph's links match (the tools): hosts and accounts by their exact key only,
    # a host the event named but the twin has not tied (HostUnresolved) matches nothing,
    # and the kind `Event` is every event. Else as an analyst types (`twinsight events`).
    keys_only: bool = False
    # Tied by key to where the event happened (OnHost) / came from (FromHost) only.
    on_hosts: list[str] = field(default_factory=list)
    from_hosts: list[str] = field(default_factory=list)
    # Tied by key to any of these in any way (OnHost, FromHost, ByUser, TargetsUser), as
    # observed_path reads the events around an alert's entities, whatever each one is.
    linked: list[str] = field(default_factory=list)
    # `linked` also through the source address's node (the graph's FromIP to an `IP:` key),
    # as entity_context counts an entity's events.
    linked_ip: bool = False
    # Newest first (time descending, undated first as Neo4j orders nulls; then key).
    newest: bool = False
    # The `lineage` shape only: look for the ancestors and sessions of `keys` in the days
    # from this many seconds before the events' time to their day (a parent started
    # before its child, a session before what ran in it); None reads every day.
    lineage_s: int | None = None
    # Only rows still carrying one of these marks (HostUnresolved, ...: the relink's work).
    marks: list[str] = field(default_factory=list)
    # Only rows the ingest with this provenance wrote (`winevents#tag`: a tagged run ties
    # only its own events).
    source: str | None = None
    # Only rows whose normalised fields (as JSON text) hold this text: a cheap first cut
    # for a caller that then checks the field itself (an alert's file hash).
    contains: str | None = None


@dataclass
class EventRead:
    """What one bounded read gave: the rows, whether `row_cap` cut them, and the
    statement that ran with its parameters (the tools' audit shows it)."""

    rows: list[dict]
    truncated: bool = False
    statement: str = ""
    params: dict = field(default_factory=dict)


# What a read returns: the events; one row a UTC day (`day`, `n`, `first_sec`/`last_sec` of
# the day, the smallest key as `example`); or the lineage of `keys` (the event, the events
# it descends from by `parent` with their `depth`, and the logon sessions any of them ran
# in, `depth` None); or one row per event id with its count (`event_id`, `n`; most first).
Shape = Literal["events", "days", "lineage", "counts"]


class StoreTimeout(Exception):
    """A read ran past its time bound and was stopped."""


class EventRun(ABC):
    """One ingest's rows: appended file by file, invisible until `commit`."""

    @abstractmethod
    def append(self, rows: list[dict]) -> int:
        """Write rows (`event_row` shape); returns how many."""

    @abstractmethod
    def commit(self) -> None:
        """Make every appended row visible at once."""

    @abstractmethod
    def abort(self) -> None:
        """Drop every appended row."""

    @abstractmethod
    def patch(self, changes: dict[str, dict]) -> int:
        """EventStore.patch over the committed rows and this run's own."""

    @abstractmethod
    def query(self, flt: EventFilter) -> list[dict]:
        """EventStore.query over the committed rows and this run's own (the relink and the
        alerts of the same ingest read events it has not committed yet)."""

    @abstractmethod
    def existing(self, keys: Iterable[str]) -> set[str]:
        """Which of `keys` the store holds, committed or this run's own."""

    @abstractmethod
    def count_targets(self, event_id: int, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, int, int]]:
        """For each (target account, host) of `pairs`: the distinct events with `event_id`
        tied to that host and naming that account among their targets, committed or this
        run's own, as (count, first time, last time); pairs with none are left out."""


class EventStore(ABC):
    """Append a run's rows, query them by filter or key, forget a tagged run, reset."""

    @abstractmethod
    def begin(self) -> EventRun: ...

    @abstractmethod
    def query(self, flt: EventFilter) -> list[dict]:
        """Rows (dicts of the store's columns, `props` parsed) matching `flt`."""

    def describe(self, flt: EventFilter, shape: Shape = "events") -> tuple[str, dict]:
        """The statement a read of `flt` runs and its parameters, as an audit shows them."""
        return type(self).__name__, {k: v for k, v in vars(flt).items() if v not in (None, [], False)}

    def read(self, flt: EventFilter, *, row_cap: int | None = None, timeout_s: float | None = None,
             shape: Shape = "events") -> EventRead:
        """`query`, bounded: at most `row_cap` rows (`truncated` says more matched) in at
        most `timeout_s` seconds (else StoreTimeout), in the `shape` asked for; a store
        that cannot stop a read itself answers unbounded in time."""
        rows = self.query(flt)
        if shape == "lineage":
            rows = self._lineage(rows)
        if shape == "days":
            days: dict[int, dict] = {}
            for r in rows:
                if r["ts"] is None:
                    continue
                day, sec = divmod(r["ts"], 86400)
                d = days.setdefault(day, {"day": day, "n": 0, "first_sec": sec, "last_sec": sec, "example": r["key"]})
                d["n"] += 1
                d["first_sec"], d["last_sec"] = min(d["first_sec"], sec), max(d["last_sec"], sec)
                d["example"] = min(d["example"], r["key"])
            rows = [days[k] for k in sorted(days)]
        cut = row_cap is not None and len(rows) > row_cap
        return EventRead(rows=rows[:row_cap] if cut else rows, truncated=cut, statement=type(self).__name__)

    def get(self, keys: Iterable[str]) -> dict[str, dict]:
        wanted = sorted(set(keys))
        return {r["key"]: r for r in self.query(EventFilter(keys=wanted))} if wanted else {}

    def _lineage(self, start: list[dict]) -> list[dict]:
        out: dict[str, dict] = {r["key"]: {**r, "depth": 0} for r in start}
        todo = list(out.values())
        while todo:
            r = todo.pop()
            if r["depth"] < 12 and r.get("parent") and r["parent"] not in out:
                for p in self.get([r["parent"]]).values():
                    out[p["key"]] = {**p, "depth": r["depth"] + 1}
                    todo.append(out[p["key"]])
        sessions = self.get(r["in_session"] for r in out.values() if r.get("in_session"))
        rows = sorted(out.values(), key=lambda r: (r["depth"], r["key"]))
        return rows + [{**s, "depth": None} for _, s in sorted(sessions.items())]

    @abstractmethod
    def patch(self, changes: dict[str, dict]) -> int:
        """Rewrite stored rows: event key -> new column values (the relink re-keys an event
        to its host, ties its accounts or source host once the twin knows them)."""

    @abstractmethod
    def forget(self, tag: str) -> int:
        """Drop the rows a tagged ingest wrote (source `name#tag`); returns how many."""

    @abstractmethod
    def reset(self) -> None:
        """Drop everything, committed or pending."""

    @abstractmethod
    def count(self) -> int: ...


def event_row(key: str, props: dict, links: Iterable, labels: Iterable[str], source: str,
              chains: dict[str, str] | None = None) -> dict:
    """A graph `Event` row (key, props, links to the twin) as the store keeps it: the
    resolved keys in columns, the normalised fields as JSON, the raw line as written;
    the labels saying what is not tied yet (`marks`) and the event's chains (`chains`:
    column -> the other event's key) so a tool reading the store answers as the graph."""
    row: dict = {"key": key, "by_keys": [], "target_keys": [], "host": None, "from_host": None,
                 "from_ip": None, "in_session": None, "parent": None}
    for rel, dst in links:
        if rel in _LINK_COLUMNS:
            row[_LINK_COLUMNS[rel]] = dst
        elif rel in _LIST_LINKS:
            row[_LIST_LINKS[rel]].append(dst)
    if row["host"] is None:  # not tied yet (HostUnresolved): the name as the event wrote it
        row["host"] = props.get("host")
    labels = list(labels)
    kinds = [lb for lb in labels if lb != "Event" and lb.endswith("Event")]
    row.update(chains or {})
    row.update({"ts": props.get("timestamp"), "event_id": props.get("event_id"),
                "channel": props.get("channel") or props.get("zeek_log"),
                "kind": kinds[0] if kinds else "Event",
                "marks": [lb for lb in labels if lb != "Event" and not lb.endswith("Event")],
                "ip": props.get("ip") or props.get("src_ip"), "dst_ip": props.get("dst_ip"),
                "source": source, "raw": props.get("fields"),
                "props": {k: v for k, v in props.items() if k != "fields" and v is not None}})
    return row


def chain_links(rels: Iterable[tuple[str, Iterable[dict]]]) -> dict[str, dict[str, str]]:
    """Event key -> its chain columns, from (relationship type, rows) pairs: the first
    `InLogonSession` / `SpawnedBy` each event has, as the graph's tools read one."""
    out: dict[str, dict[str, str]] = {}
    for rel, rows in rels:
        column = CHAIN_COLUMNS.get(rel)
        if column is None:
            continue
        for r in rows:
            out.setdefault(r["src"], {}).setdefault(column, r["dst"])
    return out


def batch_event_rows(batch, source: str) -> list[dict]:
    """A connector's event rows (its batch's `events`: Windows events, Zeek
    observations), stamped with the load's provenance."""
    for r in batch.events:
        r["source"] = source
    return batch.events
