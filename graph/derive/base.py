"""What a derivation is, and the one way derived edges are kept in step with their inputs.

A derivation reads what the connectors loaded and writes edges no file states (DCSync
from two ACEs, CanExploit from a zone rule and a vulnerable service). Its edges are a
function of the whole twin, so it runs after an ingest, once the loads and the
connectors' own post-load steps are done, and removes what it no longer supports. It is
left out when the run wrote none of its `triggers` (a day of events moves no group
membership): running it then would change nothing, and at 24k hosts costs seconds. What
the run wrote is noted in the twin before it is written (`PENDING`), so a run that stops
before its derivations leaves them to the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from graph.loader import TwinWriter
from graph.model import RelSchema, check_identifier


@dataclass(frozen=True)
class Derivation:
    """One derived kind of edge (or a family computed together).

    `source` is the provenance its edges carry (BloodHound CE's post-processing of AD data
    keeps SharpHound's name); `reads` the node and relationship kinds it depends on and
    `writes` the relationship kinds it owns (graph/catalog checks both; MODEL.md lists
    them); `after` the connectors whose post-load steps must have run first."""

    name: str
    source: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    run: Callable[[TwinWriter], object]
    after: tuple[str, ...] = ()
    # The kinds whose write can change its edges (default: `reads`). A kind it reads only
    # for a key, whose rows count only through edges listed here, can be left out: an
    # event file merges every host it names, and that alone changes no derived edge.
    triggers: tuple[str, ...] | None = None

    def needed(self, changed: set[str] | None) -> bool:
        """Must it run after a run that wrote (or deleted) `changed` kinds? None: unknown
        (a node deleted with whatever edges it had), so yes."""
        return changed is None or bool(changed & set(self.triggers if self.triggers is not None else self.reads))


# Kinds written since the derivations last finished: a run that stops between its loads and
# its derivations leaves them here, so the next run (whatever it loads) derives them.
# `all` stands for kinds unknown. Not a Twin node: no tool sees it; `twin reset` removes it.
PENDING = "DerivePending"


def pending(driver, database: str | None) -> set[str] | None:
    """What an earlier run left underived (None: unknown, so everything)."""
    recs = driver.execute_query(f"MATCH (m:{PENDING}) RETURN m.kinds AS kinds, m.all AS all",
                                database_=database).records
    if not recs:
        return set()
    return None if recs[0]["all"] else set(recs[0]["kinds"] or [])


def mark_pending(driver, database: str | None, kinds: set[str] | None) -> None:
    """Note, before writing them, kinds the derivations must see (None: unknown)."""
    driver.execute_query(
        f"MERGE (m:{PENDING} {{key: 'derive'}}) "
        "SET m.all = coalesce(m.all, false) OR $all, "
        "    m.kinds = coalesce(m.kinds, []) + [k IN $kinds WHERE NOT k IN coalesce(m.kinds, [])]",
        all=kinds is None, kinds=sorted(kinds or ()), database_=database)


def clear_pending(driver, database: str | None) -> None:
    driver.execute_query(f"MATCH (m:{PENDING}) DELETE m", database_=database)


def run_query(writer: TwinWriter, query: str, **params) -> list:
    """The records of one query on the writer's twin (outside the batched writer: reads and deletes)."""
    return writer.driver.execute_query(query, params, database_=writer.database).records


def sync_edges(writer: TwinWriter, schema: RelSchema, pairs: Iterable[tuple[str, str]],
               props: dict, end: str = "objectid") -> None:
    """Write the derived edges (`pairs` of `end` values) and delete this source's edges of
    the type that are no longer derived."""
    pairs = set(pairs)
    if pairs:
        writer.rels(schema, [{"src": a, "dst": b, "props": props} for a, b in sorted(pairs)])
    end = check_identifier(end)
    current = run_query(writer, f"MATCH (a)-[r:{check_identifier(schema.type)}]->(b) WHERE r.source = $source "
                           f"RETURN a.{end} AS a, b.{end} AS b, elementId(r) AS id", source=writer.source)
    stale = [rec["id"] for rec in current if (rec["a"], rec["b"]) not in pairs]
    if stale:
        run_query(writer, "UNWIND $ids AS id MATCH ()-[r]->() WHERE elementId(r) = id DELETE r", ids=stale)
        writer.stats.deleted += len(stale)
