"""No run is lost to bad input: every wrong input is one line and exit 2 before the first check;
a run on a subset says so; every report says which suite gave it; a folder's settings apply."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from conformance import __version__
from conformance.driver.sandbox import isolation as isolation_available
from conformance.reports.report import SCHEMA
from tests.helpers import ROOT, SERVERS
from tests.test_cli import CLI, OK, one_line_error, run

QUICK = ("--profile", "quick", "-n", "1")


def test_version_first_line_is_the_version_alone() -> None:
    for argv in ([*CLI, "--version"], [sys.executable, "-m", "conformance", "--version"]):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[0] == f"echo-conformance {__version__}"
        assert any(line.startswith("spec: uppercase-echo ") for line in lines)
        assert any(line.startswith("isolation: ") for line in lines)


@pytest.mark.parametrize("subcommand", [("check", "select"), ("grade", ".")])
def test_an_unknown_profile_in_the_environment_is_one_line(
    subcommand: tuple[str, ...], tmp_path: Path
) -> None:
    proc = run(*subcommand, env={"ECHO_CONFORMANCE_PROFILE": "fast"}, cwd=tmp_path)
    line = one_line_error(proc)
    assert "unknown profile 'fast' from $ECHO_CONFORMANCE_PROFILE" in line


@pytest.mark.parametrize(
    ("flag", "path", "message"),
    [
        ("--json", "/nonexistent/r.json", "no folder /nonexistent"),
        ("--junit", "/nonexistent/j.xml", "no folder /nonexistent"),
        ("--html", ".", "is a folder"),
    ],
)
def test_an_output_that_cannot_be_written_stops_the_run_before_it_starts(
    flag: str, path: str, message: str, tmp_path: Path
) -> None:
    server = tmp_path / "started"
    # A server that would leave a mark if it were ever started.
    (tmp_path / "s.py").write_text(f"open({str(server)!r}, 'w').close()\n")
    proc = run("check", flag, path, "--", sys.executable, str(tmp_path / "s.py"), cwd=tmp_path)
    assert message in one_line_error(proc)
    assert not server.exists()


def test_a_grade_out_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "grades").write_text("not a folder")
    proc = run("grade", "class", "--out", "grades", cwd=tmp_path)
    assert "--out grades: is not a folder" in one_line_error(proc)


def test_a_subset_says_so_in_its_verdict_and_reports(tmp_path: Path) -> None:
    report, junit, html = tmp_path / "r.json", tmp_path / "j.xml", tmp_path / "r.html"
    proc = run(
        "check",
        *QUICK,
        *("--only", "listen", "--only", "upper"),
        *("--json", str(report), "--junit", str(junit), "--html", str(html)),
        "--",
        *OK,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verdict: CONFORMANT on the 2 of 12 requirements checked" in proc.stdout
    data = json.loads(report.read_text())
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    assert (data["requirements_checked"], data["requirements_in_spec"]) == (2, 12)
    assert data["suite"]["version"] == __version__
    assert data["suite"]["spec"] == "uppercase-echo 1.4.0"
    assert data["suite"]["python"].endswith(".".join(map(str, sys.version_info[:3])))
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).iter("property")}
    assert props["requirements checked"] == "2 of 12"
    assert props["echo-conformance version"] == __version__
    assert props["echo-conformance isolation"].startswith(
        ("namespaces", "user namespaces", "fallback (")
    )
    page = html.read_text()
    assert f"echo-conformance {__version__}" in page
    assert "only the 2 of 12 requirements checked" in page


def test_grades_and_gradescope_say_what_graded_them(tmp_path: Path) -> None:
    (tmp_path / "class" / "alice").mkdir(parents=True)
    shutil.copy(SERVERS / "ok_selectors.py", tmp_path / "class" / "alice" / "server.py")
    proc = run("grade", "class", "--command", "python3 server.py {port}", *QUICK, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(tmp_path / "grades" / "grades.csv", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["graded_by"].startswith(f"echo-conformance {__version__}; spec uppercase-echo")
    one = run(
        "grade",
        "class/alice",
        "--format",
        "gradescope",
        "--command",
        "python3 server.py {port}",
        *QUICK,
        "--out",
        "results",
        cwd=tmp_path,
    )
    assert one.returncode == 0, one.stdout + one.stderr
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["extra_data"]["echo_conformance"]["version"] == __version__
    assert f"graded by echo-conformance {__version__}" in results["output"]


def test_a_folder_s_settings_choose_the_server_and_profile(tmp_path: Path) -> None:
    """A course's repository: `echo-conformance check` alone, from any folder in it."""
    shutil.copy(SERVERS / "forgets_z.py", tmp_path / "server.py")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "course"\n\n'
        "[tool.echo-conformance]\n"
        'command = "python3 server.py {port}"\nprofile = "quick"\n'
    )
    (tmp_path / "notes").mkdir()
    proc = run("check", "--only", "upper", "--json", "r.json", "-n", "1", cwd=tmp_path / "notes")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"settings from {tmp_path / 'pyproject.toml'}" in proc.stderr
    assert "upper" in proc.stdout and "0x7A 'z'" in proc.stdout
    assert (tmp_path / "notes" / "r.json").exists()  # where it was asked for, not where it ran


def test_malformed_settings_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "echo-conformance.toml").write_text('command = "x"\nprot = 8080\n')
    line = one_line_error(run("check", cwd=tmp_path))
    assert "echo-conformance.toml: prot: unknown key" in line


def test_the_command_line_overrides_settings(tmp_path: Path) -> None:
    (tmp_path / "echo-conformance.toml").write_text('command = "no-such-server-xyz {port}"\n')
    plain = [sys.executable, str(ROOT / "impls/plain-echo/server.py"), "{port}", "{host}"]
    proc = run("check", *QUICK, "--only", "listen", "--", *plain, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_share_shows_a_course_s_folder_to_the_server_and_says_so(tmp_path: Path) -> None:
    available, why = isolation_available()
    if not available:
        pytest.skip(f"without isolation a server sees all its user may: {why}")
    course = tmp_path / "course"
    course.mkdir()
    (course / "words.txt").write_text("shared words\n")
    student = tmp_path / "student"
    student.mkdir()
    shutil.copy(ROOT / "impls/select/server.py", student / "echo.py")
    # Listens only when it can read the course's file.
    (student / "server.py").write_text(
        f"import runpy, sys\nopen({str(course / 'words.txt')!r}).read()\n"
        "runpy.run_path('echo.py', run_name='__main__')\n"
    )
    command = ("--", "python3", "server.py", "{port}")
    alone = run("check", *QUICK, "--only", "listen", *command, cwd=student)
    assert alone.returncode == 1, alone.stdout + alone.stderr
    assert "No such file or directory" in alone.stdout  # its stderr tail, in the report
    report = tmp_path / "r.json"
    shared = run(
        "check",
        *QUICK,
        "--only",
        "listen",
        "--share",
        str(course),
        "--json",
        str(report),
        *command,
        cwd=student,
    )
    assert shared.returncode == 0, shared.stdout + shared.stderr
    assert f"shared with it, read-only: {course}" in shared.stdout
    assert json.loads(report.read_text())["shared"] == [str(course)]
    missing = run("check", "--share", str(tmp_path / "nope"), *command, cwd=student)
    assert "--share" in one_line_error(missing) and "no such folder" in missing.stderr
