"""The package's contracts, read from its source: which module may import which."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import conformance

PACKAGE = Path(conformance.__file__).parent
# Those that run checks; every other module chooses, loads or reports without loading one.
RUNS_CHECKS = {"conformance.runner"}
# What a check may not import: the layers above it.
ABOVE_THE_CHECKS = [["conformance", "runner"], ["conformance", "plugin"], ["conformance", "cli"]]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """The conformance modules `path` imports when it runs (not for type checking only)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_only_the_runner_runs_checks():
    """Choosing checks, loading a spec and reporting never load a check (nor Hypothesis): the
    catalog names each check's function as a string."""
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        if name.startswith("conformance.checks") or name in RUNS_CHECKS:
            continue
        found = [m for m in imports(path) if m.startswith("conformance.checks")]
        assert not found, f"{name} imports {found}"


def test_the_checks_import_nothing_above_them():
    for path in (PACKAGE / "checks").glob("*.py"):
        found = [m for m in imports(path) if m.split(".")[:2] in ABOVE_THE_CHECKS]
        assert not found, f"{module_name(path)} imports {found}"
