"""Opening the twin: one driver, and one clear line when it cannot be reached."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ConfigurationError, Neo4jError, ServiceUnavailable

from graph.settings import Neo4jSettings


class TwinConnectionError(RuntimeError):
    """The twin cannot be used: the message is the one line the user sees."""


# Bolt's opening: the magic preamble, then four protocol versions the client speaks
# (5.0-5.8 as a range, then 4.4); a Bolt server answers with one version within a moment.
_BOLT_HELLO = bytes.fromhex("6060b017" "00080805" "00000404" "00000000" "00000000")
PROBE_SECONDS = 3.0


def bolt_probe(uri: str, timeout: float = PROBE_SECONDS) -> str | None:
    """Why the server at a plain-text `bolt://` / `neo4j://` URI is not Neo4j, or None when
    it answers the Bolt handshake (or cannot be probed: TLS, no listener). The driver
    waits a minute on a listener that never answers; this asks once, for 3 seconds."""
    scheme, _, rest = uri.partition("://")
    if scheme not in ("bolt", "neo4j"):
        return None
    hostport = rest.split("/", 1)[0].split("?", 1)[0]
    host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "7687")
    host = host.strip("[]") or "127.0.0.1"
    try:
        sock = socket.create_connection((host, int(port)), timeout=timeout)
    except (OSError, ValueError):
        return None  # nothing listens: the driver's own error says so
    try:
        sock.settimeout(timeout)
        sock.sendall(_BOLT_HELLO)
        answer = b""
        while len(answer) < 4:
            part = sock.recv(4 - len(answer))
            if not part:
                return "it closed the connection at the Bolt handshake"
            answer += part
    except TimeoutError:
        return f"no answer to the Bolt handshake within {timeout:.0f}s"
    except OSError as exc:
        return f"the Bolt handshake failed ({exc.strerror or exc})"
    finally:
        sock.close()
    if answer[:2] != b"\x00\x00":  # a version is 00 00 minor major; "HTTP", a TLS alert...
        return f"it answered the Bolt handshake with {answer!r}, not a protocol version"
    return None


def open_driver(settings: Neo4jSettings, verify: bool = True) -> neo4j.Driver:
    """A driver whose failure modes (bad URI, down server, bad password, a port held by
    something that is not Neo4j, logins locked after wrong passwords) read as one line."""
    where = f"NEO4J_URI={settings.uri}" if settings.external else f"local Neo4j at {settings.uri}"
    if verify and (why := bolt_probe(settings.uri)):
        hint = "" if settings.external else " (another program holds TWINSIGHT_NEO4J_PORT?)"
        raise TwinConnectionError(f"{where} is not a Neo4j server: {why}{hint}")
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
        except Neo4jError as exc:
            driver.close()
            if exc.code == "Neo.ClientError.Security.AuthenticationRateLimit":
                raise TwinConnectionError(
                    f"{where} refused the credentials of NEO4J_USER={settings.user} too many times "
                    "in a row and locks that user out for a few seconds (check NEO4J_USER / "
                    "NEO4J_PASSWORD, then retry)") from None
            raise TwinConnectionError(f"{where}: {exc.code}: {_first_line(exc.message or exc)}") from None
        except (OSError, ValueError, ConfigurationError) as exc:
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
