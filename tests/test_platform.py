"""Platforms: the command line imports and answers everywhere; checking servers outside Linux
stops before anything starts, in one line that says what to do instead.

Windows and macOS are played by this interpreter with the modules they lack blocked (fcntl and
resource, as on Windows) before anything of the suite is imported, and `sys.platform` set after
that, before the command line runs: the suite decides by the platform when it is asked to check,
never at import, while the stdlib would pick Windows-only paths at import (shutil wants _winapi
on Python 3.12) that this interpreter does not have.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.driver import platforms
from conformance.outcome import UsageError

# argv: PLATFORM (or "-" for this one), then what follows the program's name.
WRAPPER = """
import sys
sys.modules["fcntl"] = None  # an import of either now raises ImportError, as on Windows
sys.modules["resource"] = None
chosen = sys.argv.pop(1)
from conformance.cli import main
if chosen != "-":
    sys.platform = chosen
sys.exit(main(sys.argv[1:]))
"""

OTHERS = ["win32", "darwin"]


def cli(platform: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WRAPPER, platform, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("platform", ["-", *OTHERS])
def test_help_and_list_work_without_fcntl_and_resource(platform, tmp_path):
    shown = cli(platform, "--help", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "usage: echo-conformance" in shown.stdout and shown.stderr == ""
    listed = cli(platform, "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "  select " in listed.stdout and "echo.toml:" in listed.stdout
    assert "Traceback" not in listed.stderr


@pytest.mark.parametrize("platform", OTHERS)
def test_merge_works_elsewhere(platform, tmp_path):
    head = "submission,score,max_score,verdict,listen\n"
    for shard, row in (("a", "bea,0,5,nonconformant,fail\n"), ("b", "ada,5,5,conformant,pass\n")):
        (tmp_path / shard).mkdir()
        (tmp_path / shard / "grades.csv").write_text(head + row)
    done = cli(platform, "merge", "a", "b", "--out", "all", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    merged = (tmp_path / "all" / "grades.csv").read_text().splitlines()
    assert merged == [head.strip(), "ada,5,5,conformant,pass", "bea,0,5,nonconformant,fail"]


@pytest.mark.parametrize("platform", OTHERS)
@pytest.mark.parametrize(
    "args",
    [
        ("check", "--", sys.executable, "-c", "open('started', 'w')", "{port}"),
        ("check", "--all"),
        ("grade", "class"),
        ("selftest",),
        ("compare", "select"),
    ],
    ids=["check-command", "check-all", "grade", "selftest", "compare"],
)
def test_checking_servers_elsewhere_is_one_line_and_exit_2(platform, args, tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    (tmp_path / "class" / "ada" / "server.py").write_text("open('started', 'w')\n")
    done = cli(platform, *args, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    (line,) = done.stderr.splitlines()
    assert line.startswith("echo-conformance: checking servers needs Linux, and this is ")
    assert "Dockerfile" in line
    assert ("WSL2" in line) == (platform == "win32")
    assert done.stdout == ""
    # Nothing was started: no server ran to leave its mark.
    assert not list(tmp_path.rglob("started"))


EVERY_MODULE = """
import importlib, pkgutil, sys
sys.modules["fcntl"] = None
sys.modules["resource"] = None
import hypothesis  # reads this platform's build data (sysconfig) at import: under its real name
sys.platform = "win32"
import conformance
for module in pkgutil.iter_modules(conformance.__path__):
    if module.name != "__main__":  # that one runs the command line
        importlib.import_module(f"conformance.{module.name}")
print("imported", len(sys.modules))
"""


def test_every_module_of_the_package_imports_without_fcntl_and_resource(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", EVERY_MODULE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0 and done.stdout.startswith("imported"), done.stderr


PYTEST_WRAPPER = """
import sys
sys.modules["fcntl"] = None
sys.modules["resource"] = None
sys.platform = "darwin"
import pytest
sys.exit(pytest.main(["-p", "conformance.plugin", *sys.argv[1:]]))
"""


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Other plugins stay out: the environment's own read the real platform's build data.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-c", PYTEST_WRAPPER, "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_plugin_refuses_to_check_elsewhere_but_leaves_other_runs_alone(tmp_path):
    (tmp_path / "test_other.py").write_text("def test_other():\n    pass\n")
    other = run_pytest(tmp_path, "test_other.py")
    assert other.returncode == 0, other.stdout + other.stderr
    assert "1 passed" in other.stdout
    asked = run_pytest(tmp_path, "--echo-server", f"{sys.executable} server.py {{port}}")
    assert asked.returncode == pytest.ExitCode.USAGE_ERROR, asked.stdout + asked.stderr
    assert "ERROR: checking servers needs Linux, and this is macOS" in asked.stderr
    assert "Traceback" not in asked.stderr


def test_require_linux_reads_the_platform_at_each_call(monkeypatch):
    platforms.require_linux()  # this machine: Linux (the suite's own tests run only there)
    monkeypatch.setattr(sys, "platform", "freebsd14")
    with pytest.raises(UsageError, match="this is freebsd14: run it on Linux, or in the cont"):
        platforms.require_linux()
