"""The one catalogue of the twin's kinds: every label and relationship type, declared once
with its properties (name, type, index, meaning).

Connectors take their schemas from here (`node`, `rel`), so the writer knows what each
row may hold and refuses the rest; graph/schema.py creates the indexes the properties
declare; graph/tools/vocab.py takes the labels and types the tools may put into Cypher;
MODEL.md's tables are rendered from it (graph/catalog/markdown.py, kept current by a test).

    from graph import catalog
    ZONE = catalog.node("Zone", snapshot=True)         # network.yaml describes all its zones
    CAN_REACH = catalog.rel("CanReach", snapshot=True)
    from graph.catalog import COMPUTER, HAS_IP         # the shared identity kinds
"""

from __future__ import annotations

from functools import cache

from graph.catalog import ad, events, hosts, software
from graph.catalog.common import ISACL
from graph.catalog.core import Index, NodeKind, Prop, RelKind
from graph.model import TWIN_LABEL, NodeRef, NodeSchema, RelSchema

# What every node holds beside its kind's properties: provenance (written by the loader
# itself, never in a row), inventory annotations (on whatever node the inventory names),
# and the look-ups that span kinds.
TWIN = NodeKind(TWIN_LABEL, "The twin", "every node", "unique across the twin (contract section 2)", (
    Prop("key", "str", "the node's key", Index("twin_key_text", text=True)),
    Prop("source", "str", "the first of `sources`", Index("twin_source")),
    Prop("sources", "list[str]", "every connector that wrote it, sorted"),
    Prop("firstseen", "int", "earliest time a source saw it (epoch seconds)"),
    Prop("lastseen", "int", "latest time a source saw it (epoch seconds)", Index("twin_lastseen")),
    Prop("criticality", "str", "inventory: low, medium, high, critical"),
    Prop("crown_jewel", "bool", "inventory: an attack-path goal", Index("twin_crown_jewel")),
    Prop("owner", "str", "inventory: who answers for it"),
    Prop("tags", "list[str]", "inventory tags"),
))
# Provenance is the loader's to write: a row that carries it is refused like any stranger.
PROVENANCE = frozenset({"key", "source", "sources", "firstseen", "lastseen"})
REL_PROVENANCE = (
    Prop("source", "str", "the first of `sources`"),
    Prop("sources", "list[str]", "every connector that wrote it, sorted"),
    Prop("firstseen", "int", "earliest observation (epoch seconds)"),
    Prop("lastseen", "int", "latest observation (epoch seconds)"),
)

NODES: dict[str, NodeKind] = {k.label: k for k in (TWIN, *ad.NODES, *hosts.NODES, *software.NODES, *events.NODES)}
RELS: dict[str, RelKind] = {r.type: r for r in (*ad.RELS, *hosts.RELS, *software.RELS, *events.RELS)}
# A SharpHound RightName the catalogue does not list still loads, as an edge with these.
ACE_PROPS = frozenset(p.name for p in ad.ACE_FAMILY)


class UnknownKind(ValueError):
    """A label or relationship type the catalogue does not declare."""


def node_kind(label: str) -> NodeKind:
    try:
        return NODES[label]
    except KeyError:
        raise UnknownKind(f"label {label!r} is not in the catalogue (graph/catalog)") from None


def properties_of(labels: tuple[str, ...] | list[str]) -> frozenset[str]:
    """What a node with these labels may hold: its kinds' properties and every node's."""
    names = {p.name for p in TWIN.props} - PROVENANCE
    for label in labels:
        names.update(p.name for p in node_kind(label).props)
    return frozenset(names)


@cache
def node(label: str, *extra: str, snapshot: bool = False, open: bool = False,
         links: tuple[RelSchema, ...] = ()) -> NodeSchema:
    """The schema a connector writes `label` (+ `extra` labels) with. `snapshot`: the
    source describes its whole scope each run, so what a run did not see again may be
    cleaned up (graph.loader). `open`: the source's own properties beyond the declared
    ones are kept, for kinds the catalogue declares open (SharpHound's AD objects)."""
    labels = (label, *extra)
    kinds = [node_kind(lb) for lb in labels]
    for kind in kinds:
        if kind.subkind_of and kind.subkind_of not in labels:
            raise UnknownKind(f"label {kind.label!r} comes with {kind.subkind_of!r}")
    if open:
        closed = [k.label for k in kinds if k.open is None]
        if closed:
            raise UnknownKind(f"{', '.join(closed)} declare no open properties")
    return NodeSchema(label, tuple(extra), snapshot=snapshot, links=links,
                      properties=None if open else properties_of(labels))


@cache
def rel(rel_type: str, *, snapshot: bool = False, by: str = "key", ace: bool = False) -> RelSchema:
    """The schema of a relationship type; `by` the property both ends are found by (`key`,
    or `objectid` for SharpHound's SID references). `ace`: an ACE RightName the catalogue
    does not list is accepted as SharpHound's, with the ACE properties."""
    kind = RELS.get(rel_type)
    if kind is None and not ace:
        raise UnknownKind(f"relationship type {rel_type!r} is not in the catalogue (graph/catalog)")
    allowed = frozenset(p.name for p in kind.props) if kind is not None else ACE_PROPS
    end = NodeRef(TWIN_LABEL, by)
    return RelSchema(rel_type, end, end, snapshot=snapshot, properties=allowed)


# The identity kinds most sources write (hosts, accounts, addresses, the internet) and their
# common edges: shared by every connector, never one source's snapshot to clean up.
COMPUTER = node("Computer")
USER = node("User")
IP = node("IP")
INTERNET = node("Internet")
HAS_IP = rel("HasIP")
HAS_SESSION = rel("HasSession")
HOSTED_ON = rel("HostedOn")


def indexes() -> list[tuple[str, str, str, bool]]:
    """(index name, label, property, text?) for every index a property declares, in
    declaration order: what graph/schema.py creates."""
    out: dict[str, tuple[str, str, str, bool]] = {}
    for kind in NODES.values():
        for p in kind.props:
            if p.index is None:
                continue
            entry = (p.index.name, p.index.on, p.name, p.index.text)
            if out.setdefault(p.index.name, entry) != entry:
                raise ValueError(f"index {p.index.name} is declared twice, differently")
    return list(out.values())


__all__ = ["COMPUTER", "HAS_IP", "HAS_SESSION", "HOSTED_ON", "INTERNET", "IP", "ISACL", "NODES", "RELS", "TWIN",
           "USER", "Index", "NodeKind", "Prop", "RelKind", "UnknownKind", "indexes", "node", "node_kind",
           "properties_of", "rel"]
