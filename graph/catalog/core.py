"""The shapes of the catalogue: a property, a kind of node, a kind of relationship.

In the spirit of Cartography's `PropertyRef`: a property is declared once, with its
type, its index and what it means, and the kinds list the properties they hold. The
writer, the indexes, the tools' vocabulary and MODEL.md's tables all read these.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.model import TWIN_LABEL, check_identifier

# What a property holds, as Neo4j stores it (the loader JSON-encodes nested values: `json`).
TYPES = frozenset({"str", "int", "float", "bool", "list[str]", "list[int]", "list[float]", "json", "any"})


@dataclass(frozen=True)
class Index:
    """A range (or text) index: `name` as Neo4j knows it, on label `on`."""

    name: str
    on: str = TWIN_LABEL
    text: bool = False


@dataclass(frozen=True)
class Prop:
    name: str
    type: str
    description: str
    index: Index | None = None

    def __post_init__(self) -> None:
        check_identifier(self.name)
        if self.type not in TYPES:
            raise ValueError(f"property {self.name}: type {self.type!r} is not one of {sorted(TYPES)}")


@dataclass(frozen=True)
class NodeKind:
    """A label of the twin. `key` says how its nodes are keyed (contract section 2);
    `subkind_of` names the label it always comes with (`LogonEvent` with `Event`);
    `open` says which properties beyond the declared ones its source may write, and why
    (SharpHound keeps an AD object's whole `Properties` block, as BloodHound CE does)."""

    label: str
    group: str
    description: str
    key: str = ""
    props: tuple[Prop, ...] = ()
    subkind_of: str | None = None
    open: str | None = None

    def __post_init__(self) -> None:
        check_identifier(self.label)
        _unique(self.label, self.props)


@dataclass(frozen=True)
class RelKind:
    """A relationship type, its ends (labels) and its properties. `writer` names who
    writes it (a connector, a derivation in graph/derive, or `—` for BloodHound CE kinds
    the twin knows by name but no source writes yet)."""

    type: str
    group: str
    src: tuple[str, ...]
    dst: tuple[str, ...]
    description: str
    writer: str
    props: tuple[Prop, ...] = ()

    def __post_init__(self) -> None:
        check_identifier(self.type)
        _unique(self.type, self.props)


def _unique(owner: str, props: tuple[Prop, ...]) -> None:
    names = [p.name for p in props]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"{owner} declares {sorted(dup)} twice")
