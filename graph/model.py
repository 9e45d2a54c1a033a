"""Declarative node and relationship schemas, Cartography-style.

A connector says *what* it loads (a kind of node, a kind of edge and how its ends
are found); the loader turns that into the Cypher. Labels and relationship types
are identifiers from these schemas, never from data, and are checked here once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Every node of the twin carries this label beside its kind: one key constraint covers them all.
TWIN_LABEL = "Twin"

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_identifier(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a safe Cypher identifier: {name!r}")
    return name


@dataclass(frozen=True)
class NodeSchema:
    """A kind of node, as graph.catalog declares it. Rows are `{"key": str, "props": {...}}`, optionally with
    `firstseen` / `lastseen` (epoch seconds) when the source says when it saw the thing.

    `snapshot` sources describe their whole scope on every run, so what a run did
    not see again may be cleaned up; event-like sources only ever add.

    `links` are the edges a row may carry to nodes already in the twin (an event to its
    host and accounts), as `"links": [(type, dst key), ...]`. Such nodes normally arrive
    once, so the loader creates each one together with its edges in one statement instead
    of merging the node and then every edge kind separately; a row whose node already
    exists (the same file ingested again) takes the ordinary merge path.
    """

    label: str
    extra_labels: tuple[str, ...] = ()
    snapshot: bool = True
    links: tuple[RelSchema, ...] = ()
    # The properties a row may hold (graph.catalog.node); None: any (an open kind, or an
    # ad-hoc schema of the loader's own tests and benchmarks).
    properties: frozenset[str] | None = None

    def __post_init__(self) -> None:
        for name in (self.label, *self.extra_labels):
            check_identifier(name)
        for rel in self.links:
            if rel.dst != NodeRef() or rel.src != NodeRef():
                raise ValueError(f"link {rel.type} of {self.label} must find both ends by twin key")

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.label, *self.extra_labels)


@dataclass(frozen=True)
class NodeRef:
    """How a relationship finds one of its ends: a label and the property to match on.
    `objectid` lets SharpHound's SID references find nodes keyed by name."""

    label: str = TWIN_LABEL
    prop: str = "key"

    def __post_init__(self) -> None:
        check_identifier(self.label)
        check_identifier(self.prop)


@dataclass(frozen=True)
class RelSchema:
    """A kind of edge. Rows are `{"src": value, "dst": value, "props": {...}}`; one edge
    per (src, type, dst), so repeated rows update it instead of multiplying it."""

    type: str
    src: NodeRef = field(default_factory=NodeRef)
    dst: NodeRef = field(default_factory=NodeRef)
    snapshot: bool = True
    properties: frozenset[str] | None = None  # as NodeSchema.properties (graph.catalog.rel)

    def __post_init__(self) -> None:
        check_identifier(self.type)
