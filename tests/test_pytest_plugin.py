"""The installed pytest plugin: in a student's folder, `pytest --echo-server CMD` alone checks a
server against the bundled spec; in anyone else's test run it stays out of the way."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from conformance.plugin import paired
from tests.helpers import ROOT, SERVERS


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest as a user runs it there: plugins found through their entry points."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        cwd=folder,
        env={k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"},
    )


def test_a_student_folder_checks_its_server_with_no_conftest(tmp_path: Path) -> None:
    shutil.copy(ROOT / "impls/select/server.py", tmp_path / "server.py")
    proc = pytest_in(
        tmp_path, "--echo-server", "python3 server.py {port}", "--echo-profile", "quick", "-n", "3"
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "12 passed" in proc.stdout


def test_a_failure_names_its_requirement_and_its_replay_works_from_that_folder(
    tmp_path: Path,
) -> None:
    shutil.copy(SERVERS / "forgets_z.py", tmp_path / "server.py")
    server = ["--echo-server", "python3 server.py {port}"]
    proc = pytest_in(tmp_path, *server, "--echo-only", "listen", "--echo-only", "upper", "-rf")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr
    assert "1 failed, 1 passed" in proc.stdout
    assert "FAILED echo.toml::server::upper" in proc.stdout
    [hint] = [line for line in proc.stdout.splitlines() if line.startswith("replay: pytest ")]
    again = pytest_in(tmp_path, *shlex.split(hint.removeprefix("replay: pytest ")))
    assert again.returncode == 1, again.stdout[-3000:] + again.stderr
    assert "1 failed" in again.stdout and "upper (MUST) violated" in again.stdout


def test_someone_elses_test_run_is_left_alone(tmp_path: Path) -> None:
    """Installed in an environment, the plugin collects nothing unasked, and its options do not
    take the names other plugins use."""
    (tmp_path / "test_mine.py").write_text("def test_mine():\n    assert 1 + 1 == 2\n")
    proc = pytest_in(tmp_path, "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    helped = pytest_in(tmp_path, "--help")
    assert "--echo-server" in helped.stdout  # the plugin is loaded, through its entry point
    ours = [w for w in helped.stdout.split() if w.startswith("--echo")]
    assert ours and all(w.startswith("--echo-") for w in ours)
    for name in ("--spec", "--profile", "--impl", "--only", "--seed"):
        assert f"  {name} " not in helped.stdout and f"  {name}=" not in helped.stdout


def test_a_bad_option_value_is_one_usage_error(tmp_path: Path) -> None:
    proc = pytest_in(tmp_path, "--echo-server", "python3 server.py {port}", "--echo-only", "nope")
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    assert "Traceback" not in proc.stderr
    assert "nope" in proc.stderr


def test_each_worker_starts_with_a_long_check_and_a_short_one():
    """pytest-xdist hands each worker two tests at the start, run one after the other: each
    long check is paired with a short one, never with another long one."""
    assert paired([9, 8, 7, 6, 5, 4, 3, 2, 1], 3) == [9, 1, 8, 2, 7, 3, 6, 5, 4]
    assert paired([9, 8, 7], 8) == [9, 7, 8]  # fewer tests than workers: a pair, then the rest
    assert paired([9, 8, 7, 6], 1) == [9, 6, 8, 7]  # one process: the order hardly matters
