"""The command line contract: exit statuses, one-line errors, JSON (schema-valid) and JUnit."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from conformance.cli.run import default_workers
from conformance.reports.report import SCHEMA
from tests.helpers import ROOT, SERVERS, processes_with

CLI = [sys.executable, "-m", "conformance.cli"]
OK = [sys.executable, str(SERVERS / "ok_selectors.py"), "{port}", "{host}"]


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command line as a user runs it; `env`: variables added to ours."""
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_list_shows_implementations_and_specs():
    proc = run("list")
    assert proc.returncode == 0
    for name in ("select", "tutorial-select", "plain-echo", "echo.toml", "rfc862-echo.toml"):
        assert name in proc.stdout


def test_choosing_checks_does_not_load_hypothesis():
    """The command line and a parallel run's controller only choose checks and report: loading
    Hypothesis and the driver there would delay every worker's start."""
    probe = "import sys, conformance.cli, conformance.plugin; print(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    modules = set(eval(loaded.stdout))
    assert not {"hypothesis", "conformance.checks", "conformance.properties"} & modules


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("check", "--", "no-such-server-xyz", "{port}"), "command not found: no-such-server-xyz"),
        (("check", "--", "./README.md", "{port}"), "not an executable file"),
        (("check",), "give exactly one of"),
        (("check", "select", "--all"), "give exactly one of"),
        (("check", "no-such-impl"), "no implementation 'no-such-impl'"),
        (("check", "--require", "nope", "select"), "no requirement 'nope'"),
        (("check", "--timeout", "0", "select"), "--timeout must be > 0"),
        (("check", "--fixed-port", "8080", "select"), "--fixed-port applies to a command"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args, message):
    assert message in one_line_error(run(*args, cwd=ROOT))


def test_malformed_spec_is_refused_naming_file_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "spec/echo.toml").read_text().replace("reply = 2.0", "reply = 'x'"))
    line = one_line_error(run("check", "--spec", str(bad), "select"))
    assert str(bad) in line and "timeouts.reply" in line


def test_malformed_manifest_is_refused(tmp_path):
    (tmp_path / "impl.toml").write_text('command = "x {port}"\n[expected_failures]\nnope = "?"\n')
    line = one_line_error(run("check", str(tmp_path)))
    assert "impl.toml: expected_failures.nope: no such requirement" in line


def test_conformant_server_exit_0_with_valid_json_and_junit(tmp_path):
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    proc = run(
        "check",
        "--profile",
        "quick",
        "--only",
        "upper",
        "--only",
        "prompt",
        "--json",
        str(report),
        "--junit",
        str(junit),
        "-n",
        "1",
        "--",
        *OK,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verdict: CONFORMANT" in proc.stdout
    data = json.loads(report.read_text())
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    assert data["verdict"] == "conformant"
    assert [(r["id"], r["outcome"]) for r in data["requirements"]] == [
        ("upper", "pass"),
        ("prompt", "pass"),
    ]
    cases = ET.parse(junit).getroot().iter("testcase")
    assert sorted(c.get("name") for c in cases) == ["prompt", "upper"]


def test_nonconformant_server_exit_1_names_requirement_and_difference(tmp_path):
    report = tmp_path / "r.json"
    bug = [sys.executable, str(SERVERS / "forgets_z.py"), "{port}", "{host}"]
    proc = run(
        "check",
        "--profile",
        "quick",
        "--only",
        "upper",
        "--only",
        "listen",
        "--json",
        str(report),
        "--",
        *bug,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "NOT CONFORMANT" in proc.stdout and "upper" in proc.stdout
    assert "0x7A 'z'" in proc.stdout  # the first wrong byte, shown
    data = json.loads(report.read_text())
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    outcomes = {r["id"]: r["outcome"] for r in data["requirements"]}
    assert outcomes == {"listen": "pass", "upper": "fail"}
    # The replay line under the failure, run as printed, sees the same failure again.
    [replay] = [line for line in proc.stdout.splitlines() if line.startswith("replay: ")]
    words = shlex.split(replay.removeprefix("replay: "))
    assert words[:4] == ["echo-conformance", "check", "--only", "upper"], replay
    assert "--profile" in words and "--" in words, replay
    again = run(*words[1:])
    assert again.returncode == 1, again.stdout + again.stderr
    assert "--- upper (MUST)" in again.stdout and "0x7A 'z'" in again.stdout


def test_server_that_listens_but_never_accepts_fails_listen():
    """Its clients' connects succeed (the kernel's backlog): the accept queue tells."""
    never = [sys.executable, str(SERVERS / "never_accepts.py"), "{port}", "{host}"]
    proc = run("check", "--profile", "quick", "--only", "listen", "-n", "1", "--", *never)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "the connection was never accepted" in proc.stdout
    assert "hint: the server listens but does not accept()" in proc.stdout


def test_server_that_never_listens_fails_listen_and_leaves_nothing(tmp_path):
    never = [sys.executable, str(SERVERS / "never_listens.py"), "{port}", "{host}"]
    proc = run("check", "--profile", "quick", "--only", "listen", "-n", "1", "--", *never)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "did not listen on" in proc.stdout


def test_rfc862_spec_runs_with_no_new_code():
    plain = [sys.executable, str(ROOT / "impls/plain-echo/server.py"), "{port}", "{host}"]
    spec = str(ROOT / "spec/rfc862-echo.toml")
    ok = run(
        "check", "--spec", spec, "--profile", "quick", "--only", "echo", "-n", "1", "--", *plain
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    upper = run(
        "check", "--spec", spec, "--profile", "quick", "--only", "echo", "-n", "1", "--", *OK
    )
    assert upper.returncode == 1 and "echo (MUST)" in upper.stdout


def test_enough_workers_that_the_longest_check_sets_the_pace(monkeypatch):
    """Checks mostly wait, so a run overlaps them on more workers than CPUs, up to four a CPU."""
    from conformance.profiles import get_profile
    from conformance.spec import DEFAULT_SPEC, load_spec

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    spec = load_spec(DEFAULT_SPEC)
    one = [r.cost(get_profile("default")) for r in spec.requirements]
    assert default_workers(one) == 3  # the rest fit beside persist on two more
    assert default_workers(one * 8) == 8  # every implementation: four a CPU
    persist = spec.requirement("persist").cost(get_profile("default"))
    assert default_workers([persist] * 5) == 5  # each idles alone
    assert default_workers([spec.requirement("listen").cost(get_profile("default"))]) == 1
    # quick idles a fifth as long: persist is no longer much the longest
    assert default_workers([r.cost(get_profile("quick")) for r in spec.requirements]) == 7


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_check_stops_its_servers(tmp_path, sig):
    """Ctrl-C (or SIGTERM) ends a check at once, with one line and status 2, and leaves none of
    its servers running: its checks run in threads, which do not hear the signal."""
    token = f"interrupted-{sig.name}-{os.getpid()}"
    path = tmp_path / f"{token}.py"
    path.write_text((SERVERS / "ok_selectors.py").read_text())
    command = [sys.executable, str(path), "{port}", "{host}"]
    cli = subprocess.Popen(
        [*CLI, "check", "-q", "--", *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(processes_with(token)) < 3:  # the command, and a supervisor and its server
        assert time.monotonic() < deadline and cli.poll() is None, cli.communicate()
        time.sleep(0.05)
    cli.send_signal(sig)
    _, err = cli.communicate(timeout=30)
    assert cli.returncode == 2, err
    assert err.strip().splitlines()[-1] == "echo-conformance: interrupted"
    assert "Traceback" not in err
    assert processes_with(token) == []
