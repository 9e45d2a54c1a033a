"""What a derivation is, and the one way derived edges are kept in step with their inputs.

A derivation reads what the connectors loaded and writes edges no file states (DCSync
from two ACEs, CanExploit from a zone rule and a vulnerable service). Its edges are a
function of the whole twin, so it runs after every ingest, once the loads and the
connectors' own post-load steps are done, and removes what it no longer supports.
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
