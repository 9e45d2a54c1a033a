"""The typed tool layer: OpenAI schemas generated from the types, the LLM door, trimming,
time parsing, and `twinsight query` (run_query_command)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.tools.base import TOOLS, Toolbox, openai_tools, parse_time, trim_for_llm
from graph.tools.fixtures import T0
from graph.tools.query_cmd import parse_params, run_query_command

EXPECTED = {"resolve_entities", "entity_context", "attack_paths", "observed_path", "blast_radius",
            "choke_points", "expert_cypher", "find_events", "find_connections", "session_chain", "event_history"}


@pytest.fixture(scope="module")
def tb(corp):
    return Toolbox(corp.driver, corp.database, as_of=T0)


def _walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_openai_tools_are_valid_and_flat():
    tools = openai_tools()
    assert {t["function"]["name"] for t in tools} == EXPECTED
    for t in tools:
        assert t["type"] == "function"
        fn = t["function"]
        assert fn["description"] == " ".join(TOOLS[fn["name"]].fn.__doc__.strip().split("\n\n")[0].split())
        params = fn["parameters"]
        jsonschema.Draft202012Validator.check_schema(params)
        assert params["type"] == "object" and params["additionalProperties"] is False
        text = json.dumps(params)
        assert "$ref" not in text and "$defs" not in text
        for node in _walk(params):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False
    assert json.loads(json.dumps(tools)) == tools  # round-trips as JSON


def test_every_marked_tool_is_registered():
    """TOOLS is written out by hand (graph/tools/base.py): a new `@tool` that is not listed
    there would never reach an agent."""
    import importlib
    import pkgutil

    import graph.tools as package

    marked = set()
    for mod in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"graph.tools.{mod.name}")
        marked |= {fn.spec.name for fn in vars(module).values()
                   if callable(fn) and getattr(fn, "spec", None) is not None and fn.__module__ == module.__name__}
    assert marked == set(TOOLS) == EXPECTED


ARGS = {
    "resolve_entities": {"names": ["WS07", "CORP\\alice"], "as_of": "2023-11-14T22:13:20Z"},
    "entity_context": {"key": "WS07.CORP.LOCAL", "as_of": T0, "max_items": 5},
    "attack_paths": {"target": "CUSTOMER-DB", "k": 2, "entry_points": ["internet"]},
    "observed_path": {"alert": "ALERT-DCSYNC-1"},
    "blast_radius": {"key": "HELPDESK1@CORP.LOCAL", "max_hops": 3},
    "choke_points": {"target": "CUSTOMER-DB", "max_paths": 50},
    "expert_cypher": {"cypher": "MATCH (n:Computer) RETURN count(n) AS c", "params": {}},
    "find_events": {"users": ["HELPDESK1@CORP.LOCAL"], "event_ids": [4662], "as_of": T0, "window_s": 3600},
    "find_connections": {"src": "WS07.CORP.LOCAL", "as_of": T0, "port": "445/tcp"},
    "session_chain": {"event": "EVT:DC01.CORP.LOCAL:Security:900", "max_hops": 3},
    "event_history": {"users": ["BOB@CORP.LOCAL"], "event_ids": [4662], "days": 7, "as_of": T0},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_schema_round_trip_and_call(tb, name):
    """Arguments valid under the generated schema validate in pydantic and run; the
    result is JSON with sorted keys and no error."""
    schema = next(t for t in openai_tools([name]))["function"]["parameters"]
    args = ARGS[name]
    jsonschema.validate(args, schema)
    model = TOOLS[name].input_model.model_validate(args)
    assert TOOLS[name].input_model.model_validate_json(model.model_dump_json()) == model
    out = tb.call_tool(name, json.dumps(args))
    assert "error" not in out, out
    assert list(out) == sorted(out)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**args, "surprise": 1}, schema)


@pytest.mark.parametrize("raw", [
    "not json", "[1, 2]", '{"names": "WS01"}', '{"names": [1]}', "{}", '{"names": ["a"], "as_of": "soon"}',
    '{"names": ["a"], "as_of": true}', '{"names": ["a"], "bogus": 1}', '{"names": ' + json.dumps(["x"] * 51) + "}",
])
def test_malformed_arguments_give_an_error_object(tb, raw):
    out = tb.call_tool("resolve_entities", raw)
    assert set(out) == {"error"} and out["error"]["type"] == "invalid_arguments" and out["error"]["message"]
    assert tb.calls[-1]["ok"] is False


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(max_size=50), st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8),
                                                       max_size=4).map(json.dumps)))
def test_call_tool_never_raises(tb, raw):
    for name in ("attack_paths", "entity_context", "no_such_tool"):
        out = tb.call_tool(name, raw)
        assert isinstance(out, dict)
        json.dumps(out)


def test_trim_for_llm_is_stable_and_bounded():
    value = {"b": list(range(30)), "a": {"z": "x" * 1000, "y": [{"k": 1}] * 3}, "_truncated": {"q": 99}}
    out = trim_for_llm(value, list_cap=5, max_string=10)
    assert list(out) == ["a", "b", "_truncated"]
    assert out["b"] == [0, 1, 2, 3, 4] and out["_truncated"] == {"b": 30, "q": 99}
    assert out["a"]["z"].startswith("xxxxxxxxxx...") and list(out["a"]) == ["y", "z"]
    assert trim_for_llm(value, 5, 10) == out


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), (1700000000, 1700000000), (1700000000123, 1700000000), ("1700000000", 1700000000),
    ("2023-11-14T22:13:20Z", 1700000000), ("2023-11-14T23:13:20+01:00", 1700000000),
    ("2023-11-14T22:13:20", 1700000000), (1700000000.9, 1700000000),
])
def test_parse_time(value, expected):
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", ["yesterday", True, -5, "2023-13-45"])
def test_parse_time_rejects(value):
    with pytest.raises(ValueError):
        parse_time(value)


def test_parse_params():
    assert parse_params(["k=WS01", "n=5", "b=true", 'l=["a", 1]', "s=\"5\"", "e=", "eq=a=b"]) == {
        "k": "WS01", "n": 5, "b": True, "l": ["a", 1], "s": "5", "e": "", "eq": "a=b"}
    for bad in (["novalue"], ["1x=2"], ["a b=1"]):
        with pytest.raises(ValueError):
            parse_params(bad)


def test_query_command(corp, capsys):
    assert run_query_command("MATCH (n:Computer {key: $k}) RETURN n.key AS key, n.shortname AS s",
                             ["k=WS07.CORP.LOCAL"], True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rows"] == [{"key": "WS07.CORP.LOCAL", "s": "WS07"}] and doc["truncated"] is False
    assert run_query_command("MATCH (n:Computer) RETURN n.shortname AS s ORDER BY s LIMIT 2", [], False) == 0
    assert capsys.readouterr().out.splitlines() == ["s", "DB01", "DC01"]


@pytest.mark.parametrize("query, params", [
    ("MATCH (n) DETACH DELETE n", []),
    ("CREATE (:X)", []),
    ("CALL dbms.components()", []),
    ("MATCH (n RETURN n", []),
    ("RETURN $x", ["x"]),
])
def test_query_command_refusals_exit_2(corp, capsys, query, params):
    before = corp.snapshot()
    assert run_query_command(query, params, True) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert corp.snapshot() == before
