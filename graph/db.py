"""Opening the twin: one driver, and one clear line when it cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ConfigurationError, Neo4jError, ServiceUnavailable

from graph.settings import Neo4jSettings


class TwinConnectionError(RuntimeError):
    """The twin cannot be used: the message is the one line the user sees."""


def open_driver(settings: Neo4jSettings, verify: bool = True) -> neo4j.Driver:
    """A driver whose failure modes (bad URI, down server, bad password) read as one line."""
    where = f"NEO4J_URI={settings.uri}" if settings.external else f"local Neo4j at {settings.uri}"
    try:
        driver = GraphDatabase.driver(
            settings.uri,
            auth=(settings.user, settings.password),
            connection_timeout=10,
            max_transaction_retry_time=15,
            notifications_min_severity="OFF",
        )
    except (ValueError, ConfigurationError) as exc:
        raise TwinConnectionError(f"{where} is not a usable Neo4j URI: {exc}") from None
    if verify:
        try:
            driver.verify_connectivity()
            driver.execute_query("RETURN 1", database_=settings.database)
        except AuthError:
            driver.close()
            raise TwinConnectionError(
                f"{where} refused the credentials of NEO4J_USER={settings.user} "
                "(check NEO4J_USER / NEO4J_PASSWORD)"
            ) from None
        except ServiceUnavailable as exc:
            driver.close()
            hint = "" if settings.external else " (run `twinsight db start`)"
            raise TwinConnectionError(f"cannot reach {where}: {_first_line(exc)}{hint}") from None
        except (Neo4jError, OSError, ValueError, ConfigurationError) as exc:
            driver.close()
            raise TwinConnectionError(f"{where}: {_first_line(exc)}") from None
    return driver


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].rstrip(":")


@contextmanager
def session_driver(settings: Neo4jSettings) -> Iterator[neo4j.Driver]:
    driver = open_driver(settings)
    try:
        yield driver
    finally:
        driver.close()


def server_info(driver: neo4j.Driver, database: str | None) -> dict:
    """What `db status --json` prints: contract section 1."""
    comp = driver.execute_query(
        "CALL dbms.components() YIELD name, versions, edition RETURN versions[0] AS v, edition",
        database_=database,
    ).records[0]
    nodes = driver.execute_query("MATCH (n) RETURN count(n) AS c", database_=database).records[0]
    rels = driver.execute_query("MATCH ()-[r]->() RETURN count(r) AS c", database_=database).records[0]
    return {
        "version": comp["v"],
        "edition": comp["edition"],
        "nodes": nodes["c"],
        "relationships": rels["c"],
    }
