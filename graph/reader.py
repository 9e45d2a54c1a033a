"""The twin as a transform may see it: read-only look-ups, and nothing to write with.

A connector's transform turns a file into rows before anything of it is written, and
some rows depend on what the twin already holds (a host an IP belongs to, the objectid
a placeholder was keyed by). Those look-ups go through a TwinReader, never a driver:
every query runs in a READ transaction, which the server refuses to write in, so a
transform cannot leave half a file in the twin. A reader without a driver is an empty
twin (unit tests, `transform` without Neo4j): `rows` answers nothing.
"""

from __future__ import annotations

import neo4j


class TwinReader:
    def __init__(self, driver: neo4j.Driver | None = None, database: str | None = None) -> None:
        self._driver = driver
        self._database = database

    def __bool__(self) -> bool:
        """Whether there is a twin to ask (False: every look-up finds nothing)."""
        return self._driver is not None

    def __repr__(self) -> str:
        return f"TwinReader({'twin' if self else 'empty'})"

    def rows(self, query: str, **params) -> list[neo4j.Record]:
        """The records of one read query (retried on transient errors like any read)."""
        if self._driver is None:
            return []
        with self._driver.session(database=self._database, default_access_mode=neo4j.READ_ACCESS) as session:
            return session.execute_read(lambda tx: list(tx.run(query, params)))

    def value(self, query: str, **params):
        """The first column of the first record, or None."""
        records = self.rows(query, **params)
        return records[0][0] if records else None
