"""The supervisor as a program: what it imports, and when (conformance/driver/supervisor/)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conformance.driver.sandbox import SUPERVISOR

PACKAGE = "conformance.driver.supervisor"
FOLDER = Path(SUPERVISOR).parent
MODULES = sorted(p.stem for p in FOLDER.glob("*.py"))


def test_it_imports_every_module_of_its_own_at_start_and_nothing_of_the_suite():
    """Started as the launcher starts it, it imports each of its modules before it does anything
    (after pivot_root its folder may be out of sight), the standard library, and of the suite only
    the packages that hold it (docstrings): it starts fast and imports nothing of the runner."""
    ran = subprocess.run(
        [sys.executable, "-I", "-S", "-X", "importtime", SUPERVISOR, "--probe"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in ran.stderr.splitlines()
        if line.startswith("import time:") and line.split()[2].isdigit()
    }
    ours = {m for m in imported if m.split(".")[0] == "conformance"}
    expected = {f"{PACKAGE}.{m}" for m in MODULES if m not in ("__init__", "__main__")}
    assert ours == {"conformance", "conformance.driver", PACKAGE} | expected, ran.stderr
    others = {m.split(".")[0] for m in imported - ours}
    assert others <= set(sys.stdlib_module_names), others - set(sys.stdlib_module_names)
    # Each server start pays for them: typing (for annotations only) 8 ms, runpy 4 ms.
    assert not others & {"typing", "runpy"}, others & {"typing", "runpy"}


def test_its_modules_import_at_the_top_only_and_stand_in_for_no_standard_module():
    """No import inside a function (it would run after pivot_root); and, as python puts the
    folder first on sys.path until __main__.py takes it off, no module named as a standard one."""
    assert not set(MODULES) & set(sys.stdlib_module_names)
    for name in MODULES:
        tree = ast.parse((FOLDER / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
                assert not inner, f"{name}.py imports in {node.name}()"
