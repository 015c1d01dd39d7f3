"""The package's layers depend downward only: no import cycle among its modules (imports inside
functions counted too), nothing in ``training/`` imports ``detection/``, and imports sit at the
top of their module (the command line, which imports lazily to start fast, aside). The same
check as ``python ../shared/tools/import_graph.py src stalstm --forbid training:detection
--lazy-ok cli``, done here so that it runs wherever the tests run."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"
MOST_IMPORTS_INSIDE_FUNCTIONS = 10  # each a heavy optional dependency, said so in a comment


def module_files() -> dict[str, Path]:
    modules = {}
    for path in sorted((SOURCE / "stalstm").rglob("*.py")):
        parts = list(path.relative_to(SOURCE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def import_graph() -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    """Edges between package modules, and (module, target) of every import inside a function
    outside the command line."""
    modules = module_files()

    def resolve(name: str) -> str | None:
        # a name that is no .py module here (a C extension) is a leaf, not its package
        return name if name in modules else None

    edges: dict[str, set[str]] = {module: set() for module in modules}
    inside: list[tuple[str, str]] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        in_function = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                targets = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
                targets = targets or [base]
            else:
                continue
            for target in {resolve(t) for t in targets if t.split(".")[0] == "stalstm"}:
                if target is None or target == module:
                    continue
                edges[module].add(target)
                if id(node) in in_function and not module.startswith("stalstm.cli"):
                    inside.append((module, target))
    return edges, inside


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_and_training_knows_nothing_of_detection():
    edges, inside = import_graph()
    assert cycles(edges) == []
    upward = [
        (a, b)
        for a, targets in edges.items()
        for b in targets
        if a.startswith("stalstm.training") and b.startswith("stalstm.detection")
    ]
    assert upward == []
    assert len(inside) <= MOST_IMPORTS_INSIDE_FUNCTIONS, inside


def test_the_check_finds_a_cycle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
