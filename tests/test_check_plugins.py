"""Checks from outside: a package adds a check (entry point `echo_conformance.checks`) and a spec
file names it; the command line runs it like its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conformance.catalog import ENTRY_POINTS
from conformance.spec import DEFAULT_SPEC
from tests.helpers import SERVERS

# The registration, in a module as light as the catalog: the function is imported when it runs.
REGISTRATION = """
from conformance.catalog import Check, Param

GREETING = Check(
    "course_checks.greeting:check_greeting",
    "greetings sent one after another, each answered",
    0.2,
    {"times": Param(int, "greetings", 3)},
)
"""
FUNCTION = """
from conformance.checks.context import Context, round_trip


def check_greeting(ctx: Context) -> None:
    times = ctx.params["times"]
    with ctx.session(stateless=False) as s:
        for i in range(times):
            round_trip(s, b"hello %d" % i)
    ctx.show(f"{times} greetings, each answered")
"""
REQUIREMENT = """
[[requirement]]
id = "greets"
level = "SHOULD"
points = 1
title = "Answers greetings"
text = "Each greeting is answered, uppercased."
check = "greeting"
params = { times = 2 }
"""


def install(site: Path, entry_point: str) -> None:
    """The package as pip would leave it: its modules and a dist-info naming its entry point."""
    package = site / "course_checks"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "registry.py").write_text(REGISTRATION)
    (package / "greeting.py").write_text(FUNCTION)
    dist = site / "course_checks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: course-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINTS}]\n{entry_point}\n")


def check(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    spec = tmp_path / "course.toml"
    spec.write_text(DEFAULT_SPEC.read_text() + REQUIREMENT)
    server = [sys.executable, str(SERVERS / "ok_selectors.py"), "{port}", "{host}"]
    cli = [sys.executable, "-m", "conformance.cli", "check", "--spec", str(spec)]
    return subprocess.run(
        [*cli, *args, "--", *server],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
    )


def test_a_check_from_an_installed_package_runs_from_its_spec_file(tmp_path):
    install(tmp_path / "site", "greeting = course_checks.registry:GREETING")
    report = tmp_path / "report.json"
    done = check(tmp_path, "--only", "greets", "--json", str(report), "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    (entry,) = json.loads(report.read_text())["requirements"]
    assert entry["id"] == "greets" and entry["outcome"] == "pass", entry
    assert entry["details"]["condition"] == "greetings sent one after another, each answered"
    assert entry["details"]["shown"] == "2 greetings, each answered"  # the spec's parameter


def test_a_check_plugin_that_cannot_load_is_one_line(tmp_path):
    install(tmp_path / "site", "greeting = course_checks.missing:GREETING")
    done = check(tmp_path, "--only", "greets")
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "the check 'greeting' from course_checks.missing:GREETING" in line
    assert "cannot be loaded" in line and "Traceback" not in done.stderr
