"""`grade`: submissions found, shards and merge, and (grading) a class of servers that all want
port 8080, hostile ones included, graded in parallel, with nothing of theirs left behind."""

from __future__ import annotations

import csv
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conformance.driver.locks import PortLock
from conformance.driver.sandbox import ENV
from conformance.driver.sandbox import isolation as isolation_available
from conformance.grade import find_submissions, merge, shard
from conformance.outcome import UsageError
from conformance.reports.about import isolation_mode
from conformance.reports.html_report import anchor
from conformance.spec import DEFAULT_SPEC, load_spec
from tests.helpers import SERVERS

COMMAND = f"{sys.executable} server.py 8080"  # every server of the class hard-codes 8080


def make_class(root: Path, servers: dict[str, str]) -> Path:
    """A submissions folder: one subfolder per name, holding tests/servers/FILE as server.py."""
    root.mkdir()
    for name, file in servers.items():
        (root / name).mkdir()
        if file:
            shutil.copy(SERVERS / file, root / name / "server.py")
    return root


def grade(
    submissions: Path, out: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[dict[str, dict[str, str]], float]:
    """Run `echo-conformance grade` as a user does; its grades by submission, and its time."""
    argv = [sys.executable, "-m", "conformance.cli", "grade", str(submissions)]
    argv += ["--command", COMMAND, "--fixed-port", "8080", "--profile", "quick", "--out", str(out)]
    started = time.monotonic()
    done = subprocess.run(
        [*argv, *extra], capture_output=True, text=True, env=env, timeout=900, check=False
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    return grades_of(out), took


def grades_of(out: Path) -> dict[str, dict[str, str]]:
    """grades.csv, by submission."""
    with open(out / "grades.csv", newline="") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


def failed(row: dict[str, str]) -> set[str]:
    return {k for k, v in row.items() if v in ("fail", "error")}


# -- finding submissions, shards, merge -------------------------------------------------------


def test_submissions_are_the_subfolders(tmp_path):
    root = make_class(tmp_path / "class", {"ada": "ok_threads.py", "bob": "", ".git": ""})
    (root / "cy").mkdir()
    (root / "cy" / "impl.toml").write_text(
        'command = "python3 main.py {port}"\n[expected_failures]\nupper = "I know"\n'
    )
    (root / "cy" / "main.py").write_text("")
    subs = {s.name: s for s in find_submissions(root, "python3 server.py", 8080)}
    assert sorted(subs) == ["ada", "bob", "cy"]  # hidden folders are not submissions
    assert subs["ada"].impl is not None and subs["ada"].impl.target.fixed_port == 8080
    assert (
        subs["bob"].impl is None and subs["bob"].problem == "nothing to run: server.py is missing"
    )
    cy = subs["cy"].impl
    assert cy is not None and cy.target.argv[1] == "main.py"
    assert cy.expected_failures == {}  # a student's declarations do not change their grade


def test_shards_split_the_class_deterministically(tmp_path):
    root = make_class(tmp_path / "class", {f"s{i:02}": "" for i in range(10)})
    subs = find_submissions(root, "python3 server.py", None)
    slices = [[s.name for s in shard(subs, f"{k}/3")] for k in (1, 2, 3)]
    assert sorted(n for names in slices for n in names) == sorted(s.name for s in subs)
    assert slices == [[s.name for s in shard(list(reversed(subs)), f"{k}/3")] for k in (1, 2, 3)]
    for bad in ("0/3", "4/3", "a/b", "3"):
        with pytest.raises(UsageError, match="--shard"):
            shard(subs, bad)


def test_merge_combines_shards(tmp_path):
    head = "submission,score,max_score,verdict,listen\n"
    for name, rows in (
        ("one", "bob,0,10,nonconformant,fail\n"),
        ("two", "ada,10,10,conformant,pass\n"),
    ):
        (tmp_path / name / name[0]).mkdir(parents=True)
        (tmp_path / name / "grades.csv").write_text(head + rows)
    assert merge([tmp_path / "one", tmp_path / "two"], tmp_path / "all") == 2
    lines = (tmp_path / "all" / "grades.csv").read_text().splitlines()
    assert lines == [head.strip(), "ada,10,10,conformant,pass", "bob,0,10,nonconformant,fail"]
    assert (tmp_path / "all" / "o").is_dir()  # the report folders come along
    with pytest.raises(UsageError, match="in two shards"):
        merge([tmp_path / "one", tmp_path / "one"], tmp_path / "again")


def test_grade_of_a_missing_folder_is_one_line_and_exit_2(tmp_path):
    argv = [sys.executable, "-m", "conformance.cli", "grade", str(tmp_path / "nope")]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "not a folder" in done.stderr


# -- a class (slow: tox -e grading) ---------------------------------------------------------

CORRECT = {
    "ada": "ok_threads.py",
    "ben": "ok_asyncio.py",
    "cem": "ok_selectors.py",
    "dan": "ok_fork.py",
}
BUGGY = {"eve": "forgets_z.py", "fay": "line_buffered.py"}
HOSTILE = {
    "h-forks": "hostile_fork_children.py",
    "h-daemon": "hostile_daemonize.py",
    "h-sigterm": "hostile_ignore_sigterm.py",
    "h-flood": "hostile_flood_stdout.py",
    "h-memory": "hostile_memory_hog.py",
    "h-spin": "hostile_spin.py",
    "h-silent": "never_listens.py",
    "h-syntax": "syntax_error.py",
    "h-port": "wrong_port.py",
    "h-exit": "exits_after_first.py",
}
# What each must fail at least (hostile traits that break no requirement are contained, not
# graded: a server that ignores SIGTERM or leaves a daemon behind still echoes correctly).
MUST_FAIL = {
    "eve": {"upper"},
    "fay": {"prompt"},
    "h-forks": {"many-connections"},
    # Its hog thread eats the sandbox's memory: threads and buffers fail where they run out, a
    # different requirement from one run to the next (many-connections, close-on-eof, ...).
    "h-memory": set(),
    "h-spin": {"idle-cpu"},
    "h-silent": {"listen"},
    "h-syntax": {"listen"},
    "h-port": {"listen"},
    "h-exit": {"many-connections"},  # it serves one client: the rest is not judged for want of it
}


def processes_in(folder: Path) -> list[int]:
    """Live processes whose working directory is under `folder`."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                mine = os.readlink(f"{entry.path}/cwd").startswith(str(folder))
                if mine and "State:\tZ" not in Path(entry.path, "status").read_text():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def port_8080_free() -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", 8080)) != 0


@pytest.mark.grading
def test_a_class_on_port_8080_hostile_ones_included(tmp_path):
    available, why = isolation_available()
    if not available:
        pytest.skip(f"grading fixed-port servers in parallel needs isolation: {why}")
    hostile = make_class(tmp_path / "class", {**CORRECT, **BUGGY, **HOSTILE})
    # The same 16 places with each hostile server replaced by a correct one (of the class's
    # styles, in turn).  Each class is graded twice, in turn, and the faster counts: the
    # machine's other work comes and goes.
    styles = itertools.cycle(CORRECT.values())
    calm = make_class(tmp_path / "calm", {**CORRECT, **BUGGY, **{n: next(styles) for n in HOSTILE}})
    times: dict[str, list[float]] = {"hostile": [], "calm": []}
    beside: dict[str, list[float]] = {"hostile": [], "calm": []}  # the neighbours' check time
    for attempt in range(2):
        for kind, folder, out in (
            ("hostile", hostile, tmp_path / f"grades-{attempt}"),
            ("calm", calm, tmp_path / f"calm-{attempt}"),
        ):
            graded, took = grade(folder, out, "-n", "4")
            times[kind].append(took)
            beside[kind].append(check_seconds(out, [*CORRECT, *BUGGY]))
            if kind == "hostile":
                grades = graded
    assert sorted(grades) == sorted({**CORRECT, **BUGGY, **HOSTILE})
    for name in CORRECT:
        assert grades[name]["score"] == grades[name]["max_score"], (name, failed(grades[name]))
    for name, ids in MUST_FAIL.items():
        assert failed(grades[name]) >= ids and failed(grades[name]), (name, grades[name])
    for name in ("h-silent", "h-syntax", "h-port"):
        assert grades[name]["score"] == "0"
    assert processes_in(tmp_path) == []
    assert port_8080_free()
    report = (tmp_path / "grades-1" / "h-port" / "report.txt").read_text()
    assert "listens on port 8081 instead" in report and "hint:" in report
    # Contained: the correct and buggy servers are checked as fast beside hostile ones as beside
    # correct ones.  (A hostile server's own checks may take long: a spinner starves the threads
    # that serve, a server that never listens has the startup timeout.  That is its own cost.)
    neighbours, calm_neighbours = min(beside["hostile"]), min(beside["calm"])
    took, baseline = min(times["hostile"]), min(times["calm"])
    print(
        f"graded in {took:.1f} s, without the hostile servers {baseline:.1f} s; the others' "
        f"checks took {neighbours:.1f} s beside them, {calm_neighbours:.1f} s without ({beside})"
    )
    assert neighbours < 1.5 * calm_neighbours, beside
    assert took < 2 * baseline, times  # and nothing runs away: no hang, no slow leftover


def check_seconds(out: Path, names: list[str]) -> float:
    """How long the checks of these submissions took, from their reports."""
    return sum(
        entry["duration_s"]
        for name in names
        for entry in json.loads((out / name / "report.json").read_text())["requirements"]
    )


@pytest.mark.grading
def test_the_fallback_without_namespaces_gives_the_same_grades(tmp_path, junit_schema):
    servers = {
        "ada": "ok_threads.py",
        "eve": "forgets_z.py",
        "h-silent": "never_listens.py",
        "h-port": "wrong_port.py",
        "nobody": "",
    }
    root = make_class(tmp_path / "class", servers)
    html, junit = tmp_path / "class.html", tmp_path / "junit.xml"
    isolated, _ = grade(
        root, tmp_path / "isolated", "-n", "2", "--html", str(html), "--junit", str(junit)
    )
    env = {**os.environ, ENV: "off"}
    fallback, _ = grade(root, tmp_path / "fallback", "-n", "2", env=env)
    # The same grades; each row says how its server was isolated.
    first = isolation_mode().split(" (")[0]  # "namespaces", "user namespaces" or "fallback"
    for grades, mode in ((isolated, first), (fallback, "fallback")):
        assert all(f"isolation: {mode}" in grades[name].pop("graded_by") for name in servers)
    assert fallback == isolated
    assert processes_in(tmp_path) == []
    # The class's reports: every submission's row, every failure's evidence.
    page = html.read_text()
    failures = [(name, rid) for name, row in isolated.items() for rid in failed(row)]
    assert ("eve", "upper") in failures and ("nobody", "listen") in failures
    for name, rid in failures:
        assert f'id="{anchor(name, rid)}"' in page, (name, rid)
    assert "wrong byte" in page and "listens on port 8081 instead" in page
    assert "http://" not in page and "https://" not in page  # opens offline
    junit_schema.validate(str(junit))
    cases = ET.parse(junit).getroot().iter("testcase")
    assert sum(1 for c in cases if c.find("failure") is not None) == len(failures)


@pytest.mark.grading
def test_detect_port_grades_a_server_where_it_listens(tmp_path):
    root = make_class(tmp_path / "class", {"h-port": "wrong_port.py"})
    grades, _ = grade(root, tmp_path / "grades", "--detect-port")
    assert grades["h-port"]["listen"] == "pass"
    assert "graded on port 8081" in (tmp_path / "grades" / "h-port" / "report.txt").read_text()


def test_an_unprivileged_user_checks_two_8080_servers_at_once(unprivileged):
    """In user namespaces, each server has a loopback of its own: two that hard-code 8080 are
    checked at the same time while 8080 is taken here, and nothing of theirs (a daemon one of
    them leaves) runs afterwards."""
    pair = make_class(
        unprivileged.home / "pair", {"a": "ok_threads.py", "b": "hostile_daemonize.py"}
    )
    unprivileged.own(pair)
    argv = ["check", "--fixed-port", "8080", "--profile", "quick", "-q", "--"]
    argv += [unprivileged.python, "server.py", "8080"]
    # 8080 here is ours (its lock first: fallback tests of other workers wait for it).
    with PortLock(8080), socket.create_server(("127.0.0.1", 8080)), ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda name: unprivileged.run(*argv, cwd=pair / name), "ab"))
    for ran in runs:
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "verdict: CONFORMANT" in ran.stdout
        assert "without isolation" not in ran.stderr
    assert processes_in(pair) == []


# The servers of the issue that asked for one defect, one failed requirement, and which one.
ONE_DEFECT = {
    "z": ("forgets_z.py", "upper"),
    "newline": ("line_buffered.py", "prompt"),
    "third": ("exits_every_third.py", "many-connections"),
    "ff": ("exits_on_ff.py", "upper"),
    "no-accept": ("never_accepts.py", "listen"),
    "idle-1s": ("idle_timeout_1s.py", "persist"),
}


@pytest.mark.grading
def test_one_defect_fails_one_requirement_in_both_sandboxes(grader):
    """Graded by root (namespaces) or by an unprivileged user (user namespaces), each of these
    servers fails the requirement of its defect, and only it; the line-buffered server's other
    requirements (all but listen) are not judged for want of prompt."""
    servers = {name: file for name, (file, _) in ONE_DEFECT.items()}
    root = make_class(grader.home / "one-defect", servers)  # (its home outlives the test)
    grader.own(root)
    out = grader.folder("one-defect-grades")
    argv = ["grade", str(root), "--command", f"{grader.python} server.py 8080"]
    argv += ["--fixed-port", "8080", "--profile", "quick", "--out", str(out), "-n", "4"]
    graded = grader.run(*argv)
    assert graded.returncode == 0, graded.stderr
    grades = grades_of(out)
    for name, (_, defect) in ONE_DEFECT.items():
        assert failed(grades[name]) == {defect}, (name, grades[name])
    ids = load_spec(DEFAULT_SPEC).ids
    unjudged = {rid for rid in ids if grades["newline"][rid] == "not-judged"}
    assert unjudged == set(ids) - {"listen", "prompt"}, grades["newline"]
    report = (out / "newline" / "report.txt").read_text()
    assert report.count("not judged: needs prompt") == len(unjudged), report
