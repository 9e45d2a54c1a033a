"""Text-to-Cypher for what the fixed tools cannot ask, checked before it runs.

An LLM-written query fails in two ways the fixed tools never do: it writes (refused by
the guard, like any query), or it names a label, relationship type or property the
twin does not have, and then silently returns nothing, which reads as "no such
thing" and becomes a false claim. So every identifier the query names is checked
against the schema (db.labels(), db.relationshipTypes(), db.propertyKeys()) first,
and an unknown one is an error that lists the nearest real names.

Identifiers are read from the guard's tokens conservatively: labels and types after
`:` outside map literals, properties after `.` on a variable bound in a pattern
(`(n:User)` ... `n.enabled`) and keys of pattern property maps (`{key: $k}`). A name
the parser cannot place is left alone rather than refused.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from pydantic import Field

from graph.tools.guard import GuardError, Token, screen, tokenize
from graph.tools.spec import ToolError, ToolInput, ToolOutput, tool

if TYPE_CHECKING:
    from graph.tools.base import Toolbox

_CLAUSE_WORDS = {
    "MATCH", "OPTIONAL", "WHERE", "RETURN", "WITH", "UNWIND", "ORDER", "BY", "LIMIT", "SKIP", "CALL",
    "YIELD", "UNION", "ALL", "DISTINCT", "AS", "AND", "OR", "XOR", "NOT", "IN", "IS", "NULL", "TRUE",
    "FALSE", "CASE", "WHEN", "THEN", "ELSE", "END", "EXISTS", "COUNT", "COLLECT", "SHORTEST", "ANY",
    "CONTAINS", "STARTS", "ENDS", "ASC", "DESC", "ASCENDING", "DESCENDING", "GROUPS", "PATH", "PATHS",
}


def extract_identifiers(text: str) -> dict[str, set[str]]:
    """Labels, relationship types and property keys a query names, as far as the
    tokens say for sure."""
    tokens = tokenize(text)
    labels: set[str] = set()
    rels: set[str] = set()
    props: set[str] = set()
    pattern_vars: set[str] = set()
    stack: list[str] = []  # open brackets
    brace_kind: list[str] = []  # for each open '{': 'props' (pattern property map) or 'other'

    def ident(tok: Token) -> bool:
        return tok.kind in {"word", "quoted"}

    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else None
        if tok.kind == "sym" and tok.text in "([{":
            if tok.text == "{":
                # `(n:Label {` or `[r:T {` or `(n {` => a pattern property map
                inside_pattern = bool(stack) and stack[-1] in "(["
                after_var = prev is not None and (ident(prev) or (prev.kind == "sym" and prev.text in "([")) and inside_pattern
                brace_kind.append("props" if after_var else "other")
            stack.append(tok.text)
            # a variable opening a node or relationship pattern: `(n:`, `(n)`, `(n {`, `[r:`
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            after = tokens[i + 2] if i + 2 < len(tokens) else None
            is_call = prev is not None and prev.kind in {"word", "quoted"} and prev.text.upper() not in _CLAUSE_WORDS
            opens_pattern = (
                tok.text in "([" and not is_call and nxt is not None and nxt.kind == "word"
                and after is not None and after.kind == "sym" and after.text in {":", ")", "]", "{"}
                and nxt.text.upper() not in _CLAUSE_WORDS
                and not (tok.text == "[" and after.text == "]")  # `[x]` is a list, not a pattern
            )
            if opens_pattern:
                pattern_vars.add(nxt.text)
            continue
        if tok.kind == "sym" and tok.text in ")]}":
            if stack:
                opened = stack.pop()
                if opened == "{" and brace_kind:
                    brace_kind.pop()
            continue
        in_map = bool(stack) and stack[-1] == "{"
        # `:Label`, `:TYPE`, `|TYPE`, `&Label`, `!Label` in a pattern or a label predicate
        if ident(tok) and prev is not None and prev.kind == "sym" and prev.text in {":", "|", "&", "!"} and not in_map:
            if prev.text != ":" and not _in_label_expression(tokens, i):
                continue
            (rels if stack and stack[-1] == "[" else labels).add(tok.text)
            continue
        # `n.prop` on a pattern variable (not `point.distance(`)
        if ident(tok) and prev is not None and prev.kind == "sym" and prev.text == "." and i >= 2:
            owner = tokens[i - 2]
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if owner.kind in {"word", "quoted"} and owner.text in pattern_vars and not (nxt and nxt.text == "("):
                props.add(tok.text)
            continue
        # keys of pattern property maps
        if ident(tok) and in_map and brace_kind and brace_kind[-1] == "props":
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is not None and nxt.kind == "sym" and nxt.text == ":" and prev is not None and prev.text in {"{", ","}:
                props.add(tok.text)
    return {"labels": labels, "rels": rels, "props": props}


def _in_label_expression(tokens: list[Token], i: int) -> bool:
    """For `|`, `&`, `!`: walk back over names and label operators to a `:`."""
    j = i - 1
    while j >= 0:
        t = tokens[j]
        if t.kind == "sym" and t.text == ":":
            return True
        if t.kind in {"word", "quoted"} or (t.kind == "sym" and t.text in {"|", "&", "!", "(", ")", "%"}):
            if t.kind == "sym" and t.text == "(" and j > 0 and tokens[j - 1].kind == "word":
                return False
            j -= 1
            continue
        return False
    return False


class ExpertInput(ToolInput):
    cypher: str = Field(min_length=1, max_length=20000, description=(
        "One read-only Cypher query. Put every value in `params` as $name, never inside the text."))
    params: dict[str, Any] = Field(default_factory=dict, description="Query parameters by name.")
    max_rows: int = Field(default=100, ge=1, le=1000)


class ExpertOutput(ToolOutput):
    columns: list[str]
    rows: list[dict[str, Any]]
    row_count: int
    truncated: bool
    ms: float


@tool
def expert_cypher(tb: Toolbox, args: ExpertInput) -> ExpertOutput:
    """Run one read-only Cypher query you write, for questions the other tools cannot answer; every label, relationship type and property it names must exist in the twin (unknown names are refused with the nearest real ones), values go in `params`.

    Labels: User, Group, Computer, Domain, Zone, Service, Package, Vulnerability, DataAsset,
    Alert, Internet, IP; every node has `key`. Host and network events are not graph nodes
    (only those an alert involves): `find_events` reads them."""
    try:
        text = screen(args.cypher)  # refuse early, before the schema round trips
    except GuardError:
        tb.run("expert_cypher", args.cypher, args.params)  # raises the same refusal, audited
        raise
    found = extract_identifiers(text)
    schema = tb.schema_names()
    unknown = _unknown(found, schema)
    if unknown:
        schema = tb.schema_names(refresh=True)
        unknown = _unknown(found, schema)
    if unknown:
        parts = []
        for kind, names in unknown.items():
            pool = {"labels": schema["labels"], "rels": schema["rels"], "props": schema["props"]}[kind]
            for name in sorted(names):
                near = difflib.get_close_matches(name, sorted(pool), n=3, cutoff=0.6)
                what = {"labels": "label", "rels": "relationship type", "props": "property"}[kind]
                parts.append(f"{what} {name!r} does not exist" + (f" (did you mean {', '.join(near)}?)" if near else ""))
        raise ToolError("unknown_schema", "; ".join(parts))
    res = tb.run("expert_cypher", text, args.params, row_cap=min(args.max_rows, tb.limits.row_cap))
    return ExpertOutput(columns=res.columns, rows=res.rows, row_count=len(res.rows), truncated=res.truncated,
                        ms=res.audit.ms)


def _unknown(found: dict[str, set[str]], schema: dict[str, frozenset[str]]) -> dict[str, set[str]]:
    out = {}
    for kind in ("labels", "rels", "props"):
        missing = {n for n in found[kind] if n not in schema[kind]}
        if missing:
            out[kind] = missing
    return out
