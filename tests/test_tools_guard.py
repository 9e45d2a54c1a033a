"""The guard: every write, admin or escape attempt refused, the twin unchanged after each.

SHOW commands are refused too (decision): SHOW TRANSACTIONS and SHOW SETTINGS leak
other sessions' queries and the server's configuration, and EXPLAIN calls them reads;
the schema is available through the allowed db.labels() / db.relationshipTypes() /
db.propertyKeys() / db.schema.* procedures instead.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.schema import describe_schema
from graph.tools import vocab
from graph.tools.guard import Guard, GuardError, screen, tokenize

ATTEMPTS = [
    # plain writes
    "CREATE (n:X) RETURN n",
    "MERGE (n:User {key: 'X'}) RETURN n",
    "MATCH (n) DELETE n",
    "MATCH (n) DETACH DELETE n",
    "MATCH ()-[r]->() DELETE r",
    "MATCH (n:User) SET n.enabled = false",
    "MATCH (n) SET n += {pwned: true}",
    "MATCH (n) SET n:Pwned",
    "MATCH (n:User) REMOVE n.enabled",
    "MATCH (n:User) REMOVE n:User",
    "MERGE (a:User {key: 'A'})-[:AdminTo]->(b:Computer {key: 'B'})",
    "MATCH (a:User), (b:Computer) CREATE (a)-[:AdminTo]->(b)",
    "OPTIONAL MATCH (n) SET n.x = 1",
    "MATCH (n) WITH n INSERT (:X)",
    "MATCH (n) FOREACH (x IN [1] | SET n.pwned = x)",
    "FOREACH (i IN range(1, 3) | CREATE (:X))",
    "UNWIND range(1, 10) AS i CALL (i) { CREATE (:X) } RETURN i",
    "CALL db.labels() YIELD label CREATE (:X {l: label})",
    "MATCH (n) WHERE n.key = $k DETACH DELETE n",
    # imports and batching
    "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l",
    "LOAD CSV WITH HEADERS FROM 'https://example.invalid/x.csv' AS l CREATE (:X {v: l.a})",
    "load /* hidden */ csv FROM 'file:///etc/hosts' AS l RETURN l",
    "USING PERIODIC COMMIT LOAD CSV FROM 'file:///x' AS l CREATE (:X)",
    "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10 ROWS",
    "MATCH (n) CALL { WITH n SET n.x = 1 } IN TRANSACTIONS",
    # procedures and plugins
    "CALL dbms.components()",
    "CALL dbms.listConfig()",
    "CALL dbms.security.createUser('eve', 'pw', false)",
    "CALL `dbms`.`components`()",
    "CALL db.createLabel('Pwned')",
    "call DB.CREATEPROPERTY('pwned')",
    "CALL db.clearQueryCaches()",
    "CALL db.index.fulltext.createNodeIndex('x', ['User'], ['name'])",
    "CALL apoc.periodic.iterate('MATCH (n) RETURN n', 'DETACH DELETE n', {})",
    "CALL apoc.cypher.runWrite('CREATE (:X)', {})",
    "RETURN apoc.version()",
    "RETURN gds.version()",
    # schema and admin
    "CREATE INDEX pwn FOR (n:User) ON (n.x)",
    "CREATE CONSTRAINT pwn FOR (n:User) REQUIRE n.x IS UNIQUE",
    "DROP CONSTRAINT twin_key",
    "DROP INDEX twin_name",
    "ALTER USER neo4j SET PASSWORD 'x'",
    "GRANT ROLE admin TO eve",
    "REVOKE ROLE admin FROM neo4j",
    "CREATE USER eve SET PASSWORD 'secret123'",
    "CREATE DATABASE pwn",
    "STOP DATABASE neo4j",
    "DEALLOCATE DATABASES FROM SERVER 'x'",
    "USE system SHOW USERS",
    "USE system MATCH (n) RETURN n",
    "SHOW USERS",
    "SHOW TRANSACTIONS",
    "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "SHOW SETTINGS",
    "SHOW INDEXES",
    # client commands, prefixes
    ":use system",
    "   :param x => 1",
    "EXPLAIN CREATE (:X)",
    "PROFILE MATCH (n) SET n.x = 1",
    "CYPHER runtime=slotted CREATE (:X)",
    # several statements, comments, unicode
    "MATCH (n) RETURN n; MATCH (m) DETACH DELETE m",
    "RETURN 1; CREATE (:X)",
    "RETURN 1 // harmless\n; CREATE (:X)",
    "RETURN 1 \n;\n CREATE (:X)",
    "RETURN 1 /* ; */ CREATE (:X)",
    "RETURN 1 /* unterminated comment CREATE (:X)",
    "RETURN 'unterminated string CREATE (:X)",
    "MATCH (n) RETURN n\u200b; CREATE (:X)",
    "\uff23\uff32\uff25\uff21\uff34\uff25 (:X)",
    "MATCH (n) RETURN n\u0000",
    "RETURN 'x\\'' CREATE (:X)",
    "RETURN 'a' + \"b\"; CREATE (:X)",
    "MATCH (n:`User`) DETACH DELETE n",
    "RETURN 1 // a comment that ends at a carriage return\rCREATE (:X)",
    "RETURN 1 \\ CREATE (:X)",
    "MATCH (n) RETURN n /* hidden */ ; /* statement */ CREATE (:X)",
]


@pytest.fixture(scope="module")
def guard(corp):
    return Guard(corp.driver, corp.database, timeout_s=5)


def test_corpus_is_large_enough():
    assert len(ATTEMPTS) >= 50
    assert len(set(ATTEMPTS)) == len(ATTEMPTS)


@pytest.mark.parametrize("query", ATTEMPTS)
def test_attempt_refused_and_twin_unchanged(corp, guard, query):
    before = corp.snapshot()
    schema_before = describe_schema(corp.driver, corp.database)
    with pytest.raises(GuardError) as info:
        guard.run(query, {"k": "WS01.CORP.LOCAL"}, tool="test")
    err = info.value
    assert err.code in {"refused", "not_read_only", "syntax"}
    assert "\n" not in err.reason and err.reason
    assert guard.audit[-1].ok is False and guard.audit[-1].query == query
    assert corp.snapshot() == before
    assert describe_schema(corp.driver, corp.database) == schema_before


def test_explain_catches_what_the_screen_lets_through(corp, guard, monkeypatch):
    """With CREATE taken off the screen's list, EXPLAIN still refuses the write: the
    screen is not the only lock."""
    from graph.tools import guard as guard_mod

    before = corp.snapshot()
    banned = {k: v for k, v in guard_mod.BANNED_KEYWORDS.items() if k != "CREATE"}
    monkeypatch.setattr(guard_mod, "BANNED_KEYWORDS", banned)
    with pytest.raises(GuardError) as info:
        guard.run("CREATE (n:Pwned {key: 'P'}) RETURN n", tool="test")
    assert info.value.code == "not_read_only"
    assert corp.snapshot() == before


def test_read_transaction_is_the_last_lock(corp, monkeypatch):
    """With the screen and EXPLAIN both bypassed, the READ transaction refuses a write."""
    from graph.tools import guard as guard_mod

    g = Guard(corp.driver, corp.database)
    query = "MATCH (n:User {key: 'ALICE@CORP.LOCAL'}) SET n.pwned = true"
    before = corp.snapshot()
    g._remember(query, "r")  # a poisoned plan cache: EXPLAIN is skipped
    monkeypatch.setattr(guard_mod, "screen", lambda text: text)
    with pytest.raises(GuardError) as info:
        g.run(query)
    assert info.value.code == "not_read_only"
    assert corp.snapshot() == before


@pytest.mark.parametrize("value", [
    "x'}) DETACH DELETE n //",
    "WS01.CORP.LOCAL\"}) MATCH (m) DETACH DELETE m //",
    "`; CREATE (:X) //",
    "$k",
])
def test_injection_through_parameter_values_is_inert(corp, guard, value):
    before = corp.snapshot()
    res = guard.run("MATCH (n:Twin {key: $k}) RETURN n.key AS key", {"k": value}, tool="test")
    assert res.rows == []
    assert corp.snapshot() == before


@pytest.mark.parametrize("name", ["k) DETACH DELETE (n", "k`", "1k", "", "k k"])
def test_injection_through_parameter_names_refused(guard, name):
    with pytest.raises(GuardError) as info:
        guard.run("RETURN 1 AS x", {name: 1}, tool="test")
    assert info.value.code == "params"


@pytest.mark.parametrize("name", ["User) DETACH DELETE (n", "User`", "Pwned", "user", "MemberOf|CREATE"])
def test_labels_only_from_the_vocabulary(name):
    with pytest.raises(ValueError):
        vocab.label(name)
    with pytest.raises(ValueError):
        vocab.rel_type(name)


def test_vocabulary_accepts_the_model():
    assert vocab.label("Computer") == "Computer"
    assert vocab.rel_alternation(["MemberOf", "AdminTo"]) == "MemberOf|AdminTo"


def test_injection_through_tool_keys_is_inert(corp):
    from graph.tools.base import Toolbox

    tb = Toolbox(corp.driver, corp.database)
    before = corp.snapshot()
    for key in ["x'}) DETACH DELETE n //", "WS01.CORP.LOCAL'}) SET n.x=1 //"]:
        out = tb.call_tool("entity_context", {"key": key})
        assert out["found"] is False
        out = tb.call_tool("attack_paths", {"target": key})
        assert out["paths"] == [] and "not in the twin" in out["note"]
        out = tb.call_tool("resolve_entities", {"names": [key]})
        assert out["results"][0]["status"] == "not_found"
    out = tb.call_tool("expert_cypher", {"cypher": "MATCH (n:`User) DETACH DELETE (n`) RETURN n"})
    assert out["error"]["type"] in {"refused", "unknown_schema"}
    assert corp.snapshot() == before


@pytest.mark.parametrize("query", [
    "MATCH (n:User) RETURN n.key AS k ORDER BY k",
    "MATCH (n:User) RETURN n.key AS k ORDER BY k;",
    "CALL db.labels() YIELD label RETURN label",
    "CALL db.relationshipTypes()",
    "CALL db.schema.nodeTypeProperties()",
    "MATCH (n) WHERE n.key = 'CREATE (:X)' RETURN n",
    "MATCH (n:User) RETURN n.set AS s, n {.key, set: 1} AS m LIMIT 1",
    "MATCH (n:User) CALL (n) { MATCH (n)-[:MemberOf]->(g) RETURN count(g) AS c } RETURN n.key, c",
    "MATCH (n:User) WHERE COUNT { (n)-[:MemberOf]->() } > 0 RETURN n.key",
    "MATCH p = SHORTEST 1 (a:User)-[:MemberOf]->+(b:Group) RETURN length(p) LIMIT 3",
    "RETURN datetime.fromepoch(1700000000, 0) AS t, point.distance(point({x: 0, y: 0}), point({x: 3, y: 4})) AS d",
    "// a comment\nMATCH (n:Computer) /* and another */ RETURN count(n)",
])
def test_reads_are_allowed(corp, guard, query):
    before = corp.snapshot()
    res = guard.run(query, tool="test")
    assert isinstance(res.rows, list) and res.columns
    assert res.audit.ok and res.audit.rows == len(res.rows)
    assert corp.snapshot() == before


def test_row_cap_and_truncation(guard):
    res = guard.run("UNWIND range(1, 50) AS x RETURN x", row_cap=10, tool="test")
    assert [r["x"] for r in res.rows] == list(range(1, 11))
    assert res.truncated and res.audit.truncated
    res = guard.run("UNWIND range(1, 10) AS x RETURN x", row_cap=10, tool="test")
    assert len(res.rows) == 10 and not res.truncated


def test_timeout_is_a_typed_error(guard):
    with pytest.raises(GuardError) as info:
        guard.run("UNWIND range(1, 300000000) AS x WITH x WHERE x % 7 = 3 RETURN count(*) AS c",
                  timeout_s=0.3, tool="test")
    assert info.value.code == "timeout"


def test_audit_record_fields(guard):
    res = guard.run("MATCH (n:Twin {key: $k}) RETURN n", {"k": "WS07.CORP.LOCAL"}, tool="unit")
    rec = res.audit.as_dict()
    assert rec["tool"] == "unit" and rec["parameters"] == {"k": "WS07.CORP.LOCAL"}
    assert rec["rows"] == 1 and rec["ms"] > 0 and rec["truncated"] is False and rec["ok"] is True
    node = res.rows[0]["n"]
    assert node["key"] == "WS07.CORP.LOCAL" and "Computer" in node["labels"]


def test_syntax_error_is_one_line(guard):
    with pytest.raises(GuardError) as info:
        guard.run("MATCH (n RETURN n", tool="test")
    assert info.value.code == "syntax" and "\n" not in info.value.reason


_PIECES = list("()[]{}:;.,'\"`/*-<>=|$ \n\t\\") + [
    "MATCH ", "RETURN ", "CREATE ", "CALL ", "n", "x", "1", "db.labels", "//", "/*", "*/", "DELETE ", "SET ",
    "\u200b", "\u00e9", "LOAD CSV ", "apoc.", "USE ", "{set: 1}",
]
_CYPHERISH = st.lists(st.sampled_from(_PIECES), max_size=25).map("".join)


_WRITE_WORDS = {"CREATE", "DELETE", "SET"}


@settings(max_examples=300, deadline=None)
@given(_CYPHERISH)
def test_screen_never_crashes(text):
    try:
        out = screen(text)
    except GuardError as exc:
        assert exc.reason and "\n" not in exc.reason
        return
    toks = tokenize(out)
    for i, tok in enumerate(toks):
        if tok.kind == "word" and tok.text.upper() in _WRITE_WORDS:
            prev = toks[i - 1].text if i else ""
            nxt = toks[i + 1].text if i + 1 < len(toks) else ""
            assert prev in {".", ":"} or (nxt == ":" and prev in {"{", ","}), out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_CYPHERISH)
def test_guard_on_random_text_never_writes(corp, guard, text):
    before = corp.counts()
    with contextlib.suppress(GuardError):
        guard.run(text, tool="fuzz", timeout_s=2)
    assert corp.counts() == before
