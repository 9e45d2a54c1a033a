"""MODEL.md's tables, rendered from the catalogue, so the document cannot drift from what
the writer accepts. `python -m graph.catalog.markdown` rewrites the generated part of
graph/MODEL.md in place; tests/test_catalog.py fails while it is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from graph import catalog
from graph.catalog.core import NodeKind, Prop

MODEL = Path(__file__).resolve().parents[1] / "MODEL.md"
BEGIN = ("<!-- catalog:begin - generated from graph/catalog by `python -m graph.catalog.markdown`; "
         "edit the catalogue, not this part -->")
END = "<!-- catalog:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _index(p: Prop) -> str:
    if p.index is None:
        return ""
    return f"{'text ' if p.index.text else ''}`{p.index.name}`" + ("" if p.index.on == catalog.TWIN.label
                                                                   else f" on {p.index.on}")


def _props_table(props: tuple[Prop, ...]) -> list[str]:
    out = ["| property | type | index | meaning |", "|---|---|---|---|"]
    out += [f"| `{p.name}` | {p.type} | {_index(p)} | {_cell(p.description)} |" for p in props]
    return out


def _labels(kind: NodeKind) -> str:
    return f"`{kind.subkind_of}` + `{kind.label}`" if kind.subkind_of else f"`{kind.label}`"


def render() -> str:
    lines = [BEGIN, "", "## Kinds", ""]
    lines += ["### Nodes", "", "| label | group | key | what |", "|---|---|---|---|"]
    for kind in catalog.NODES.values():
        lines.append(f"| {_labels(kind)} | {kind.group} | {_cell(kind.key)} | {_cell(kind.description)} |")
    lines += ["", "### Relationships", "",
              "Every relationship also holds `source`, `sources`, `firstseen` and `lastseen`. A SharpHound ACE "
              "whose RightName is not listed here loads as an edge of that name with "
              f"{', '.join(f'`{n}`' for n in sorted(catalog.ACE_PROPS))}.", "",
              "| type | from | to | written by | properties | what |", "|---|---|---|---|---|---|"]
    for r in catalog.RELS.values():
        props = ", ".join(f"`{p.name}`" for p in r.props)
        lines.append(f"| `{r.type}` | {', '.join(r.src)} | {', '.join(r.dst)} | {_cell(r.writer)} | {props} | "
                     f"{_cell(r.description)} |")
    lines += ["", "### Properties", "",
              "What a connector's row may hold, kind by kind (graph.loader refuses any other property, the row "
              "rejected by name). A node holds its labels' properties and every node's (`Twin`)."]
    base = {p.name for p in catalog.NODES["Base"].props}
    for kind in catalog.NODES.values():
        if not kind.props:
            continue
        props = kind.props
        lines += ["", f"#### {_labels(kind)}", ""]
        if kind.label != "Base" and base <= {p.name for p in props}:
            props = tuple(p for p in props if p.name not in base)
            lines += ["`Base`'s properties, and:", ""]
        if kind.open:
            lines += [f"Open: {_cell(kind.open)}.", ""]
        lines += _props_table(props)
    # One row per property, with every type that holds it: `isacl` alone is on fifty.
    on: dict[Prop, list[str]] = {}
    for r in catalog.RELS.values():
        for p in r.props:
            on.setdefault(p, []).append(f"`{r.type}`")
    lines += ["", "#### Relationship properties", "", "| property | type | on | meaning |", "|---|---|---|---|"]
    groups: dict[str, list[str]] = {}
    for r in catalog.RELS.values():
        groups.setdefault(r.group, []).append(f"`{r.type}`")
    named = {tuple(types): f"every {group} type" for group, types in groups.items()}
    lines += [f"| `{p.name}` | {p.type} | {named.get(tuple(types), ', '.join(types))} | {_cell(p.description)} |"
              for p, types in on.items()]
    lines += ["", END]
    return "\n".join(lines)


def current(text: str) -> str:
    """MODEL.md with its generated part replaced by the catalogue's rendering."""
    start, end = text.find("<!-- catalog:begin"), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{MODEL} has no generated part (<!-- catalog:begin ... {END})")
    return text[:start] + render() + text[end + len(END):]


def main() -> int:
    text = MODEL.read_text(encoding="utf-8")
    new = current(text)
    if new != text:
        MODEL.write_text(new, encoding="utf-8")
        print(f"{MODEL}: tables rewritten from graph/catalog", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
