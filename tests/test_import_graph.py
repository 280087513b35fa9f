"""The package's import graph has no cycle, counting every import (lazy ones in functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vecloss"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every vecloss module ``path`` imports, anywhere in the file."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
            names = [n if n in modules else node.module for n in names]
        else:
            continue
        targets |= {n for n in names if n in modules}
    return targets


def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_imports_inside_functions() -> None:
    edges = graph()
    assert "vecloss.kernels.compiled" in edges["vecloss.kernels.blocks"]  # a lazy import
    assert "vecloss.io.csv" in edges["vecloss.io.formats"]  # from vecloss.io import csv


def test_vecloss_has_no_import_cycle() -> None:
    assert find_cycle(graph()) is None


#: The layers, bottom first: a module imports from its own layer or the ones below, never
#: above (ARCHITECTURE.md draws them). Every top-level module or package has its place.
LAYERS: list[set[str]] = [
    {"exceptions", "schema", "names", "chunks", "progress", "display", "frames", "plots"},
    {"formulas", "scenario", "reference", "options"},
    {"io"},
    {"checks"},
    {"kernels"},
    {"run"},
    {"risk"},
    {"api", "namespace", "validation", "synthetic"},
    {"cli", "bench", "__main__", "vecloss"},
]


def layer_of(module: str) -> int:
    """The layer of a module: that of its top-level module or package under vecloss."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else parts[0]
    found = [k for k, layer in enumerate(LAYERS) if top in layer]
    assert found, f"{module} has no layer: place {top!r} in tests/test_import_graph.LAYERS"
    return found[0]


def upward(edges: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{a} -> {b}" for a, targets in edges.items() for b in targets if layer_of(b) > layer_of(a)
    )


def test_the_layer_check_sees_an_import_reaching_up() -> None:
    edges = {"vecloss.run.runner": {"vecloss.api"}, "vecloss.api": {"vecloss.run.runner"}}
    assert upward(edges) == ["vecloss.run.runner -> vecloss.api"]


def test_no_import_reaches_up_a_layer() -> None:
    assert upward(graph()) == []


def test_the_command_line_loads_no_bench_and_no_kernel_until_asked() -> None:
    import subprocess
    import sys

    code = (
        "import sys, vecloss.cli; "
        "print(sorted(m for m in sys.modules if m.startswith(('vecloss.bench', 'numba', "
        "'matplotlib', 'duckdb', 'dask'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
