"""The dependency rule: `edi/` (the domain) imports nothing from `connectors/` (the adapters).

The only exception is the command-line entry point, which may import an adapter lazily inside a
command function (an entry point wires adapters to the domain; the domain never needs them).
"""

from __future__ import annotations

import ast
from pathlib import Path

EDI = Path(__file__).resolve().parent.parent / "edi"


def _connector_imports(tree: ast.AST) -> list[tuple[int, bool]]:
    """(line, inside a function) of every import that names the connectors package."""
    found: list[tuple[int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                names = [child.module or ""]
            else:
                names = []
            if any(n.split(".")[0] == "connectors" for n in names):
                found.append((child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def test_domain_does_not_import_adapters() -> None:
    offenders = []
    for path in sorted(EDI.rglob("*.py")):
        for line, in_function in _connector_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if path.name == "cli.py" and path.parent == EDI and in_function:
                continue
            offenders.append(f"{path.relative_to(EDI.parent)}:{line}")
    assert offenders == []


def test_the_rule_is_checked_on_real_code() -> None:
    tree = ast.parse("import connectors.api\nfrom connectors.core import client\ndef f():\n    import connectors\n")
    assert _connector_imports(tree) == [(1, False), (2, False), (4, True)]
