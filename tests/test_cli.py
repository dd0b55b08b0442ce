"""The command line contract: exit statuses, one-line errors, JSON (schema-valid) and JUnit."""

from __future__ import annotations

import json
import os
import re
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
from conformance.driver.sandbox import ENV as ISOLATION_ENV
from conformance.driver.sandbox import isolation as isolation_available
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
        (("check", "-v", "--watch", "select"), "--watch and --pcap run the checks in threads"),
        (("check", "--pcap", "README.md", "select"), "--pcap README.md: is not a folder"),
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


Z_BUG = [sys.executable, str(SERVERS / "forgets_z.py"), "{port}", "{host}"]


def outcomes_of(report: Path) -> dict[str, str]:
    return {r["id"]: r["outcome"] for r in json.loads(report.read_text())["requirements"]}


def test_exitfirst_stops_at_the_first_failure_and_leaves_nothing(tmp_path):
    report = tmp_path / "r.json"
    cache = {"ECHO_CONFORMANCE_CACHE": str(tmp_path / "cache")}
    proc = run("check", "-x", "--profile", "quick", "--json", str(report), "--", *Z_BUG, env=cache)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    outcomes = outcomes_of(report)
    assert outcomes["upper"] == "fail"
    assert "fail" not in {o for rid, o in outcomes.items() if rid != "upper"}
    assert "skip" in outcomes.values(), outcomes  # the checks that had not started, or ended
    assert "not run: -x ended the run at the first failure" in proc.stdout
    assert "NOT CONFORMANT: required requirement(s) failed: upper" in proc.stdout
    assert not processes_with(str(SERVERS / "forgets_z.py"))


def test_a_run_checks_first_what_failed_last_time(tmp_path):
    """One check at a time, stopping at the first failure: remembered, upper runs first and
    nothing else runs; with --no-cache the usual order (longest first) passes others first."""
    cache = {"ECHO_CONFORMANCE_CACHE": str(tmp_path / "cache")}
    quick = ("--profile", "quick", "-n", "1")
    first = run("check", *quick, "--", *Z_BUG, env=cache)
    assert first.returncode == 1, first.stdout + first.stderr
    remembered = json.loads((tmp_path / "cache" / "last-failed.json").read_text())
    assert list(remembered.values()) == [["upper"]]
    report = tmp_path / "r.json"
    again = run("check", *quick, "-x", "--json", str(report), "--", *Z_BUG, env=cache)
    assert again.returncode == 1, again.stdout + again.stderr
    assert {o for rid, o in outcomes_of(report).items() if rid != "upper"} == {"skip"}
    usual = run("check", *quick, "-x", "--no-cache", "--json", str(report), "--", *Z_BUG, env=cache)
    assert usual.returncode == 1, usual.stdout + usual.stderr
    assert "pass" in outcomes_of(report).values()


@pytest.mark.parametrize(
    ("isolated", "how"),
    [
        (True, "captured on the server's loopback, in its network namespace"),
        (False, "synthesized from the transcript"),
    ],
    ids=["captured", "synthesized"],
)
def test_pcap_holds_the_failing_exchange_for_wireshark(tmp_path, isolated, how):
    """--pcap: the failed requirement's minimal failing case as a capture that a packet parser
    (scapy's, not ours) reads back: the client's z and the server's unchanged z in the
    segments of the connection the transcript names, by its port.  Captured where the server
    has a loopback of its own, synthesized (checksums and all) where it has not; the report
    says which, and where the file is, and the HTML report links it."""
    from scapy.all import IP, TCP, rdpcap

    if isolated and not isolation_available()[0]:
        pytest.skip("no namespaces here: nothing to capture on")
    env = {} if isolated else {ISOLATION_ENV: "off"}
    captures, html = tmp_path / "captures", tmp_path / "report.html"
    args = ("--profile", "quick", "--only", "listen", "--only", "upper", "--pcap", str(captures))
    proc = run("check", *args, "--html", str(html), "--", *Z_BUG, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [pcap] = captures.iterdir()  # upper's: listen passed
    assert pcap.name.endswith("-upper.pcap"), pcap
    assert f"capture: {pcap} ({how})" in proc.stdout
    assert f'href="captures/{pcap.name}"' in html.read_text()  # the report links it
    [port] = {int(p) for p in re.findall(r"c1 +connect \(port (\d+)\)", proc.stdout)}
    packets = [p for p in rdpcap(str(pcap)) if TCP in p and port in (p[TCP].sport, p[TCP].dport)]
    sent = b"".join(bytes(p[TCP].payload) for p in packets if p[TCP].sport == port)
    replies = b"".join(bytes(p[TCP].payload) for p in packets if p[TCP].dport == port)
    assert (sent, replies) == (b"z", b"z")  # the minimal case: its z came back as it was
    assert {"S", "SA"} <= {str(p[TCP].flags) for p in packets}  # its handshake
    if not isolated:  # scapy computes each checksum again: they must be what we wrote
        for packet in packets:
            rebuilt = IP(bytes(packet))
            del rebuilt[IP].chksum, rebuilt[TCP].chksum
            again = IP(bytes(rebuilt))
            assert (again[IP].chksum, again[TCP].chksum) == (packet[IP].chksum, packet[TCP].chksum)


def test_help_says_where_failures_are_remembered(tmp_path):
    proc = run("check", "--help", env={"ECHO_CONFORMANCE_CACHE": str(tmp_path)})
    assert str(tmp_path / "last-failed.json") in " ".join(proc.stdout.split()).replace("- ", "-")


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


def test_watch_checks_again_when_the_server_changes(tmp_path):
    """A buggy server.py, then a fixed one written over it: the watch checks it again and says
    so.  Changed again while a run waits for a slow server to start, it cuts that run short and
    starts again.  Ctrl-C ends the watch with status 0 and no process left."""
    import queue
    import threading

    folder = tmp_path / "student"
    folder.mkdir()
    server = folder / "server.py"
    server.write_text((SERVERS / "forgets_z.py").read_text())
    argv = [*CLI, "check", "--watch", "--profile", "quick", "--only", "upper", "--only", "listen"]
    proc = subprocess.Popen(
        [*argv, "--", sys.executable, "server.py", "{port}"],
        cwd=folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "ECHO_CONFORMANCE_CACHE": str(tmp_path / "cache")},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()

    def until_watching() -> str:
        """The output up to the next "watching ... for changes" line."""
        seen, deadline = [], time.monotonic() + 120
        while not seen or not seen[-1].startswith("watching "):
            seen.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
        return "".join(seen)

    try:
        first = until_watching()
        assert "NOT CONFORMANT" in first and "server.py" in first.splitlines()[-1], first
        server.write_text((SERVERS / "ok_selectors.py").read_text())
        second = until_watching()
        assert "CONFORMANT on the 2 of 12 requirements checked" in second, second
        server.write_text((SERVERS / "slow_start.py").read_text())  # listens after seconds
        time.sleep(1.5)  # its run has begun: it waits for the server to listen
        server.write_text((SERVERS / "ok_selectors.py").read_text() + "\n# fixed again\n")
        third = until_watching()
        assert "changed during the run: checking again" in third, third
        assert third.rstrip().splitlines()[-3].startswith("(")  # a run to its end, timed
    finally:
        proc.send_signal(signal.SIGINT)
        status = proc.wait(timeout=30)
    assert status == 0
    assert not processes_with(str(folder))
