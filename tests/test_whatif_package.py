"""graph/whatif/ as a package: one grammar for the CLI and the bot, a planner for every
verb, usage errors before the twin is touched, and modules that stay small and use each
other's public names only. Behaviour itself is tests/test_whatif.py's."""

from __future__ import annotations

import ast

import pytest

from bot.core import Command, ParseError, parse_command
from graph.whatif import ACTION_COST, ARITY, PLANNERS, RANK_OPTIONS, USAGE, Action, whatif_command
from graph.whatif.errors import WhatIfInputError
from graph.whatif.grammar import parse_request
from tests.conftest import REPO
from tests.test_imports import import_graph

PACKAGE = REPO / "graph" / "whatif"


def test_every_verb_has_a_planner_a_usage_and_a_cost():
    assert set(PLANNERS) == set(ARITY) == set(ACTION_COST)
    assert list(USAGE) == [*ARITY, "rank"]
    for verb, n in ARITY.items():
        assert len(USAGE[verb].split()) == n + 1, verb


@pytest.mark.parametrize("verb", sorted(ARITY))
def test_the_bot_reads_the_cli_grammar(verb):
    words = [f"A{i}" for i in range(ARITY[verb])]
    assert parse_command(f"whatif {verb.upper()} {' '.join(words)}") == Command("whatif", (verb, *words))
    with pytest.raises(ParseError, match=f"usage: whatif {USAGE[verb]}"):
        parse_command(f"whatif {verb} {' '.join(words[:-1])}")
    with pytest.raises(WhatIfInputError, match=f"usage: whatif {USAGE[verb]}"):
        Action.from_argv([verb, *words[:-1]])


def test_the_bot_takes_rank_options_from_the_grammar():
    assert RANK_OPTIONS == ("--target", "--top")
    cmd = parse_command("whatif rank " + " ".join(f"{opt}=1" for opt in RANK_OPTIONS))
    assert cmd == Command("whatif", ("rank", "--target", "1", "--top", "1"))
    with pytest.raises(ParseError, match="unexpected '--max-hops'"):
        parse_command("whatif rank --target X --max-hops 3")  # a CLI option the chat does not offer


def test_parse_request():
    assert parse_request(["isolate", "web01", "--max-hops", "4"]) == (Action(verb="isolate", args=("web01",)),
                                                                       {"max_hops": 4})
    assert parse_request(["rank", "--target=X", "--top", "3", "--json"]) == (None, {"target": "X", "top": 3})
    for argv, message in [
        (["rank", "X"], "unexpected 'X': usage: whatif rank"),
        (["rank", "--top", "3"], "rank needs --target KEY"),
        (["isolate", "X", "--top", "3"], "--top is only for rank"),
        (["disable", "X", "--target", "Y"], "--target is only for rank"),
        (["isolate"], "takes 1 argument"),
    ]:
        with pytest.raises(WhatIfInputError, match=message):
            parse_request(argv)


@pytest.mark.parametrize("argv,message", [
    (["isolate", "WEB01.CORP.LOCAL", "--top", "3"], "--top is only for rank"),
    (["rank", "--target", "X", "extra"], "unexpected 'extra'"),
    (["rank", "--top", "3"], "rank needs --target KEY"),
])
def test_usage_errors_exit_2_before_the_twin_is_opened(monkeypatch, capsys, argv, message):
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")  # nothing listens: opening the twin would exit 1
    assert whatif_command(argv, json_out=True) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith("twinsight whatif: ") and message in out.err
    assert len(out.err.strip().splitlines()) == 1


def _modules() -> list:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_modules_stay_small():
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in _modules()}
    assert len(sizes) >= 10
    assert {k: v for k, v in sizes.items() if v > 500} == {}


def test_no_private_name_crosses_a_module():
    crossing = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("graph", "agents", "bot"):
                crossing += [f"{path.relative_to(REPO)}: {node.module}.{a.name}" for a in node.names
                             if a.name.startswith("_")]
    assert crossing == []


def test_versions_and_the_grammar_stand_apart_from_the_simulation():
    graph = import_graph(REPO)
    assert graph["graph.whatif.versions"] == set()  # reusable by any connector
    assert not {m for m in graph["graph.whatif.grammar"] if m.startswith("graph.whatif.")} - {"graph.whatif.errors"}
    inside = {m: {d for d in deps if d.startswith("graph.whatif")} for m, deps in graph.items()
              if m.startswith("graph.whatif.")}
    assert not any("graph.whatif" in deps for deps in inside.values())  # no module imports the package itself
