"""`twinsight mcp` with the MCP SDK's own client, against the real Neo4j.

The server runs as a subprocess (`python cli.py mcp`), over stdio and over streamable
HTTP on a free loopback port, and reaches the Neo4j these tests use through the
TWINSIGHT_* / NEO4J_* environment passed to it. The twin is the hand-built corp_twin.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
import httpx2
import jsonschema
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from typer.testing import CliRunner

import cli
from graph.tools.base import Limits, Toolbox, openai_tools
from graph.tools.fixtures import T0
from tests.conftest import validate_contract

REPO = Path(__file__).resolve().parents[1]
ALERT = REPO / "tests" / "data" / "alerts" / "dcsync_helpdesk1.ocsf.json"
START_TIMEOUT = 180  # a cold Python + the SDK on a busy 2-core machine
QUERY_TIMEOUT = "60"  # the guard's per-query limit, raised for the same reason


def registry_names() -> set[str]:
    return {t["function"]["name"] for t in openai_tools()}  # openai_tools() loads the registry


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The settings that point at the tests' Neo4j, a private investigation store and
    audit file, and no LLM key (the offline analyst)."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("TWINSIGHT_", "NEO4J_"))}
    env.pop("TWINSIGHT_MCP_TOKEN", None)
    env.update(TWINSIGHT_STATE_DIR=str(tmp_path / "state"), TWINSIGHT_MCP_AUDIT=str(tmp_path / "audit.jsonl"),
               TWINSIGHT_MCP_QUERY_TIMEOUT=QUERY_TIMEOUT)
    env.update(extra)
    return env


def audit_lines(tmp_path: Path) -> list[dict]:
    path = tmp_path / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def payload(result) -> dict:
    """The tool's JSON: the text content, which must agree with the structured content."""
    assert len(result.content) == 1 and result.content[0].type == "text"
    doc = json.loads(result.content[0].text)
    assert doc == result.structured_content
    return doc


@asynccontextmanager
async def stdio_session(tmp_path: Path, **extra: str):
    params = StdioServerParameters(command=sys.executable, args=["cli.py", "mcp"], cwd=str(REPO),
                                   env=server_env(tmp_path, **extra))
    with open(tmp_path / "server.stderr", "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), \
                ClientSession(read, write, read_timeout_seconds=START_TIMEOUT) as session:
            await session.initialize()
            yield session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def http_server(tmp_path: Path, **extra: str):
    """`twinsight mcp --transport http` on a free loopback port; yields its URL."""
    port = free_port()
    errpath = tmp_path / "server.stderr"
    with open(errpath, "w") as errlog:
        proc = subprocess.Popen([sys.executable, "cli.py", "mcp", "--transport", "http", "--port", str(port)],
                                cwd=REPO, env={**os.environ, **server_env(tmp_path, **extra)},
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "streamable HTTP on" not in errpath.read_text():
            assert proc.poll() is None, f"server exited {proc.returncode}: {errpath.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"server did not start: {errpath.read_text()[-2000:]}"
            time.sleep(0.2)
        assert f"http://127.0.0.1:{port}/mcp" in errpath.read_text()
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@asynccontextmanager
async def http_session(url: str, headers: dict[str, str] | None = None):
    async with create_mcp_http_client(headers=headers) as http, \
            streamable_http_client(url, http_client=http) as (read, write), \
            ClientSession(read, write, read_timeout_seconds=START_TIMEOUT) as session:
        await session.initialize()
        yield session


# -- stdio --------------------------------------------------------------------------------

def test_stdio_lists_the_registry_tools_and_answers_like_the_toolbox(corp, tmp_path):
    """Every registry tool is listed with the schema openai_tools() generates, and a call
    returns exactly what Toolbox.call_tool returns in-process."""
    tb = Toolbox(corp.driver, corp.database, limits=Limits(timeout_s=float(QUERY_TIMEOUT)))
    calls = {
        "resolve_entities": {"names": ["WS07", "CORP\\alice"], "as_of": T0},
        "entity_context": {"key": "WS07.CORP.LOCAL", "as_of": T0, "max_items": 5},
    }
    got: dict = {}

    async def scenario():
        async with stdio_session(tmp_path) as s:
            got["tools"] = (await s.list_tools()).tools
            for name, args in calls.items():
                r = await s.call_tool(name, args)
                assert not r.is_error, r.content
                got[name] = payload(r)

    anyio.run(scenario)
    listed = {t.name: t for t in got["tools"]}
    assert set(listed) == registry_names() | {"investigate", "twin_status"}
    for spec in openai_tools():
        fn = spec["function"]
        assert listed[fn["name"]].input_schema == fn["parameters"]
        assert listed[fn["name"]].description == fn["description"]
        assert listed[fn["name"]].annotations.read_only_hint is True
    jsonschema.Draft202012Validator.check_schema(listed["investigate"].input_schema)
    assert listed["investigate"].input_schema["required"] == ["alert"]

    resolved = {r["input"]: r for r in got["resolve_entities"]["results"]}
    assert resolved["WS07"]["status"] == "found"
    assert resolved["WS07"]["candidates"][0]["key"] == "WS07.CORP.LOCAL"
    assert resolved["CORP\\alice"]["candidates"][0]["key"] == "ALICE@CORP.LOCAL"
    assert got["entity_context"]["key"] == "WS07.CORP.LOCAL"
    for name, args in calls.items():
        assert got[name] == tb.call_tool(name, args)

    audit = audit_lines(tmp_path)
    assert [a["tool"] for a in audit] == list(calls)
    assert all(a["ok"] and a["session"] == "stdio" and a["queries"] >= 1 and a["rows"] >= 1 and a["ms"] > 0
               for a in audit)
    assert audit[0]["arguments"] == {"as_of": T0, "names": ["WS07", "CORP\\alice"]}
    assert '"tool": "resolve_entities"' in (tmp_path / "server.stderr").read_text()


def test_stdio_refused_write_and_bad_calls_are_tool_errors_and_the_twin_is_unchanged(corp, tmp_path):
    before = corp.snapshot()
    tb = Toolbox(corp.driver, corp.database, limits=Limits(timeout_s=float(QUERY_TIMEOUT)))
    bad = [
        ("expert_cypher", {"cypher": "MATCH (n) DETACH DELETE n"}),
        ("expert_cypher", {"cypher": "CREATE (:Computer {key: 'EVIL.CORP.LOCAL'}) RETURN 1 AS x"}),
        ("expert_cypher", {"cypher": "MATCH (n) RETURN n LIMIT 1", "limit": 5}),
        ("entity_context", {"key": 42}),
        ("no_such_tool", {}),
    ]
    results: list = []

    async def scenario():
        async with stdio_session(tmp_path) as s:
            for name, args in bad:
                results.append(await s.call_tool(name, args))

    anyio.run(scenario)
    assert corp.snapshot() == before
    assert corp.value("MATCH (n {key: 'EVIL.CORP.LOCAL'}) RETURN count(n)") == 0
    for (name, args), r in zip(bad, results, strict=True):
        assert r.is_error, (name, args)
        doc = payload(r)
        assert doc == tb.call_tool(name, args)  # the same error object the agents get
        assert doc["error"]["message"] and doc["error"]["message"] in r.content[0].text
    kinds = [payload(r)["error"]["type"] for r in results]
    assert kinds == ["refused", "refused", "invalid_arguments", "invalid_arguments", "unknown_tool"]
    assert {"field": "limit", "problem": "Extra inputs are not permitted"} in payload(results[2])["error"]["details"]
    audit = audit_lines(tmp_path)
    assert [(a["tool"], a["ok"]) for a in audit] == [(n, False) for n, _ in bad]
    assert audit[0]["error"].startswith("refused: ") and audit[0]["queries"] == 1


# -- streamable HTTP ----------------------------------------------------------------------

def test_http_investigate_dcsync_returns_the_contract_verdict(corp, tmp_path):
    alert = json.loads(ALERT.read_text())
    progress: list[str] = []
    got: dict = {}

    async def on_progress(value, total, message):
        progress.append(message or "")

    async def scenario(url):
        async with http_session(url) as s:
            got["tools"] = {t.name for t in (await s.list_tools()).tools}
            got["resolve"] = await s.call_tool("resolve_entities", {"names": ["helpdesk1"], "as_of": T0})
            got["inv"] = await s.call_tool("investigate", {"alert": alert}, progress_callback=on_progress)
            got["text"] = await s.call_tool("investigate", {"alert": json.dumps({"not": "an alert"})})

    with http_server(tmp_path) as url:
        anyio.run(scenario, url)
    assert got["tools"] == registry_names() | {"investigate", "twin_status"}
    assert payload(got["resolve"])["results"][0]["candidates"][0]["key"] == "HELPDESK1@CORP.LOCAL"
    assert not got["inv"].is_error, got["inv"].content[0].text[:500]
    r = payload(got["inv"])
    validate_contract("investigation", r)
    assert r["alert_id"] == "ALERT-TEST-DCSYNC" and r["verdict"] == "true_positive"
    assert {"HELPDESK1@CORP.LOCAL", "DC01.CORP.LOCAL"} <= {e["key"] for e in r["entities"]}
    assert r["usage"]["llm_calls"] == 0 and r["usage"]["cypher_queries"] > 5
    assert any(m.startswith("intake") for m in progress), progress
    assert got["text"].is_error and payload(got["text"])["error"]["type"] == "invalid_arguments"

    audit = audit_lines(tmp_path)
    assert [a["tool"] for a in audit] == ["resolve_entities", "investigate", "investigate"]
    inv = audit[1]
    assert inv["ok"] and inv["queries"] == r["usage"]["cypher_queries"]
    assert inv["arguments"] == {"alert_id": "ALERT-TEST-DCSYNC", "alert_bytes": len(json.dumps(alert))}
    assert len({a["session"] for a in audit}) == 1
    assert re.fullmatch(r"http:[0-9a-f]{16}", audit[0]["session"])  # the session id itself stays out


def test_http_token_and_a_budget_per_session(corp, tmp_path):
    """With TWINSIGHT_MCP_TOKEN every request needs the bearer token; the call budget
    belongs to one MCP session: a second session still has its own."""
    token = "t0ken-for-tests"
    auth = {"Authorization": f"Bearer {token}"}
    args = {"names": ["WS07"], "as_of": T0}
    got: dict = {}

    async def scenario(url):
        async with httpx2.AsyncClient() as http:
            got["no_token"] = (await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})).status_code
        async with http_session(url, auth) as a:
            got["a"] = [await a.call_tool("resolve_entities", args) for _ in range(3)]
            got["status"] = await a.call_tool("twin_status", {})
            async with http_session(url, auth) as b:
                got["b"] = await b.call_tool("twin_status", {})

    with http_server(tmp_path, TWINSIGHT_MCP_MAX_CALLS="2", TWINSIGHT_MCP_TOKEN=token) as url:
        anyio.run(scenario, url)
    assert got["no_token"] == 401
    assert [r.is_error for r in got["a"]] == [False, False, True]
    err = payload(got["a"][2])["error"]
    assert err["type"] == "budget_exhausted" and "TWINSIGHT_MCP_MAX_CALLS" in err["message"]
    assert got["status"].is_error and payload(got["status"])["error"]["type"] == "budget_exhausted"
    assert not got["b"].is_error
    status = payload(got["b"])
    assert status["session"]["calls"] == 1 and status["session"]["max_calls"] == 2
    assert status["nodes"] == corp.counts()[0] and "investigate" in status["tools"]
    audit = audit_lines(tmp_path)
    assert [(a["tool"], a["ok"]) for a in audit] == [("resolve_entities", True), ("resolve_entities", True),
                                                     ("resolve_entities", False), ("twin_status", False),
                                                     ("twin_status", True)]
    assert len({a["session"] for a in audit}) == 2
    assert audit[2]["queries"] == 0  # refused before it reached the twin


# -- options ------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, env, message", [
    (["--transport", "http", "--host", "0.0.0.0"], {}, "not a loopback address"),
    (["--transport", "http", "--host", "10.1.2.3", "--allow-remote"], {}, "needs TWINSIGHT_MCP_TOKEN"),
    (["--transport", "http", "--host", "example.org"], {}, "give an IP address"),
    (["--transport", "sse"], {}, "expected stdio or http"),
    (["--port", "9000"], {}, "apply to --transport http only"),
    ([], {"TWINSIGHT_MCP_MAX_CALLS": "lots"}, "TWINSIGHT_MCP_MAX_CALLS must be a whole number"),
    ([], {"TWINSIGHT_MCP_QUERY_TIMEOUT": "0"}, "TWINSIGHT_MCP_QUERY_TIMEOUT must be more than 0"),
])
def test_bad_options_are_refused_before_the_twin_is_opened(monkeypatch, argv, env, message):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("TWINSIGHT_MCP_TOKEN", raising=False)

    def no_twin(*a, **k):
        raise AssertionError("the twin was opened")

    monkeypatch.setattr(cli, "twin_driver", no_twin)
    result = CliRunner().invoke(cli.app, ["mcp", *argv])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("twinsight: ") and message in lines[0]


# -- in-process (the SDK's Client on the Server object): budgets and the audit file ------

def test_query_and_investigation_budgets_refuse_before_running(corp, tmp_path):
    """The Cypher budget counts the queries tools ran; an investigation over budget is
    refused before it starts. The audit file is private to its owner."""
    from mcp import Client

    from agents.mcp_server import McpSettings, TwinMcp

    settings = McpSettings(max_queries=2, max_investigations=0, audit_path=tmp_path / "audit.jsonl",
                           query_timeout_s=float(QUERY_TIMEOUT))
    stderr = open(tmp_path / "stderr", "w")  # noqa: SIM115
    app = TwinMcp(corp.driver, corp.database, settings, state_dir=tmp_path / "state", audit_stream=stderr)
    got: list = []

    async def scenario():
        async with Client(app.server) as c:
            got.append(await c.call_tool("investigate", {"alert": json.loads(ALERT.read_text())}))
            got.append(await c.call_tool("resolve_entities", {"names": ["WS07", "CORP\\alice"], "as_of": T0}))
            got.append(await c.call_tool("entity_context", {"key": "WS07.CORP.LOCAL"}))

    anyio.run(scenario)
    stderr.close()
    assert got[0].is_error and "TWINSIGHT_MCP_MAX_INVESTIGATIONS" in payload(got[0])["error"]["message"]
    assert app.service_started is False  # refused before the investigation service was even built
    assert not got[1].is_error and payload(got[1])["results"][0]["status"] == "found"
    assert got[2].is_error and "TWINSIGHT_MCP_MAX_QUERIES" in payload(got[2])["error"]["message"]
    audit = audit_lines(tmp_path)
    assert [(a["tool"], a["ok"]) for a in audit] == [("investigate", False), ("resolve_entities", True),
                                                     ("entity_context", False)]
    assert audit[1]["queries"] >= 2 and audit[0]["queries"] == 0 == audit[2]["queries"]
    assert (tmp_path / "audit.jsonl").stat().st_mode & 0o777 == 0o600
    assert len((tmp_path / "stderr").read_text().splitlines()) == 3
