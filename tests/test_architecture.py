"""The house rules that no single feature test would catch (CONTRIBUTING.md, "Layout").

Read from the source itself (every import, those inside functions included), so that a module
moved or an import added in the wrong direction fails here, with the offending import named.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage")
#: The layers, from the outside in: a module may import its own layer and the ones after it.
LAYERS = ("bot", "handlers", "storage")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """(project module, line) of every import in the module, wherever it is written."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target, node.lineno


GRAPH = {name: sorted(set(_imported(name, path))) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def test_imports_go_one_way_bot_handlers_storage():
    upward = [
        f"{name}:{line} imports {target}"
        for name, targets in GRAPH.items()
        for target, line in targets
        if _layer(target) < _layer(name)
    ]
    assert upward == []


def test_handlers_core_imports_no_capability():
    """handlers/core is what every capability shares: it depends on none of them."""
    wrong = [
        f"{name}:{line} imports {target}"
        for name, targets in GRAPH.items()
        if name.startswith("handlers.core")
        for target, line in targets
        if target.startswith("handlers.") and not target.startswith("handlers.core")
    ]
    assert wrong == []


def test_no_import_cycle_between_modules():
    """Not even through an import inside a function: a cycle means two modules that can only
    be understood together."""
    edges = {name: {target for target, _ in targets} for name, targets in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_fronts_do_not_compare_action_names():
    """Which action asks for a reason, groups as a select, or is private comes from its
    declaration (handlers.core.actions), never from `press.action == "refuse"` in a front."""
    found = []
    for name, path in MODULES.items():
        if not name.startswith("bot."):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            names_action = any(isinstance(s, ast.Attribute) and s.attr == "action" for s in sides)
            literal = any(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides)
            if names_action and literal:
                found.append(f"{name}:{node.lineno}")
    assert found == []
