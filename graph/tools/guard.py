"""The one way any tool, agent or `twinsight query` reads the twin.

Three independent locks, because each alone has a known hole:

1. A static screen of the text. EXPLAIN calls `LOAD CSV` (reads server files),
   `SHOW TRANSACTIONS` (leaks other sessions' queries) and `TERMINATE TRANSACTIONS`
   "read" queries, so some things must be refused before the server sees them. The
   screen decides on the text the server will parse: Neo4j resolves `\\uXXXX` escapes
   in the whole query before it lexes it (so `\\u0027` closes a string, `\\u002a/` a
   comment, `\\u004cOAD` is LOAD), hence escapes are resolved first, as Neo4j does,
   and refused outside string literals or when they spell a quote, a backslash, a
   comment delimiter or a line break (resolve_escapes). The screen then tokenises the
   text itself (strings, backtick names, comments) so that a keyword inside a string
   is not mistaken for a clause, and a clause hidden behind a comment or a second
   statement is still seen; a few phrases are also searched in the raw text in case
   the tokeniser and Neo4j ever disagree on a boundary.
2. `EXPLAIN` on the server: the planner's query type must be `r`. It is decided by
   the text alone, so the verdict is cached per text (tools reuse a handful of
   fixed queries; the cache keeps the guard's cost near a raw driver call).
3. The query runs as `neo4j.Query(text, timeout=...)` in a session opened with
   `default_access_mode=READ`, i.e. in a READ transaction (an auto-commit one): Neo4j
   refuses a write there (`Neo.ClientError.Statement.AccessMode`) even on a single
   server (tests/test_tools_guard.py checks it with the first two locks bypassed).
   Auto-commit rather than `execute_read` / `begin_transaction`: one round trip
   (RUN+PULL) instead of two or three, which for the tools' millisecond look-ups is
   the difference between the guard costing more than the query and costing nothing.

Values reach the server only as parameters. Every run is bounded: rows (at most cap+1
are pulled, so the caller learns the answer was cut without the server streaming it
all), bytes read back (graph/tools/result_budget.py: one record can be huge) and time
(the transaction timeout, which the server enforces, and a client deadline after it).
What the server cannot stop by itself (an expression that fills the heap or loops
inside one row) the local server's watchdog stops (graph/neo4j_embedded/): the guard
then reports a `limit` or `timeout`, never a dead twin.
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

import neo4j
from neo4j import graph as neo_graph
from neo4j.exceptions import (
    ClientError,
    CypherSyntaxError,
    DriverError,
    Forbidden,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from graph.tools.result_budget import budget

MAX_QUERY_CHARS = 20_000
MAX_PARAM_BYTES = 1_000_000
DEFAULT_ROW_CAP = 1000
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
# The client gives up this long after the server should have stopped a query itself
# (a server without the local watchdog may not: see graph/neo4j_embedded/).
CLIENT_SLACK_S = 15.0
LOST_PATIENCE_S = 10.0  # how long a server that closed a connection under a query may take to answer again

# Read-only procedures a query may CALL: the schema look-ups expert_cypher needs.
READ_PROCEDURES: frozenset[str] = frozenset({
    "db.labels",
    "db.relationshiptypes",
    "db.propertykeys",
    "db.schema.visualization",
    "db.schema.nodetypeproperties",
    "db.schema.reltypeproperties",
})

# Namespaced functions a query may call (lower-case namespace -> allowed names or None
# for "any function of it"): temporal, spatial and vector helpers are pure.
FUNCTION_NAMESPACES: dict[str, frozenset[str] | None] = {
    "point": None,
    "date": None,
    "datetime": None,
    "localdatetime": None,
    "time": None,
    "localtime": None,
    "duration": None,
    "vector.similarity": None,
    "db": frozenset({"nameFromElementId".lower()}),
}

# Clause keywords that only a write, an import, an admin command or a transaction
# control can start. Words a query may reasonably use as variables (start, user,
# index) are left to EXPLAIN and the READ transaction instead.
BANNED_KEYWORDS: dict[str, str] = {
    "CREATE": "writes (CREATE)",
    "MERGE": "writes (MERGE)",
    "DELETE": "writes (DELETE)",
    "DETACH": "writes (DETACH DELETE)",
    "SET": "writes (SET)",
    "REMOVE": "writes (REMOVE)",
    "DROP": "changes the schema (DROP)",
    "FOREACH": "writes (FOREACH)",
    "INSERT": "writes (INSERT)",
    "LOAD": "reads server files (LOAD CSV)",
    "ALTER": "is an admin command (ALTER)",
    "GRANT": "is an admin command (GRANT)",
    "DENY": "is an admin command (DENY)",
    "REVOKE": "is an admin command (REVOKE)",
    "RENAME": "is an admin command (RENAME)",
    "TERMINATE": "is an admin command (TERMINATE)",
    "SHOW": "is an admin command (SHOW); use db.labels(), db.relationshipTypes(), db.propertyKeys()",
    "USE": "switches database (USE)",
    "ENABLE": "is an admin command (ENABLE)",
    "DEALLOCATE": "is an admin command (DEALLOCATE)",
    "REALLOCATE": "is an admin command (REALLOCATE)",
    "COMMIT": "controls transactions (COMMIT)",
    "PERIODIC": "controls transactions (PERIODIC COMMIT)",
    "TRANSACTIONS": "controls transactions (IN TRANSACTIONS)",
    "EXPLAIN": "carries its own EXPLAIN/PROFILE prefix",
    "PROFILE": "carries its own EXPLAIN/PROFILE prefix",
    "CYPHER": "carries query options (CYPHER ...)",
}

# Defence in depth against a tokeniser/server disagreement about where a string or a
# comment ends: these phrases are refused wherever they appear in the raw text.
_SEP = r"(?:\s|/\*.*?\*/|//[^\n\r]*(?:[\n\r]|$))+"
_RAW_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\bLOAD{_SEP}CSV\b", re.I | re.S), "reads server files (LOAD CSV)"),
    (re.compile(rf"\bPERIODIC{_SEP}COMMIT\b", re.I | re.S), "controls transactions (PERIODIC COMMIT)"),
    (re.compile(rf"\bIN{_SEP}TRANSACTIONS\b", re.I | re.S), "controls transactions (IN TRANSACTIONS)"),
    (re.compile(r"\b(?:apoc|dbms|gds)\s*\.", re.I), "calls a plugin or dbms procedure"),
]

_WHITESPACE = " \t\n\r\f\v"
_TX_METADATA = {"app": "twinsight-guard"}
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class GuardError(Exception):
    """A query the guard refused or that failed; `reason` is one line for a person or an LLM.

    `code`: `refused` (static screen), `not_read_only` (EXPLAIN), `syntax`,
    `params`, `limit` (more memory or result bytes than a read may take), `timeout`,
    `unavailable` or `failed` (any other server error)."""

    def __init__(self, code: str, reason: str, query: str | None = None) -> None:
        reason = " ".join(str(reason).split())[:400]
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.query = query

    @property
    def refused(self) -> bool:
        return self.code in {"refused", "not_read_only", "params", "limit"}

    def as_dict(self) -> dict:
        return {"code": self.code, "reason": self.reason}


@dataclass(frozen=True)
class Token:
    kind: str  # word | quoted | string | number | param | sym
    text: str
    pos: int
    end: int = -1  # offset after the token in the text (string tokens: after the closing quote)


_LEXER = re.compile(
    r"""(?P<ws>[ \t\n\r\f\v]+)
      |(?P<line_comment>//[^\n\r]*)
      |(?P<block_comment>/\*.*?\*/)
      |(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      |(?P<quoted>`(?:[^`]|``)*`)
      |(?P<param>\$(?:[A-Za-z_][A-Za-z0-9_]*|\d+|`(?:[^`]|``)*`))
      |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
      |(?P<number>0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)
      |(?P<sym>\.\.|->|<-|<>|<=|>=|=~|\+=|\|\||::|[!%&()*+,\-./:;<=>?@\[\]^{|}~])""",
    re.S | re.X,
)
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def tokenize(text: str) -> list[Token]:
    """Cypher tokens, comments dropped. Raises GuardError(refused) on anything a
    Cypher lexer would have to guess about: unterminated strings or comments,
    control or invisible characters anywhere, non-ASCII outside string literals."""
    m = _ASCII_CONTROL.search(text)
    if m:
        raise GuardError("refused", f"control or invisible character U+{ord(m.group(0)):04X} at offset {m.start()}")
    for i, c in enumerate(text):
        if not c.isascii() and unicodedata.category(c) in {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}:
            raise GuardError("refused", f"control or invisible character U+{ord(c):04X} at offset {i}")
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        m = _LEXER.match(text, i)
        if m is None:
            c = text[i]
            if c in "'\"":
                raise GuardError("refused", f"unterminated string literal at offset {i}")
            if c == "`":
                raise GuardError("refused", f"unterminated `quoted name` at offset {i}")
            if text.startswith("/*", i):
                raise GuardError("refused", f"unterminated /* comment at offset {i}")
            if c == "$":
                raise GuardError("refused", f"a lone $ at offset {i}")
            if not c.isascii():
                raise GuardError("refused", f"non-ASCII character U+{ord(c):04X} outside a string literal at offset {i}")
            raise GuardError("refused", f"unexpected character {c!r} at offset {i}")
        kind = m.lastgroup or ""
        tok = m.group(0)
        if kind == "string":
            out.append(Token("string", tok[1:-1], i, m.end()))
        elif kind == "quoted":
            name = tok[1:-1].replace("``", "`")
            if not name.isascii():
                raise GuardError("refused", f"non-ASCII character in a quoted name at offset {i}")
            out.append(Token("quoted", name, i))
        elif kind == "param":
            name = tok[1:]
            out.append(Token("param", name[1:-1].replace("``", "`") if name.startswith("`") else name, i))
        elif kind in {"word", "number", "sym"}:
            out.append(Token(kind, tok, i))
        i = m.end()
    return out


@dataclass(frozen=True)
class Escape:
    """One unicode escape in a query text: where it starts, how long it is, what it means."""

    pos: int
    length: int
    char: str


_HEX = frozenset("0123456789abcdefABCDEF")
# What an escape may not spell, because the screen's tokens would no longer be the
# server's: a quote or backtick ends a literal or a name, a backslash changes what the
# next character means, `/` and `*` make comment delimiters, a line break ends a `//`
# comment, and a control character is never needed in a query.
_ESCAPE_UNSAFE = frozenset("'\"`\\/*")


def find_escapes(text: str) -> list[Escape]:
    """The unicode escapes Neo4j resolves in the whole query text before it lexes it.

    As Neo4j 5.26's UnicodeEscapeReplacementReader does (checked against the server in
    tests/test_guard_attacks.py): a backslash followed by `u` starts an escape unless the
    backslash is itself escaped by an odd run of backslashes before it; the four
    characters after `u` are the code. Neo4j reads them with Integer.parseInt(_, 16),
    which also takes `+041`, `-041` and non-ASCII digits (`\\u٠٠٢٧` is a quote), so a
    code that is not four ASCII hex digits is refused rather than decoded. `\\U` with
    eight digits is a string escape of later Cypher versions (5.26 keeps it as text); it
    is reported too, so that what it would spell is screened like the rest.
    """
    out: list[Escape] = []
    escaped = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and not escaped and i + 1 < n and text[i + 1] in "uU":
            width = 4 if text[i + 1] == "u" else 8
            code = text[i + 2 : i + 2 + width]
            if len(code) != width or not all(h in _HEX for h in code):
                if width == 8:  # not an escape at all: `\\U` and text, as 5.26 reads it
                    escaped = False
                    i += 2
                    continue
                raise GuardError("refused", f"malformed unicode escape {text[i : i + 6]!r} at offset {i}: "
                                            "expected \\u and four hexadecimal digits")
            value = int(code, 16)
            if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                raise GuardError("refused", f"unicode escape {text[i : i + 2 + width]!r} at offset {i} is not a character")
            out.append(Escape(i, 2 + width, chr(value)))
            escaped = False
            i += 2 + width
            continue
        escaped = c == "\\" and not escaped
        i += 1
    return out


def resolve_escapes(text: str) -> str:
    """The text the server will lex: every `\\uXXXX` replaced by its character, after
    refusing escapes that would make the server's tokens differ from the screen's (an
    escape outside a string literal, or one that spells a quote, a backslash, a comment
    delimiter, a line break or a control character)."""
    escapes = find_escapes(text)
    if not escapes:
        return text
    for e in escapes:
        code = text[e.pos : e.pos + e.length]
        if e.char in _ESCAPE_UNSAFE or unicodedata.category(e.char) in {"Cc", "Cf", "Zl", "Zp"}:
            raise GuardError("refused", f"unicode escape {code} at offset {e.pos} spells {e.char!r}, which would "
                                        "change where a string, name or comment ends; write the character itself")
    # Where the string literals are, with each escape masked by as many harmless
    # characters: escapes spell nothing that moves a boundary, so these are the server's.
    masked = list(text)
    for e in escapes:
        masked[e.pos : e.pos + e.length] = "_" * e.length
    spans = [(t.pos, t.end) for t in tokenize("".join(masked)) if t.kind == "string"]
    for e in escapes:
        if not any(lo < e.pos and e.pos + e.length < hi for lo, hi in spans):
            code = text[e.pos : e.pos + e.length]
            raise GuardError("refused", f"unicode escape {code} at offset {e.pos} is outside a string literal "
                                        f"(the server would read {e.char!r} there)")
    parts: list[str] = []
    last = 0
    for e in escapes:
        if e.length != 6:
            continue  # \\U is left to the server's lexer, inside the string it belongs to
        parts += [text[last : e.pos], e.char]
        last = e.pos + e.length
    resolved = "".join(parts) + text[last:]
    if any(e.length == 6 for e in find_escapes(resolved)):
        raise GuardError("refused", "unicode escapes that spell further escapes")
    return resolved


def _is_keyword_position(tokens: list[Token], idx: int) -> bool:
    """A word is a clause keyword unless it is a property (`n.set`), a label (`:Set`)
    or a map key (`{set: 1}`)."""
    prev = tokens[idx - 1] if idx > 0 else None
    if prev is not None and prev.kind == "sym" and prev.text in {".", ":"}:
        return False
    nxt = tokens[idx + 1] if idx + 1 < len(tokens) else None
    return not (nxt is not None and nxt.kind == "sym" and nxt.text == ":" and prev is not None and prev.kind == "sym" and prev.text in {"{", ","})


def _dotted_name(tokens: list[Token], idx: int) -> tuple[str, int]:
    """`a.b.c` starting at tokens[idx] (a word); returns the name and the index after it."""
    parts = [tokens[idx].text]
    j = idx + 1
    while j + 1 < len(tokens) and tokens[j].kind == "sym" and tokens[j].text == "." and tokens[j + 1].kind in {"word", "quoted"}:
        parts.append(tokens[j + 1].text)
        j += 2
    return ".".join(parts), j


_SCREENED: OrderedDict[str, str] = OrderedDict()


def screen(text: str) -> str:
    """The static screen. Returns the statement to run (a trailing `;` removed) or
    raises GuardError('refused', reason). A pure function of the text, so accepted
    texts are remembered (the tools send the same few queries again and again)."""
    if isinstance(text, str) and text in _SCREENED:
        _SCREENED.move_to_end(text)
        return _SCREENED[text]
    out = _screen(text)
    _SCREENED[text] = out
    if len(_SCREENED) > 1024:
        _SCREENED.popitem(last=False)
    return out


def _screen(text: str) -> str:
    if not isinstance(text, str):
        raise GuardError("refused", "the query must be text")
    if len(text) > MAX_QUERY_CHARS:
        raise GuardError("refused", f"query longer than {MAX_QUERY_CHARS} characters")
    if not text.strip():
        raise GuardError("refused", "empty query")
    text = resolve_escapes(text)
    stripped = text.lstrip(_WHITESPACE)
    if stripped.startswith(":"):
        raise GuardError("refused", "client commands (:use, :param, :begin, ...) are not queries")
    for pattern, why in _RAW_PATTERNS:
        if pattern.search(text):
            raise GuardError("refused", f"the query {why}")
    tokens = tokenize(text)
    if not tokens:
        raise GuardError("refused", "empty query (only comments)")
    semis = [k for k, t in enumerate(tokens) if t.kind == "sym" and t.text == ";"]
    if semis:
        if semis != [len(tokens) - 1]:
            raise GuardError("refused", "multiple statements: send one query at a time")
        text = text[: tokens[-1].pos]
        tokens = tokens[:-1]
        if not tokens:
            raise GuardError("refused", "empty query")
    for k, tok in enumerate(tokens):
        if tok.kind == "quoted":
            _screen_function(tokens, k)
        if tok.kind != "word":
            continue
        upper = tok.text.upper()
        if upper in BANNED_KEYWORDS and _is_keyword_position(tokens, k):
            raise GuardError("refused", f"the query {BANNED_KEYWORDS[upper]}: only reads are allowed")
        if upper == "CALL" and _is_keyword_position(tokens, k):
            nxt = tokens[k + 1] if k + 1 < len(tokens) else None
            if nxt is None:
                raise GuardError("refused", "CALL without a procedure or subquery")
            if nxt.kind == "sym" and nxt.text in {"{", "("}:
                continue  # a subquery: its clauses are screened like the rest
            if nxt.kind not in {"word", "quoted"}:
                raise GuardError("refused", "CALL of something that is not a procedure name")
            name, _ = _dotted_name(tokens, k + 1)
            if name.lower() not in READ_PROCEDURES:
                raise GuardError(
                    "refused",
                    f"procedure {name} is not allowed (allowed: db.labels, db.relationshipTypes, "
                    "db.propertyKeys, db.schema.*)",
                )
        _screen_function(tokens, k)
    return text


def _screen_function(tokens: list[Token], k: int) -> None:
    """A namespaced function call `a.b(...)` starting at tokens[k] must be one of the
    pure ones (FUNCTION_NAMESPACES); names in backticks count alike (`dbms`.`x`())."""
    if k > 0 and tokens[k - 1].text == ".":
        return
    name, end = _dotted_name(tokens, k)
    if "." not in name or end >= len(tokens) or tokens[end].kind != "sym" or tokens[end].text != "(":
        return
    prev = tokens[k - 1] if k > 0 else None
    if prev is not None and prev.kind == "word" and prev.text.upper() == "CALL":
        return  # a procedure: screened by the CALL rule
    ns, _, fn = name.lower().rpartition(".")
    allowed = FUNCTION_NAMESPACES.get(ns, frozenset())
    if ns not in FUNCTION_NAMESPACES or (allowed is not None and fn not in allowed):
        raise GuardError("refused", f"function {name}() is not allowed (plugins and dbms functions are off)")


def check_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Parameters are data: plain JSON-like values under identifier names, at most
    MAX_PARAM_BYTES in all (numbers count 8 bytes each, so a list of ten million
    integers is as refused as ten megabytes of text)."""
    params = dict(params or {})
    size = [0]

    def add(n: int) -> None:
        size[0] += n
        if size[0] > MAX_PARAM_BYTES:
            raise GuardError("params", f"parameters are larger than {MAX_PARAM_BYTES} bytes")

    def walk(v: Any, depth: int, where: str) -> None:
        if depth > 8:
            raise GuardError("params", f"parameter {where} is nested too deeply")
        if v is None or isinstance(v, bool):
            add(1)
            return
        if isinstance(v, int):
            if not -(2**63) <= v < 2**63:
                raise GuardError("params", f"parameter {where} is outside the 64-bit integer range")
            add(8)
            return
        if isinstance(v, float):
            if math.isnan(v) or math.isinf(v):
                raise GuardError("params", f"parameter {where} is not a finite number")
            add(8)
            return
        if isinstance(v, str):
            add(len(v))
            return
        if isinstance(v, (list, tuple)):
            add(1)
            for i, x in enumerate(v):
                walk(x, depth + 1, f"{where}[{i}]")
            return
        if isinstance(v, dict):
            add(1)
            for key, x in v.items():
                if not isinstance(key, str):
                    raise GuardError("params", f"parameter {where} has a non-text key")
                add(len(key))
                walk(x, depth + 1, f"{where}.{key}")
            return
        raise GuardError("params", f"parameter {where} has unsupported type {type(v).__name__}")

    for name, value in params.items():
        if not isinstance(name, str) or not _PARAM_NAME.match(name):
            raise GuardError("params", f"parameter name {name!r} is not an identifier")
        walk(value, 0, f"${name}")
    return params


def to_plain(value: Any) -> Any:
    """Driver values as JSON-ready values: a node by its key and labels, a path by its
    keys and edge types, temporal values as ISO text."""
    if isinstance(value, neo_graph.Node):
        props = {k: to_plain(v) for k, v in sorted(value.items())}
        return {"key": props.pop("key", None), "labels": sorted(value.labels), "props": props}
    if isinstance(value, neo_graph.Relationship):
        return {
            "type": value.type,
            "start": value.start_node.get("key") if value.start_node is not None else None,
            "end": value.end_node.get("key") if value.end_node is not None else None,
            "props": {k: to_plain(v) for k, v in sorted(value.items())},
        }
    if isinstance(value, neo_graph.Path):
        return {
            "nodes": [n.get("key") for n in value.nodes],
            "edges": [r.type for r in value.relationships],
        }
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "iso_format"):
        return value.iso_format()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


@dataclass
class AuditRecord:
    """What ran, for whom and how it went: the agents' `cypher_queries` and the report
    are built from these."""

    tool: str
    parameters: dict[str, Any]
    query: str
    rows: int = 0
    ms: float = 0.0
    truncated: bool = False
    ok: bool = True
    error: str | None = None
    at: float = field(default_factory=time.time)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class GuardResult:
    rows: list[dict[str, Any]]
    columns: list[str]
    truncated: bool
    audit: AuditRecord


class Guard:
    """Read-only execution against one database, with limits and an audit trail."""

    def __init__(
        self,
        driver: neo4j.Driver,
        database: str | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        row_cap: int = DEFAULT_ROW_CAP,
        max_bytes: int = DEFAULT_MAX_BYTES,
        audit: list[AuditRecord] | None = None,
        plan_cache_size: int = 512,
    ) -> None:
        self.driver = driver
        self.database = database
        self.timeout_s = timeout_s
        self.row_cap = row_cap
        self.max_bytes = max_bytes
        self.audit: list[AuditRecord] = audit if audit is not None else []
        self._plans: OrderedDict[str, str] = OrderedDict()
        # (query, params) of every query that reached the server, when a caller wants
        # to replay them (the benchmark compares each tool with its raw Cypher).
        self.trace: list[tuple[str, dict]] | None = None
        self._plan_cache_size = plan_cache_size

    def _cached_type(self, text: str) -> str | None:
        qt = self._plans.get(text)
        if qt is not None:
            self._plans.move_to_end(text)
        return qt

    def _remember(self, text: str, query_type: str) -> None:
        self._plans[text] = query_type
        if len(self._plans) > self._plan_cache_size:
            self._plans.popitem(last=False)

    def run(
        self,
        query: str,
        params: dict[str, Any] | None = None,
        *,
        tool: str = "query",
        row_cap: int | None = None,
        timeout_s: float | None = None,
        max_bytes: int | None = None,
        raw: bool = False,
    ) -> GuardResult:
        """Screen, EXPLAIN, run read-only; every call leaves an AuditRecord, refused or not.
        Bounded in rows (`row_cap`), in bytes read back (`max_bytes`) and in time
        (`timeout_s`, enforced by the server; the client gives up CLIENT_SLACK_S later).
        `raw=True` keeps driver values (nodes, paths) for tools that read them directly."""
        cap = max(1, int(row_cap if row_cap is not None else self.row_cap))
        timeout = float(timeout_s if timeout_s is not None else self.timeout_s)
        limit = max(1024, int(max_bytes if max_bytes is not None else self.max_bytes))
        record = AuditRecord(tool=tool, parameters=_audit_params(params), query=str(query)[:MAX_QUERY_CHARS])
        t0 = time.perf_counter()
        try:
            text = screen(query)
            checked = check_params(params)
            if self.trace is not None:
                self.trace.append((text, checked))
            rows, columns, truncated = self._execute(text, checked, cap, timeout, limit, raw)
        except GuardError as exc:
            record.ok, record.error = False, f"{exc.code}: {exc.reason}"
            record.ms = round((time.perf_counter() - t0) * 1000, 3)
            self.audit.append(record)
            exc.query = record.query
            raise
        record.rows, record.truncated = len(rows), truncated
        record.ms = round((time.perf_counter() - t0) * 1000, 3)
        self.audit.append(record)
        return GuardResult(rows=rows, columns=columns, truncated=truncated, audit=record)

    def _execute(self, text: str, params: dict, cap: int, timeout: float, max_bytes: int, raw: bool):
        cached = self._cached_type(text)
        started = time.monotonic()
        with budget(max_bytes, timeout + CLIENT_SLACK_S) as spent:
            try:
                keys, records, truncated = self._pull(text, params, cap, timeout, cached)
            except GuardError:
                raise
            except (ServiceUnavailable, SessionExpired) as exc:
                exceeded = spent.exceeded or ("time" if time.monotonic() - started >= timeout else None)
                raise self._lost(exc, exceeded, timeout, max_bytes) from None
            except Neo4jError as exc:
                raise _server_error(exc, timeout) from None
            except DriverError as exc:
                raise GuardError("failed", _neo_message(exc)) from None
        if raw:
            rows = [dict(zip(keys, rec.values(), strict=True)) for rec in records]
        else:
            rows = [{k: to_plain(v) for k, v in zip(keys, rec.values(), strict=True)} for rec in records]
        return rows, keys, truncated

    def _pull(self, text: str, params: dict, cap: int, timeout: float, cached: str | None):
        with self.driver.session(
            database=self.database,
            default_access_mode=neo4j.READ_ACCESS,
            fetch_size=cap + 1,
            notifications_min_severity="OFF",
        ) as session:
            if cached is None:
                explain = neo4j.Query("EXPLAIN " + text, timeout=timeout, metadata=_TX_METADATA)  # type: ignore[arg-type]
                qtype = session.run(explain, params).consume().query_type
                if qtype != "r":
                    raise GuardError(
                        "not_read_only",
                        f"EXPLAIN says the query is of type {qtype!r}, not read-only ('r')",
                    )
                self._remember(text, qtype)
            result = session.run(neo4j.Query(text, timeout=timeout, metadata=_TX_METADATA), params)  # type: ignore[arg-type]
            keys = list(result.keys())
            records: list = []
            truncated = False
            for rec in result:
                if len(records) >= cap:
                    truncated = True
                    break
                records.append(rec)
        return keys, records, truncated

    def _lost(self, exc: Exception, exceeded: str | None, timeout: float, max_bytes: int) -> GuardError:
        """The connection ended under the query: our own budget closed it, the server's
        watchdog did (the server is still up: past the timeout it was the time, before
        it the memory), or the server is gone."""
        if exceeded == "bytes":
            return GuardError("limit", f"the result is larger than {max_bytes} bytes; return fewer rows or "
                                       "smaller values (LIMIT, fewer columns, no long lists)")
        # A server busy unwinding the stopped query (a full collection of a pressed heap)
        # may answer late: it is given LOST_PATIENCE_S before it is called unreachable.
        deadline = time.monotonic() + LOST_PATIENCE_S
        while True:
            try:
                self.driver.verify_connectivity()
                break
            except (DriverError, Neo4jError):
                if time.monotonic() >= deadline:
                    return GuardError("unavailable", f"the twin cannot be reached: {_neo_message(exc)}")
                time.sleep(0.5)
        if exceeded == "time":
            return GuardError("timeout", f"the query ran longer than {timeout:g}s and was stopped")
        return GuardError("limit", "the server stopped the query and closed its connection: it took more memory "
                                   "than a read may; ask for fewer or smaller values")


_MEMORY_CODES = ("MemoryLimit", "MemoryPoolOutOfMemory", "OutOfMemory", "TransactionMemory")


def _server_error(exc: Neo4jError, timeout: float) -> GuardError:
    """A server error as the GuardError a caller (or a model) can act on."""
    code = exc.code or ""
    if isinstance(exc, CypherSyntaxError):
        return GuardError("syntax", _neo_message(exc))
    if isinstance(exc, Forbidden) or "AccessMode" in code or "Forbidden" in code or "Security" in code:
        return GuardError("not_read_only", _neo_message(exc))
    if _size_overflow(exc):
        return GuardError("limit", "a value grew past the largest the server can hold (a string or list "
                                   "doubled too often); build smaller values")
    if any(m in code for m in _MEMORY_CODES) or _says_out_of_memory(exc):
        return GuardError("limit", f"the query needs more memory than a read may use ({code.rsplit('.', 1)[-1]}); "
                                   "ask for fewer or smaller values")
    if "TransactionTimedOut" in code or "Terminated" in code:
        return GuardError("timeout", f"the query ran longer than {timeout:g}s and was stopped")
    if isinstance(exc, ClientError):
        if "ParameterMissing" in code or "Parameter" in code:
            return GuardError("params", _neo_message(exc))
        if "SyntaxError" in code or "Statement" in code:
            return GuardError("syntax", _neo_message(exc))
    return GuardError("failed", _neo_message(exc))


def _says_out_of_memory(exc: Neo4jError) -> bool:
    """A JVM allocation failure can reach us under a general code (UnknownError,
    ExecutionFailed) with only its message saying what it was."""
    msg = (getattr(exc, "message", None) or str(exc) or "").lower()
    return any(m in msg for m in ("outofmemory", "java heap space", "requested array size exceeds",
                                  "string length out of range", "memory limit"))


def _size_overflow(exc: Neo4jError) -> bool:
    """A value grown past what one JVM array holds (a string doubled 31 times) fails as
    NegativeArraySizeException, which reaches us as ExecutionFailed with only the
    overflowed size for a message: the same limit as running out of memory."""
    msg = (getattr(exc, "message", None) or str(exc) or "").strip()
    return "ExecutionFailed" in (exc.code or "") and re.fullmatch(r"-\d+", msg) is not None


def _neo_message(exc: BaseException) -> str:
    msg = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(msg).split())[:300]


def _audit_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """A bounded copy for the audit log (a huge list parameter is summarised)."""
    out: dict[str, Any] = {}
    for k, v in (params or {}).items():
        if isinstance(v, (list, tuple)) and len(v) > 20:
            out[str(k)] = [*list(v[:20]), f"... {len(v) - 20} more"]
        elif isinstance(v, str) and len(v) > 500:
            out[str(k)] = v[:500] + "..."
        else:
            out[str(k)] = v
    return out
