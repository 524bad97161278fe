"""The shape of the package: dependencies run one way, and no module grows past 400 lines.

The import graph is read from the source with `ast`, imports inside functions included, so
a cycle cannot hide behind a late import. See docs/architecture.md for the map.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "newsletter"
MAX_LINES = 400

# Each feature may import those before it, never those after it.
LAYERS = (
    "core",
    "content",
    "render",
    "mail",
    "scheduling",
    "subscribers",
    "users",
    "migrations",  # reads every feature's tables
    "delivery",
    "inbound",  # reads DSNs, complaints, mailto unsubscribes: needs delivery's ledger
    "web",
    "demo",
    "cli",
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module a dotted import name lands in (`pkg.mod.attr` → `pkg.mod`)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import of our package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    nested: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            nested.update(id(n) for n in ast.walk(node) if n is not node)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        targets = {_resolve(name) for name in names if name.startswith("newsletter")}
        for target in sorted(t for t in targets if t and t != module):
            found.append((target, node.lineno, id(node) in nested))
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


# Modules at the package top: its docstring (core) and `python -m newsletter` (the CLI).
TOP = {"newsletter": "core", "newsletter.__main__": "cli"}


def _feature(module: str) -> str:
    return TOP.get(module) or module.split(".")[1]


def _edges(graph: dict[str, list[tuple[str, int, bool]]]) -> dict[str, set[str]]:
    return {m: {target for target, _, _ in imports} for m, imports in graph.items()}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_whole_package() -> None:
    assert len(MODULES) > 50
    assert any(imports for imports in GRAPH.values())


def test_no_import_cycles() -> None:
    assert _cycles(_edges(GRAPH)) == []


def test_no_imports_inside_functions() -> None:
    """A late import of our own code only ever hides a cycle; put it at the top."""
    late = [
        f"{MODULES[m].relative_to(PACKAGE.parent)}:{line} imports {target}"
        for m, imports in GRAPH.items()
        for target, line, inside in imports
        if inside
    ]
    assert late == []


def test_features_depend_one_way() -> None:
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = defaultdict(list)
    for module, imports in GRAPH.items():
        for target, line, _ in imports:
            source, dest = _feature(module), _feature(target)
            if rank[dest] > rank[source]:
                upward[f"{source} → {dest}"].append(f"{module}:{line}")
    assert dict(upward) == {}


def test_every_feature_is_in_a_layer() -> None:
    assert {_feature(m) for m in MODULES} <= set(LAYERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_stays_small(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by concern"


def test_the_checker_finds_a_cycle_behind_a_late_import(tmp_path: Path) -> None:
    """The checker itself: `a` imports `b` at the top, `b` imports `a` inside a function."""
    a = tmp_path / "a.py"
    b = tmp_path / "b.py"
    a.write_text("from newsletter.core import settings\n")
    b.write_text("def late():\n    from newsletter.core.settings import get_settings\n")
    assert _imports("newsletter.x", a) == [
        ("newsletter.core", 1, False),
        ("newsletter.core.settings", 1, False),
    ]
    assert _imports("newsletter.y", b) == [("newsletter.core.settings", 2, True)]
    planted = {"newsletter.a": {"newsletter.b"}, "newsletter.b": {"newsletter.a"}, "c": {"x"}}
    assert _cycles(planted) == [["newsletter.a", "newsletter.b"]]
