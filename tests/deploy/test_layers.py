"""shared/ knows no service: the services are handed to it by their caller (services/cli.py, the tests).

Read from the source, so a later import of a service, or a module loaded by
name, fails here rather than in a review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def imported_modules(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted(SHARED.glob("*.py")), ids=lambda p: p.name)
def test_shared_module_imports_no_service_and_loads_nothing_by_name(path: Path) -> None:
    modules = imported_modules(ast.parse(path.read_text(encoding="utf-8")))
    assert not {m for m in modules if m == "services" or m.startswith("services.")}, f"{path.name} imports a service"
    assert "importlib" not in modules, f"{path.name} loads modules by name"
