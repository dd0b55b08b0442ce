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


# The driver's contract (conformance/driver/__init__.py): the spec's data and the outcomes only.
DRIVER_MAY_IMPORT = {"conformance.driver", "conformance.spec", "conformance.outcome"}
DRIVER_MAY_IMPORT |= {"conformance.bundled", "conformance.profiles", "conformance.payload"}


def suite_modules(path: Path) -> set[str]:
    """The modules of the suite that `path` imports (a name taken from a package: the package)."""
    known = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in imports(path) if m in known}


def test_the_driver_decides_nothing():
    """The driver imports neither the model nor anything above it: it moves bytes and runs
    processes, and never judges them."""
    for path in (PACKAGE / "driver").rglob("*.py"):
        found = {
            m
            for m in suite_modules(path)
            if m != "conformance" and not any(m.startswith(ok) for ok in DRIVER_MAY_IMPORT)
        }
        assert not found, f"{module_name(path)} imports {sorted(found)}"


def test_reports_run_nothing():
    """A report renders what the runner found: it imports no check, runner, command line,
    grading or comparison."""
    above = ("conformance.checks", "conformance.runner", "conformance.plugin", "conformance.cli")
    above += ("conformance.grade", "conformance.compare", "conformance.session")
    for path in (PACKAGE / "reports").glob("*.py"):
        found = {m for m in suite_modules(path) if m.startswith(above)}
        assert not found, f"{module_name(path)} imports {sorted(found)}"


def every_import(path: Path) -> Iterator[str]:
    """The conformance modules `path` names in an import, for type checking too."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_no_import_cycle():
    """Modules import each other one way only, type hints included: a reader can take the
    package in layers, bottom up.  (A package's __init__ may hand on its modules' names.)"""
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {
        name: {m for m in every_import(path) if m in paths and m != name}
        for name, path in paths.items()
    }
    for name, path in paths.items():  # a package's face is not a layer of its own
        if path.name == "__init__.py":
            graph[name] = set()
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done

    def walk(name: str, path: list[str]) -> None:
        state[name] = 1
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                walk(nxt, [*path, nxt])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])


PUBLIC = ("conformance.catalog", "conformance.checks", "conformance.spec", "conformance.outcome")


def test_the_public_surface_is_declared_and_there():
    """What conformance/__init__.py calls public has an __all__, and every name in it exists."""
    import importlib

    for name in PUBLIC:
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        assert exported, f"{name} declares no __all__"
        missing = [n for n in exported if not hasattr(module, n)]
        assert not missing, f"{name}.__all__ names what it lacks: {missing}"
        assert name in (conformance.__doc__ or ""), f"{name} is not named public"
