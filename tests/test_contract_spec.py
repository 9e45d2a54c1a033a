"""The contract's JSON Schemas: shipped with the package, generated from the models, and
no looser than ../shared/spec.

`narrower(generated, shared)` lists every way a document valid under the generated
schema could be invalid under the shared one: a required field that is not required, a
type or enum value the shared spec does not allow, a bound (minimum, pattern, minItems,
...) missing or looser, a property or array item left undescribed. Extra fields and
stricter rules in the generated schema are fine: the contract welcomes extra fields.
"""

from __future__ import annotations

import json
import tomllib
from fnmatch import fnmatch
from typing import Any

import jsonschema
import pytest

from evals.spec import NAMES, SPEC, schema, schema_path
from evals.spec.generate import generated, render
from tests.conftest import REPO, SHARED_SPEC

LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
BOUND_APPLIES = {"minimum": "number", "exclusiveMinimum": "number", "maximum": "number",
                 "exclusiveMaximum": "number", "minLength": "string", "maxLength": "string",
                 "pattern": "string", "minItems": "array", "maxItems": "array",
                 "minProperties": "object", "maxProperties": "object"}
JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null",
              list: "array", dict: "object"}


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local $refs are expected, got {ref}"
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _types(node: dict[str, Any]) -> set[str] | None:
    """The JSON types a schema node allows; None when it does not say."""
    if "type" in node:
        t = node["type"]
        return set(t) if isinstance(t, list) else {t}
    values = node.get("enum", [node["const"]] if "const" in node else None)
    if values is None:
        return None
    return {JSON_TYPES[type(v)] for v in values}


def _within(gen: set[str], shared: set[str]) -> bool:
    return all(t in shared or (t == "integer" and "number" in shared) for t in gen)


def narrower(gen: dict[str, Any], shared: dict[str, Any], path: str = "$",
             root: dict[str, Any] | None = None) -> list[str]:
    """Ways `gen` is looser than `shared` at `path` (empty: gen is at least as strict)."""
    root = root if root is not None else gen
    gen = _resolve(gen, root)
    gen_branches = gen.get("anyOf") or gen.get("oneOf")
    shared_branches = shared.get("anyOf") or shared.get("oneOf")
    if gen_branches:  # every generated alternative must fit the shared schema
        problems = []
        for i, branch in enumerate(gen_branches):
            problems += narrower({**{k: v for k, v in gen.items() if k not in ("anyOf", "oneOf")}, **branch},
                                 shared, f"{path}|{i}", root)
        return problems
    if shared_branches:  # ... and a plain generated schema must fit one shared alternative
        fits = [narrower(gen, {**{k: v for k, v in shared.items() if k not in ("anyOf", "oneOf")}, **b},
                         path, root) for b in shared_branches]
        return [] if any(not f for f in fits) else [f"{path}: fits none of the shared alternatives: {fits}"]
    problems: list[str] = []
    gen_types, shared_types = _types(gen), _types(shared)
    if shared_types is not None:
        if gen_types is None:
            return [f"{path}: the shared spec says {sorted(shared_types)}, the generated one says nothing"]
        if not _within(gen_types, shared_types):
            problems.append(f"{path}: type {sorted(gen_types)} is not within {sorted(shared_types)}")
    if "enum" in shared:
        values = gen.get("enum", [gen["const"]] if "const" in gen else None)
        if values is None or any(v not in shared["enum"] for v in values):
            problems.append(f"{path}: enum {values} is not within {shared['enum']}")
    live = gen_types or set()
    for bound in (*LOWER_BOUNDS, *UPPER_BOUNDS, "pattern"):
        if bound not in shared:
            continue
        applies = BOUND_APPLIES[bound]
        if live and not any(t == applies or (applies == "number" and t == "integer") for t in live):
            continue  # e.g. the null alternative of an optional number
        if bound not in gen:
            problems.append(f"{path}: {bound} {shared[bound]!r} missing")
        elif bound == "pattern":
            if gen[bound] != shared[bound]:
                problems.append(f"{path}: pattern {gen[bound]!r} is not {shared[bound]!r}")
        elif (bound in LOWER_BOUNDS and gen[bound] < shared[bound]) or (
                bound in UPPER_BOUNDS and gen[bound] > shared[bound]):
            problems.append(f"{path}: {bound} {gen[bound]} is looser than {shared[bound]}")
    missing = set(shared.get("required", [])) - set(gen.get("required", []))
    if missing:
        problems.append(f"{path}: not required: {sorted(missing)}")
    for name, sub in shared.get("properties", {}).items():
        if name not in gen.get("properties", {}):
            problems.append(f"{path}.{name}: not described")
        else:
            problems += narrower(gen["properties"][name], sub, f"{path}.{name}", root)
    checks = [("[]", shared["items"], None)] if "items" in shared else []
    checks += [(f"[{i}]", sub, i) for i, sub in enumerate(shared.get("prefixItems", []))]
    for where, sub, i in checks:
        prefix = gen.get("prefixItems", [])
        item = prefix[i] if i is not None and i < len(prefix) else gen.get("items")
        if item is None:
            problems.append(f"{path}{where}: items not described")
        else:
            problems += narrower(item, sub, f"{path}{where}", root)
    return problems


def shared_schema(name: str) -> dict[str, Any]:
    path = SHARED_SPEC / f"{name}.schema.json"
    if not path.exists():
        pytest.skip(f"{path} is absent (the contract lives in ../shared/spec beside the repo)")
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", NAMES)
def test_the_shipped_schema_is_what_its_model_generates(name):
    # Compared as JSON, not as text: a pydantic release that only reformats is no failure.
    assert json.loads(schema_path(name).read_text(encoding="utf-8")) == json.loads(render(name)), (
        f"{schema_path(name)} is stale: run `python -m evals.spec.generate`")
    jsonschema.Draft202012Validator.check_schema(schema(name))


@pytest.mark.parametrize("name", NAMES)
def test_the_generated_schema_keeps_every_rule_of_the_shared_spec(name):
    problems = narrower(generated(name), shared_schema(name))
    assert problems == [], "\n".join(problems)


def test_the_comparison_sees_each_kind_of_loosening():
    shared = {"type": "object", "required": ["a", "n"], "properties": {
        "a": {"enum": ["x", "y"]}, "n": {"type": "number", "minimum": 0, "maximum": 1},
        "s": {"type": "string", "pattern": "^T"}, "l": {"type": "array", "minItems": 1, "items": {"type": "string"}}}}
    tight = {"type": "object", "required": ["a", "n", "extra"], "$defs": {"A": {"enum": ["x"], "type": "string"}},
             "properties": {"a": {"$ref": "#/$defs/A"}, "extra": {"type": "integer"},
                            "n": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 1}, {"type": "null"}]},
                            "s": {"type": "string", "pattern": "^T"},
                            "l": {"type": "array", "minItems": 2, "items": {"type": "string"}}}}
    shared_nullable_n = {**shared, "properties": {**shared["properties"],
                                                  "n": {**shared["properties"]["n"], "type": ["number", "null"]}}}
    assert narrower(tight, shared_nullable_n) == []
    assert any("type ['null']" in p for p in narrower(tight, shared))  # null where the spec has none

    def loosen(**props):
        return {**tight, "properties": {**tight["properties"], **props}}

    cases = {
        "not required": {**tight, "required": ["a"]},
        "enum": {**tight, "$defs": {"A": {"enum": ["x", "z"], "type": "string"}}},
        "minimum": loosen(n={"type": "number", "maximum": 1}),
        "maximum": loosen(n={"type": "number", "minimum": 0, "maximum": 2}),
        "pattern": loosen(s={"type": "string"}),
        "minItems": loosen(l={"type": "array", "items": {"type": "string"}}),
        "$.l[]": loosen(l={"type": "array", "minItems": 1, "items": {"type": "integer"}}),
        "not described": {**tight, "properties": {k: v for k, v in tight["properties"].items() if k != "s"}},
        "says nothing": loosen(s={}),
    }
    for word, gen in cases.items():
        problems = narrower(gen, shared_nullable_n)
        assert any(word in p for p in problems), (word, problems)


def test_the_schemas_ship_inside_the_package():
    """setuptools takes package data only where pyproject.toml declares it."""
    files = sorted(p.name for p in SPEC.glob("*.schema.json"))
    assert files == sorted(f"{n}.schema.json" for n in NAMES)
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    globs = data.get("evals.spec", [])
    assert all(any(fnmatch(f, g) for g in globs) for f in files), (globs, files)


# ---------------------------------------------------------------- scenarios, checked at load


GOOD_SCENARIO = {"id": "x-1", "title": "t", "twin": ["twin"], "alert": "alert.json",
                 "expect": {"verdict": "true_positive"}}


def _scenario_folder(root, doc: dict):
    import yaml

    (root / "twin").mkdir(parents=True)
    (root / "alert.json").write_text("{}")
    (root / "scenario.yaml").write_text(yaml.safe_dump(doc))
    return root


@pytest.mark.parametrize("change, where", [
    ({"expect": {"verdict": "true_positive", "severity": "severe"}}, "expect/severity"),
    ({"expect": {"verdict": "maybe"}}, "expect/verdict"),
    ({"expect": {"verdict": "false_positive", "source": None}}, "expect/source"),
    ({"id": "two words"}, "id"),
    ({"twin": []}, "twin"),
    ({"alert": None}, "alert"),
])
def test_a_scenario_outside_the_contract_is_refused_naming_its_file_and_field(tmp_path, change, where):
    from evals.scenario import ScenarioError, load_scenario

    folder = _scenario_folder(tmp_path / "s", {**GOOD_SCENARIO, **change})
    with pytest.raises(ScenarioError) as err:
        load_scenario(folder)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{folder / 'scenario.yaml'}: {where}: "), message


def test_a_scenario_inside_the_contract_loads(tmp_path):
    from evals.scenario import load_scenario

    folder = _scenario_folder(tmp_path / "s", {**GOOD_SCENARIO, "expect": {
        "verdict": "benign_positive", "severity": "low", "source": ["WS01.CORP.LOCAL"]}})
    scn = load_scenario(folder)
    assert (scn.id, scn.expect.severity, scn.expect.source, scn.expect.attack_path) == (
        "x-1", "low", ["WS01.CORP.LOCAL"], None)


def test_an_installed_copy_checks_scenarios_without_the_shared_spec(tmp_path):
    """Copied away from the checkout (no ../shared beside it), as pip installs it, the
    package still refuses a scenario the contract refuses."""
    import shutil
    import subprocess
    import sys

    site = tmp_path / "site"
    skip = shutil.ignore_patterns("__pycache__", "scenarios", "independent", "real", "results", "cassettes",
                                  "baseline", "bench")
    for pkg in ("agents", "evals", "graph"):
        shutil.copytree(REPO / pkg, site / pkg, ignore=skip)
    assert not (tmp_path / "shared").exists()
    folder = _scenario_folder(tmp_path / "s", {**GOOD_SCENARIO, "expect": {"verdict": "true_positive",
                                                                           "severity": "severe"}})
    code = ("import evals.scenario as s\n"
            "print(s.__file__)\n"
            f"try:\n    s.load_scenario(__import__('pathlib').Path({str(folder)!r}))\n"
            "except s.ScenarioError as e:\n    print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site)})
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0] == str(site / "evals" / "scenario.py")
    assert lines[1].startswith("refused: ") and "expect/severity" in lines[1], lines
