"""The event store beside the graph: every raw event, queryable, under the twin's keys.

Neo4j holds what the twin is about (entities, their relationships, what events taught
it, aggregated); a day of Windows events is a million rows that are read by filter
(host, account, address, event id, time window), never walked as a graph. They live here,
in one small interface (`EventStore`) whose default implementation is DuckDB over
day-partitioned Parquet files under TWINSIGHT_HOME (graph/events/duck.py): files any
engine reads in place (DuckDB, Spark, Trino, ClickHouse) when one machine is not enough.

Rows carry the keys the graph resolved (`EVT:HOST:Channel:record`, the host key, the
account keys, the source host), so a tool reading the store and one reading the graph
name the same things. A run's rows become visible only when the ingest that wrote them
finished (`EventRun.commit`), so a crash mid-ingest leaves no half of it behind; the
rerun writes it whole, as the graph's rerun does.
"""

from __future__ import annotations

import os
from pathlib import Path

from graph.events.duck import DuckEventStore
from graph.events.store import (
    EventFilter,
    EventRead,
    EventRun,
    EventStore,
    batch_event_rows,
    event_row,
)
from graph.settings import Neo4jSettings

__all__ = ["EventFilter", "EventRead", "EventRun", "EventStore", "batch_event_rows", "event_row", "open_store", "store_dir"]


def store_dir(database: str | None = None) -> Path:
    """TWINSIGHT_EVENTS_DIR, else `TWINSIGHT_HOME/events/<database>`: one store per
    twin database, beside the local server's files."""
    base = os.environ.get("TWINSIGHT_EVENTS_DIR")
    root = Path(base).expanduser() if base else Neo4jSettings.from_env().home / "events"
    return root / (database or "neo4j")


def open_store(database: str | None = None, path: Path | None = None) -> EventStore:
    return DuckEventStore(path or store_dir(database))
