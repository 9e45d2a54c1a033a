"""The adversarial review of the read-only guard, replayed against the real server.

One corpus of attacks per class (unicode escapes that close strings and comments or spell
keywords, LOAD CSV, SHOW / TERMINATE / USE, IN TRANSACTIONS, dbms procedures and
functions, comment and subquery tricks): every attempt must be refused and the twin left
as it was. Then the server itself: file and remote URLs refused even when a query gets
past the guard, and the bombs (lists, strings, reduce, huge rows, cartesian products)
refused or stopped with the server alive, same pid, not burning a core afterwards.

With TWINSIGHT_GUARD_REPORT=path the tally (tried / refused per class, and time and peak
server memory per bomb) is written there as JSON.
"""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
from pathlib import Path

import neo4j
import pytest
from neo4j.exceptions import Neo4jError

from graph import server
from graph.schema import describe_schema
from graph.tools.guard import Guard, GuardError, find_escapes, resolve_escapes, screen

Q = "\\u0027"  # an escaped quote, as typed into a query (backslash, u, 0027)

C = "/* \\u002a/"  # opens and, for the server only, closes a comment: what follows is live

ATTACKS: dict[str, list[str]] = {
    # The review's exploits: an escape ends a comment or string for the server only, and
    # the live text behind it spells its keywords with escapes, so that nothing in the
    # raw text looks like LOAD CSV, SHOW, dbms. or IN TRANSACTIONS.
    "escape_bypass": [
        f"WITH 1 AS a {C} \\u004cOAD CSV FROM 'file:///etc/passwd' AS l /* */ RETURN a",
        f"WITH 1 AS a {C} \\u004c\\u004f\\u0041\\u0044 CSV FROM 'http://127.0.0.1:7474/' AS l /* */ RETURN a",
        f"{C} SHOW TRANSACTIONS YIELD currentQuery, parameters /* */ RETURN 1 AS x",
        f"{C} \\u0053HOW SETTINGS YIELD name, value /* */ RETURN 1 AS x",
        f"{C} TERMINATE TRANSACTIONS 'neo4j-transaction-1' YIELD message /* */ RETURN 1 AS x",
        f"WITH 1 AS a {C} CALL \\u0064bms.components() YIELD name /* */ RETURN a",
        f"UNWIND [1] AS i CALL {{ RETURN 1 AS x }} {C} \\u0049N TRANSACTIONS /* */ RETURN x",
        f"{C} \\u0055SE system /* */ MATCH (n) RETURN count(n) AS x",
        "RETURN 'x\\u0027 AS a, 1 AS \\u004cOAD //' AS z",
        "WITH 'x\\u0027 AS a \\u004cOAD CSV FROM \\u0027file:///etc/passwd\\u0027 AS l //' AS z RETURN z",
    ],
    # A \u0027 closes the string for the server, not for a screen that reads the raw text.
    "escape_closes_string": [
        f"RETURN 'x{Q} + 1 AS a LOAD CSV FROM {Q}file:///etc/passwd{Q} AS l RETURN l //'",
        f"RETURN 'x{Q} AS a LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l, a //'",
        f"MATCH (n) WHERE n.key = 'a{Q} OR true WITH n LIMIT 1 LOAD CSV FROM {Q}file:///etc/hosts{Q} AS l RETURN l //' RETURN n",
        'RETURN "x\\u0022 AS a SHOW TRANSACTIONS //"',
        f"RETURN 'x{Q} AS a CALL {{ SHOW SETTINGS YIELD name RETURN name }} RETURN a, name //'",
        f"RETURN 'x{Q} AS a TERMINATE TRANSACTIONS {Q}neo4j-transaction-1{Q} //'",
        f"RETURN 'x{Q} AS a UNWIND [1] AS i CALL {{ RETURN 1 AS z }} IN TRANSACTIONS RETURN a //'",
        f"RETURN 'x{Q} AS a CALL dbms.components() YIELD name RETURN name //'",
        "RETURN 'x\\u0027 AS a LOAD CSV FROM 'http://127.0.0.1:7474/' AS l RETURN l //'",
        f"WITH 'a{Q} AS s LOAD CSV FROM {Q}file:///proc/self/environ{Q} AS l RETURN l //' AS t RETURN t",
        "RETURN 'x\\u005C' AS a, 1 AS b",
        "RETURN 'x\\u005c\\u0027 LOAD CSV FROM \"file:///etc/passwd\" AS l RETURN l //'",
    ],
    # A \u002a/ ends a block comment for the server; \u000a ends a line comment.
    "escape_closes_comment": [
        "RETURN 1 AS a /* \\u002a/ LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l /* */",
        "RETURN 1 AS a /* \\u002A/ SHOW TRANSACTIONS /* */",
        "RETURN 1 AS a // \\u000a LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l",
        "RETURN 1 AS a // \\u000d SHOW SETTINGS",
        "RETURN 1 AS a // \\u000A TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
        "RETURN 1 AS a \\u002f* hidden *\\u002f",
        "RETURN 1 AS a /\\u002a x */ , 2 AS b",
        "RETURN 1 AS a // \\u2028 CALL dbms.listConfig()",
        "RETURN 1 AS a // \\u0085 SHOW USERS",
        "/\\u002a*/ LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l",
    ],
    # Escaped keywords: the screen must not read `\u004cOAD` as some harmless word.
    "escape_spells_keyword": [
        "\\u004c\\u004f\\u0041\\u0044 CSV FROM 'file:///etc/passwd' AS l RETURN l",
        "LOAD \\u0043SV FROM 'file:///etc/passwd' AS l RETURN l",
        "\\u0053HOW TRANSACTIONS",
        "S\\u0048OW SETTINGS",
        "\\u0054ERMINATE TRANSACTIONS 'neo4j-transaction-1'",
        "\\u0055SE system SHOW USERS",
        "UNWIND [1] AS i CALL { RETURN 1 AS z } IN \\u0054RANSACTIONS RETURN i",
        "CALL \\u0064bms.components()",
        "CALL db\\u002elabels()",
        "RETURN 1 AS \\u0061",
        "M\\u0041TCH (n) RETURN n",
        "MATCH (n) \\u0043REATE (:X)",
    ],
    # Eight-digit escapes (Cypher 25 strings) and codes Integer.parseInt would take.
    "escape_8digit_and_malformed": [
        "RETURN 'x\\U00000027 + 1 AS a LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l //'",
        "RETURN 'x\\U0000000A' AS a",
        "RETURN 1 AS \\U00000061",
        "RETURN 'x\\u+027 + 1 AS a //'",
        "RETURN 'x\\u-027' AS a",
        "RETURN 'x\\u\u0660\u0660\u0662\u0667 AS a LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l //'",
        "RETURN 'x\\u\uff10\uff10\uff12\uff17' AS a",
        "RETURN 'x\\u27' AS a",
        "RETURN 'x\\uuuu0027' AS a",
        "RETURN 'x\\ud800' AS a",
    ],
    "load_csv": [
        "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l",
        "load csv from 'file:///etc/passwd' as l return l",
        "LoAd CsV FROM 'file:///etc/passwd' AS l RETURN l",
        "LOAD\tCSV FROM 'file:///etc/passwd' AS l RETURN l",
        "LOAD\n\nCSV FROM 'file:///etc/passwd' AS l RETURN l",
        "LOAD /* x */ CSV FROM 'file:///etc/passwd' AS l RETURN l",
        "LOAD // x\nCSV FROM 'file:///etc/passwd' AS l RETURN l",
        "LOAD CSV WITH HEADERS FROM 'file:///etc/passwd' AS l FIELDTERMINATOR ':' RETURN l",
        "WITH 'file:///etc/passwd' AS u LOAD CSV FROM u AS l RETURN l",
        "LOAD CSV FROM $url AS l RETURN l",
        "LOAD CSV FROM 'http://127.0.0.1:7474/db/data' AS l RETURN l",
        "LOAD CSV FROM 'http://169.254.169.254/latest/meta-data/' AS l RETURN l",
        "MATCH (n) WITH n LIMIT 1 LOAD CSV FROM 'file:///etc/hosts' AS l RETURN l",
        "CALL { LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l } RETURN l",
        "OPTIONAL MATCH (n) LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l LIMIT 1",
    ],
    "show_terminate_use": [
        "SHOW TRANSACTIONS",
        "show transactions yield currentQuery, parameters",
        "SHOW TRANSACTIONS YIELD * WHERE currentQuery CONTAINS 'password'",
        "SHOW SETTINGS",
        "SHOW SETTINGS YIELD name, value WHERE name STARTS WITH 'dbms.security'",
        "SHOW USERS",
        "SHOW PROCEDURES",
        "SHOW FUNCTIONS",
        "SHOW DATABASES",
        "SHOW INDEXES",
        "SHOW CONSTRAINTS",
        "SHOW CURRENT USER",
        "SHOW SERVERS",
        "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
        "terminate transaction 'neo4j-transaction-1'",
        "SHOW TRANSACTIONS YIELD transactionId AS t TERMINATE TRANSACTIONS t",
        "USE system SHOW USERS",
        "USE neo4j MATCH (n) RETURN count(n)",
        "use system match (n) return n",
        "CALL { USE system MATCH (n) RETURN n } RETURN n",
        "MATCH (n) CALL { USE neo4j RETURN 1 AS x } RETURN x",
    ],
    "in_transactions": [
        "UNWIND range(1, 3) AS i CALL { RETURN 1 AS x } IN TRANSACTIONS RETURN i",
        "UNWIND range(1, 3) AS i CALL (i) { RETURN i AS x } IN TRANSACTIONS OF 1 ROW RETURN x",
        "MATCH (n) CALL (n) { RETURN n.key AS k } IN CONCURRENT TRANSACTIONS RETURN k",
        "UNWIND [1] AS i CALL { RETURN 1 AS x } IN 2 CONCURRENT TRANSACTIONS OF 10 ROWS ON ERROR CONTINUE RETURN x",
        "UNWIND [1] AS i CALL { RETURN 1 AS x } in transactions return x",
        "UNWIND [1] AS i CALL { RETURN 1 AS x } IN /* c */ TRANSACTIONS RETURN x",
        "UNWIND [1] AS i CALL { RETURN 1 AS x } IN // c\n TRANSACTIONS RETURN x",
        "USING PERIODIC COMMIT 10 LOAD CSV FROM 'file:///x' AS l RETURN l",
    ],
    "dbms_procedures_and_functions": [
        "CALL dbms.components()",
        "CALL DBMS.COMPONENTS()",
        "CALL dbms.listConfig()",
        "CALL dbms.listConnections()",
        "CALL dbms.killConnection('bolt-1')",
        "CALL dbms.showCurrentUser()",
        "CALL dbms.security.createUser('eve', 'pw', false)",
        "CALL `dbms`.`components`()",
        "CALL `dbms.components`()",
        "CALL dbms . components()",
        "CALL /* x */ dbms.components()",
        "CALL dbms.components() YIELD name, versions RETURN name",
        "CALL db.index.fulltext.queryNodes('x', 'y')",
        "CALL db.stats.retrieve('GRAPH COUNTS')",
        "CALL db.ping()",
        "CALL tx.getMetaData()",
        "CALL apoc.load.json('file:///etc/passwd')",
        "RETURN dbms.x()",
        "RETURN `dbms`.`x`()",
        "RETURN `apoc.version`()",
        "RETURN apoc . version()",
        "MATCH (n) RETURN gds.util.asNode(1)",
    ],
    "comments_and_statements": [
        "RETURN 1; SHOW TRANSACTIONS",
        "RETURN 1 /* ; */ ; SHOW SETTINGS",
        "RETURN 1 // \r SHOW SETTINGS",
        "RETURN 1 /* unterminated SHOW SETTINGS",
        "RETURN 'unterminated SHOW SETTINGS",
        "RETURN `unterminated SHOW SETTINGS",
        "RETURN 1 \u2028 SHOW SETTINGS",
        "RETURN 1\u00a0SHOW SETTINGS",
        "RETURN 1 \\ SHOW SETTINGS",
        ":use system",
        "EXPLAIN SHOW SETTINGS",
        "PROFILE LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l",
        "CYPHER 5 SHOW SETTINGS",
        "CYPHER runtime=slotted LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l",
    ],
    "subquery_writes": [
        "MATCH (n) CALL (n) { SET n.pwned = true } RETURN count(*)",
        "CALL { CREATE (x:Pwned) RETURN x } RETURN x",
        "MATCH (n:User) CALL { WITH n DETACH DELETE n } RETURN 1",
        "MATCH (n) WHERE EXISTS { MATCH (n) SET n.x = 1 } RETURN n",
        "MATCH (n) RETURN COLLECT { MERGE (m:Pwned) RETURN m } AS c",
        "UNWIND [1] AS i CALL { FOREACH (x IN [1] | CREATE (:Pwned)) } RETURN i",
        "MATCH (n) RETURN [ (n)-->(m) | m { .key, set: 1 } ] AS x, n.set AS y LIMIT 1 UNION MATCH (n) SET n.x = 1 RETURN 1 AS x, 1 AS y",
        "OPTIONAL CALL { CREATE (:Pwned) } RETURN 1",
    ],
}

BOMBS: dict[str, str] = {
    "list_comprehension": "RETURN size([x IN range(1, 300000000) | x]) AS n",
    "nested_comprehension": "RETURN size([a IN range(1, 20000) | [b IN range(1, 20000) | b]]) AS n",
    "list_filter_cpu": "RETURN size([x IN range(1, 2000000000) WHERE x < 0]) AS n",
    "quantifier_forever": "RETURN any(x IN range(1, 9000000000000) WHERE x < 0) AS n",
    "reduce_string_append": "RETURN size(reduce(s = '', x IN range(1, 3000000) | s + 'xxxxxxxxxx')) AS n",
    "reduce_string_doubling": "RETURN size(reduce(s = 'x', i IN range(1, 40) | s + s)) AS n",
    "reduce_list_append": "RETURN size(reduce(l = [], x IN range(1, 100000000) | l + x)) AS n",
    "collect_tracked": "UNWIND range(1, 60000000) AS x RETURN size(collect(x)) AS n",
    "huge_row": "RETURN range(1, 30000000) AS r",
    "many_rows_wide": "UNWIND range(1, 100000) AS i RETURN i, range(1, 1000) AS r",
    "cartesian_rows": "UNWIND range(1, 100000) AS a UNWIND range(1, 100000) AS b RETURN count(*) AS n",
    "cartesian_nodes": "MATCH (a), (b), (c), (d), (e), (f) RETURN count(DISTINCT [a.key, b.key, c.key, d.key, e.key, f.key]) AS n",
    # 10^10 characters: past any heap (10^9 fits a 2 GB heap and a quiet machine answers it in time).
    "string_replace_growth": "RETURN size(replace(replace(replace(replace(replace(replace(replace(replace("
                             "replace('xxxxxxxxxx', 'x', 'xxxxxxxxxx'), 'x', 'xxxxxxxxxx'), 'x', 'xxxxxxxxxx'), "
                             "'x', 'xxxxxxxxxx'), 'x', 'xxxxxxxxxx'), 'x', 'xxxxxxxxxx'), 'x', 'xxxxxxxxxx'), "
                             "'x', 'xxxxxxxxxx'), 'x', 'xxxxxxxxxx')) AS n",
}

_TALLY: dict = {"classes": {}, "bombs": {}}


@pytest.fixture(scope="module", autouse=True)
def report():
    yield _TALLY
    path = os.environ.get("TWINSIGHT_GUARD_REPORT")
    if path:
        Path(path).write_text(json.dumps(_TALLY, indent=1, sort_keys=True))


@pytest.fixture(scope="module")
def guard(corp):
    return Guard(corp.driver, corp.database, timeout_s=3)


@pytest.fixture(scope="module")
def before(corp):
    return corp.snapshot(), describe_schema(corp.driver, corp.database)


def test_corpus_is_large_and_covers_every_class():
    assert sum(len(v) for v in ATTACKS.values()) >= 120
    assert all(len(v) >= 8 for v in ATTACKS.values())
    flat = [q for v in ATTACKS.values() for q in v]
    assert len(set(flat)) == len(flat)


@pytest.mark.parametrize(("cls", "query"), [(c, q) for c, qs in ATTACKS.items() for q in qs],
                         ids=[f"{c}-{i}" for c, qs in ATTACKS.items() for i in range(len(qs))])
def test_attack_is_refused(guard, corp, cls, query):
    row = _TALLY["classes"].setdefault(cls, {"tried": 0, "refused": 0, "let_through": []})
    row["tried"] += 1
    try:
        guard.run(query, {"url": "file:///etc/passwd"}, tool="attack")
    except GuardError as exc:
        row["refused"] += 1
        assert exc.code in {"refused", "not_read_only", "syntax", "params"}, exc
        assert exc.reason and "\n" not in exc.reason
        return
    row["let_through"].append(query)
    pytest.fail(f"the guard let {query!r} through")


def test_twin_unchanged_after_every_attack(corp, before):
    """Runs after the corpus (definition order): nothing it tried changed the twin."""
    assert _TALLY["classes"], "run with the corpus"
    assert corp.snapshot() == before[0]
    assert describe_schema(corp.driver, corp.database) == before[1]


# --- what the server does with escapes, checked on the server itself ---------------------


@pytest.mark.parametrize(("query", "server_value", "guard_runs"), [
    # The hole: the server resolves \u0027 before lexing, so it closes the string.
    (f"RETURN 'a{Q} + 'b' AS x", "ab", False),
    ("RETURN 1 + 1 /* \\u002a/ + 40 /* */ AS x", 42, False),
    ("RETURN 1 // \\u000a + 1 AS x", 2, False),
    ("RETURN 'caf\\u00e9' AS x", "café", True),
    # An escaped backslash is no escape: \\u0041 stays text.
    ("RETURN 'a\\\\u0041' AS x", "a\\u0041", True),
    ("RETURN '\\\\\\u0041' AS x", "\\A", True),
    # Integer.parseInt takes a sign and non-ASCII digits: refused rather than decoded.
    ("RETURN '\\u+041' AS x", "A", False),
    ("RETURN '\\u\u0660\u0660\u0664\u0661' AS x", "A", False),
    # 5.26 has no \U escape: it stays text (a later Cypher may decode it; the guard screens it).
    ("RETURN 'x\\U0001F600' AS x", "x\\U0001F600", True),
    ("RETURN 'x\\U00000027' AS x", "x\\U00000027", False),
])
def test_escape_rules_are_the_servers(driver, neo4j_settings, guard, query, server_value, guard_runs):
    recs, _, _ = driver.execute_query(query, database_=neo4j_settings.database)
    assert recs[0]["x"] == server_value
    if guard_runs:
        assert guard.run(query, tool="test").rows == [{"x": server_value}]
    else:
        with pytest.raises(GuardError) as info:
            guard.run(query, tool="test")
        assert info.value.code == "refused"


def test_resolved_text_is_what_runs():
    assert screen("RETURN 'caf\\u00e9' AS x") == "RETURN 'café' AS x"
    assert [(e.pos, e.char) for e in find_escapes("'\\u0041\\\\u0042\\\\\\u0043'")] == [(1, "A"), (16, "C")]
    assert resolve_escapes("RETURN 'no escapes'") == "RETURN 'no escapes'"


# --- the server: defence in depth ------------------------------------------------------------


def _local_only(neo4j_settings):
    if neo4j_settings.external:
        pytest.skip("NEO4J_URI names the user's server: its configuration and watchdog are not ours")


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Recorder.hits.append(self.path)
        body = b"secret,token\n1,2\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_server_loads_no_files_and_no_urls(driver, neo4j_settings, corp):
    """Past the guard (a raw driver call), LOAD CSV still reads nothing: file URLs are off
    and every address is blocked for http, loopback services included (SSRF)."""
    _local_only(neo4j_settings)
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Recorder.hits = []
    port = httpd.server_address[1]
    try:
        for url, why in [("file:///etc/passwd", "allow_csv_import_from_file_urls"),
                         ("file:///etc/hosts", "allow_csv_import_from_file_urls"),
                         (f"http://127.0.0.1:{port}/x.csv", "blocked"),
                         (f"http://localhost:{port}/x.csv", "blocked")]:
            with pytest.raises(Neo4jError) as info:
                driver.execute_query(f"LOAD CSV FROM '{url}' AS l RETURN l", database_=neo4j_settings.database)
            assert why in (info.value.message or ""), info.value.message
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert _Recorder.hits == []


def test_server_has_memory_limits(driver, neo4j_settings):
    _local_only(neo4j_settings)
    recs, _, _ = driver.execute_query(
        "SHOW SETTINGS YIELD name, value WHERE name IN ['db.memory.transaction.max', "
        "'dbms.memory.transaction.total.max', 'dbms.security.allow_csv_import_from_file_urls'] "
        "RETURN name, value", database_=neo4j_settings.database)
    values = {r["name"]: r["value"] for r in recs}
    assert values["dbms.security.allow_csv_import_from_file_urls"] == "false"
    mem = server.transaction_memory_mb(neo4j_settings)
    assert _same_size(values["db.memory.transaction.max"], mem.per_tx)
    assert _same_size(values["dbms.memory.transaction.total.max"], mem.total)
    assert mem.total >= mem.per_tx > mem.guard > 0


def _same_size(shown: str, mib: int) -> bool:
    """SHOW SETTINGS prints sizes with two decimals ('1.40GiB'): equal up to that rounding."""
    number, unit = shown[:-3], shown[-3:]
    scale = {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[unit]
    decimals = len(number.partition(".")[2])
    return abs(float(number) * scale - mib) <= 0.5 * 10 ** -decimals * scale + 1e-9


def test_guard_reads_have_their_own_memory_limit(corp, neo4j_settings):
    """db.memory.transaction.max is high enough for ingest's write batches; a guard read
    holding more than the guard's share (Neo4j's own estimate) is ended as a limit."""
    _local_only(neo4j_settings)
    g = Guard(corp.driver, corp.database, timeout_s=60)
    t0 = time.monotonic()
    with pytest.raises(GuardError) as info:
        g.run("UNWIND range(1, 60000000) AS x RETURN size(collect(x)) AS n", tool="test")
    assert info.value.code == "limit", info.value
    assert time.monotonic() - t0 < 30
    assert g.run("UNWIND range(1, 100000) AS x RETURN size(collect(x)) AS n", tool="test").rows == [{"n": 100000}]


# --- bombs ---------------------------------------------------------------------------------------


def _pid(neo4j_settings) -> int:
    pid = server.read_pid(neo4j_settings)
    assert pid, "the local server is not running"
    return pid


def _rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    return 0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("name", list(BOMBS))
def test_bomb_is_refused_and_the_server_lives(corp, neo4j_settings, before, name):
    """Each bomb ends as a GuardError (limit or timeout) in bounded time; afterwards the
    server is the same process, answers, and is not still burning a core."""
    _local_only(neo4j_settings)
    g = Guard(corp.driver, corp.database, timeout_s=3)
    pid = _pid(neo4j_settings)
    peak = [_rss_mb(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                peak[0] = max(peak[0], _rss_mb(pid))
            except OSError:
                return
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    t0 = time.monotonic()
    try:
        outcome = "truncated" if g.run(BOMBS[name], tool="bomb").truncated else "answered"
    except GuardError as exc:
        outcome = exc.code
    seconds = time.monotonic() - t0
    done.set()
    # Rows past the row cap are never read: a long answer is cut, not refused (unless the
    # server's heap is already pressed by earlier work and the watchdog stops it: a limit).
    assert outcome in ({"truncated", "limit"} if name == "many_rows_wide" else {"limit", "timeout"}), (name, outcome)
    assert seconds < 40, seconds
    time.sleep(0.5)
    # The JVM may collect what the stopped query allocated for a second or two; a query
    # still running keeps a core busy in every window. Idle in one of five 2 s windows.
    for _ in range(5):
        cpu0 = _cpu_s(pid)
        time.sleep(2.0)
        burning = (_cpu_s(pid) - cpu0) / 2.0
        if burning < 0.6:
            break
    assert _pid(neo4j_settings) == pid
    assert g.run("MATCH (n:User) RETURN count(n) AS n", tool="after").rows[0]["n"] > 0
    _TALLY["bombs"][name] = {"outcome": outcome, "seconds": round(seconds, 2), "peak_server_rss_mb": peak[0],
                             "cpu_after": round(burning, 2)}
    assert burning < 0.6, f"the server still burns {burning:.2f} cores after {name}"
    assert corp.snapshot() == before[0]


def test_a_value_that_overflows_an_array_is_a_limit_every_time(corp):
    """A string doubled past 2^31 chars ends as OutOfMemoryError the first time and, once
    the JIT has compiled the concatenation, as NegativeArraySizeException (ExecutionFailed,
    message "-2147483648"): both are the same limit, never a bare `failed` (CI saw it).
    The timeout is generous on purpose: on a loaded CI machine the first 1 GB string took
    longer than 10 s to build, and a timeout there says nothing about the classification."""
    g = Guard(corp.driver, corp.database, timeout_s=90)
    outcomes = []
    for _ in range(4):
        with pytest.raises(GuardError) as info:
            g.run(BOMBS["reduce_string_doubling"], tool="test")
        outcomes.append((info.value.code, info.value.reason))
    assert all(code == "limit" for code, _ in outcomes), outcomes
    assert g.run("RETURN 1 AS one", tool="after").rows == [{"one": 1}]


def test_one_huge_row_is_cut_by_the_byte_budget(corp):
    """A single record is not bounded by the row cap: the client stops reading at
    max_bytes and the query is refused as too large."""
    g = Guard(corp.driver, corp.database, timeout_s=20, max_bytes=1 << 20)
    with pytest.raises(GuardError) as info:
        g.run("RETURN range(1, 3000000) AS r", tool="test")
    assert info.value.code == "limit" and "larger than 1048576 bytes" in info.value.reason
    assert g.run("RETURN range(1, 1000) AS r", tool="test").rows[0]["r"][-1] == 1000


def test_huge_parameters_are_refused(guard):
    with pytest.raises(GuardError) as info:
        guard.run("RETURN size($p) AS n", {"p": list(range(200_000))}, tool="test")
    assert info.value.code == "params"


def test_tool_transactions_carry_the_server_timeout(corp, neo4j_settings):
    """The guard's transactions are opened with a timeout the server enforces (a plain
    row-by-row query stops at it), and tagged for the watchdog."""
    g = Guard(corp.driver, corp.database, timeout_s=1)
    t0 = time.monotonic()
    with pytest.raises(GuardError) as info:
        g.run("UNWIND range(1, 1000000000) AS x WITH x WHERE x % 7 = 3 RETURN count(*) AS c", tool="test")
    assert info.value.code == "timeout" and time.monotonic() - t0 < 10


def test_watchdog_leaves_other_transactions_alone(driver, neo4j_settings, corp):
    """Only guard-tagged transactions are policed: another client's query that outlives
    its timeout inside one expression (the loader's, an admin's) is left to finish and
    gets the server's own timeout error, its connection intact."""
    _local_only(neo4j_settings)
    query = neo4j.Query("RETURN size([x IN range(1, 1000000000) WHERE x < 0]) AS n", timeout=0.5)
    t0 = time.monotonic()
    with driver.session(database=neo4j_settings.database) as s, pytest.raises(Neo4jError) as info:
        s.run(query).consume()
    assert "TransactionTimedOut" in (info.value.code or ""), info.value.code
    assert time.monotonic() - t0 > 0.5 + 2 * 1.5  # ran past the watchdog's grace, untouched
