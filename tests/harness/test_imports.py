"""The harness package has no import circles, lazy (function-level) imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

import harness

PACKAGE = Path(harness.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("harness")}


def import_graph() -> nx.DiGraph:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target in _imports(path):
            if target in modules and target != name:
                graph.add_edge(name, target)
    return graph


def test_harness_has_no_import_cycles() -> None:
    graph = import_graph()
    assert graph.has_edge("harness.trace", "harness.seeds")  # the graph is really built
    assert list(nx.simple_cycles(graph)) == []


def test_swarm_and_trace_no_longer_import_each_other() -> None:
    graph = import_graph()
    assert graph.has_edge("harness.swarm", "harness.trace")
    assert not graph.has_edge("harness.trace", "harness.swarm")
