"""The project's own modules import each other without cycles.

A cycle is a module that cannot be read without the one that reads it: it works only
while the import order happens to suit it, and it turns into a half-initialised module
(an ImportError or a missing name) the day someone imports the other side first. The
graph is built from the AST, so nothing is imported here; imports inside functions count
(a lazy import only postpones the cycle to the first call), imports under
`if TYPE_CHECKING:` do not (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("agents", "graph", "evals", "bot")
MODULES = ("cli",)

def project_modules(root: Path, packages: Iterable[str], modules: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the packages and the top-level modules."""
    found: dict[str, Path] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if "__pycache__" in parts:
                continue
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    for mod in modules:
        if (root / f"{mod}.py").is_file():
            found[mod] = root / f"{mod}.py"
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> Iterable[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: module level and inside functions and
    classes, but not the body of `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _owner(name: str, known: dict[str, Path]) -> str | None:
    """The longest prefix of a dotted name that is a project module."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand in known:
            return cand
    return None


def import_graph(root: Path, packages: Iterable[str] = PACKAGES,
                 modules: Iterable[str] = MODULES) -> dict[str, set[str]]:
    """Module -> the project modules it imports. `from a.b import c` names the module
    a.b.c when there is one, else a.b; `import a.b` names a.b (a package's __init__ is
    not counted as imported by its own submodules: Python runs it first, whatever the
    submodule imports)."""
    known = project_modules(root, packages, modules)
    graph: dict[str, set[str]] = {m: set() for m in known}
    for mod, path in known.items():
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [_owner(a.name, known) for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    here = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    here = here[: len(here) - (node.level - 1)]
                    base = ".".join([*here, base] if base else here)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else _owner(base, known)
                           for a in node.names]
            graph[mod].update(t for t in targets if t and t != mod)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[frozenset[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.add(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    out.append(frozenset(comp))
    return out


def _describe(comps: list[frozenset[str]], graph: dict[str, set[str]]) -> str:
    lines = []
    for comp in comps:
        edges = sorted(f"{a} -> {b}" for a in comp for b in graph[a] if b in comp)
        lines.append(f"cycle among {len(comp)} modules: " + "; ".join(edges))
    return "\n".join(lines)


# ---------------------------------------------------------------- the checker itself


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_checker_finds_a_cycle_through_a_lazy_import_and_relative_imports(tmp_path):
    root = _tree(tmp_path, {
        "pkg/__init__.py": "from pkg.a import A\n",
        "pkg/a.py": "from .b import B\nA = 1\n",
        "pkg/b.py": "def f():\n    from pkg import a\n    return a\nB = 2\n",
        "pkg/c.py": "import pkg.b\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/d.py": "from .. import c\nfrom ..sub import e\n",
        "pkg/sub/e.py": "",
    })
    graph = import_graph(root, ("pkg",), ())
    assert graph["pkg.b"] == {"pkg.a"}  # `from pkg import a` is the module pkg.a
    assert graph["pkg.sub.d"] == {"pkg.c", "pkg.sub.e"}
    assert graph["pkg"] == {"pkg.a"}
    assert cycles(graph) == [frozenset({"pkg.a", "pkg.b"})]


def test_checker_skips_type_checking_imports(tmp_path):
    root = _tree(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from typing import TYPE_CHECKING\nimport pkg.b\n",
        "pkg/b.py": "import typing\nif typing.TYPE_CHECKING:\n    from pkg.a import X\nelse:\n    import pkg.c\n",
        "pkg/c.py": "",
    })
    graph = import_graph(root, ("pkg",), ())
    assert graph["pkg.b"] == {"pkg.c"}
    assert cycles(graph) == []


# ---------------------------------------------------------------- the project


def test_the_graph_covers_the_project():
    graph = import_graph(REPO)
    assert {"cli", "graph.loader", "agents.impact", "bot.core", "evals.runner"} <= set(graph)
    assert "graph.db" in graph["cli"]


def test_no_import_cycle_at_all():
    graph = import_graph(REPO)
    found = cycles(graph)
    assert not found, _describe(found, graph)


def test_the_shipped_packages_import_no_test_code():
    """Test doubles live in tests/fakes/, which the installed package does not have: a
    shipped module that imported them would fail there (and drag fakes into the product)."""
    graph = import_graph(REPO, (*PACKAGES, "tests"))
    assert "tests.fakes.service" in graph["tests.test_bot_core"]  # the scan does see tests/
    leaks = sorted(f"{mod} -> {dep}" for mod, deps in graph.items() if not mod.startswith("tests")
                   for dep in deps if dep.split(".")[0] == "tests")
    assert not leaks, leaks
    fakes = sorted(m for m in graph if not m.startswith("tests") and m.rsplit(".", 1)[-1] in ("testing", "fakes"))
    assert not fakes, f"test doubles inside the shipped packages: {fakes}"

