"""A submission sees nothing but itself, graded as root or by an unprivileged user: beside correct
ones, a server that tries to read what is not its own (a file only the grader may read, another
submission, the grades folder, /home, /etc/shadow), to write outside its scratch folder and to
gain privileges through a setuid binary gets nothing of it into any report; the attempts show as
its own errors."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_grade import failed, grades_of, make_class, processes_in
from tests.users import User


@pytest.fixture
def secrets(grader: User) -> Iterator[tuple[str, Path, Path]]:
    """Places outside the class with a token each: a file only the grader may read (in a folder
    only it may enter), a folder in /home.  Removed afterwards."""
    token = uuid.uuid4().hex
    private = grader.folder("private") / "solution.py"
    private.write_text(f"GRADER-ONLY-{token}\n")
    private.chmod(0o600)
    grader.own(private)
    in_home = Path("/home") / f"echo-conformance-{token}"
    in_home.mkdir(parents=True)
    try:
        yield token, private, in_home
    finally:
        shutil.rmtree(in_home)


@pytest.mark.grading
def test_a_snooping_submission_gets_nothing_into_any_report(grader: User, secrets) -> None:
    token, private, in_home = secrets
    root = make_class(
        grader.home / "class",
        {"alice": "ok_threads.py", "bob": "ok_selectors.py", "mallory": "hostile_snoop.py"},
    )
    alice = root / "alice" / "server.py"
    alice.write_text(alice.read_text() + f"\n# ALICE-PRIVATE-{token}\n")
    out = grader.folder("grades")
    (out / "previous.csv").write_text(f"GRADES-{token}\n")
    # What must not leak: the secrets, and /etc/shadow's first line where we may read it.
    secret = [f"GRADER-ONLY-{token}", f"ALICE-PRIVATE-{token}", f"GRADES-{token}", in_home.name]
    if os.access("/etc/shadow", os.R_OK):
        secret.append(Path("/etc/shadow").read_text().splitlines()[0])
    targets = {
        "read": [private, alice, out / "previous.csv", Path("/etc/shadow")],
        "list": [Path("/home"), out],
        "write": [root / "mallory" / "defaced.txt", out / "defaced.txt", Path("/tmp/mine.txt")],
        "mount": [Path("/tmp/gained")],
    }
    (root / "mallory" / "targets.txt").write_text(
        "".join(f"{action} {path}\n" for action, paths in targets.items() for path in paths)
    )
    grader.own(root)
    html, junit, one = grader.home / "class.html", grader.home / "junit.xml", out / "gradescope"
    command = ["--command", f"{grader.python} server.py 8080", "--fixed-port", "8080"]
    command += ["--profile", "quick"]
    graded = grader.run(
        "grade",
        str(root),
        *command,
        "--out",
        str(out),
        "-n",
        "3",
        "--html",
        str(html),
        "--junit",
        str(junit),
    )
    assert graded.returncode == 0, graded.stderr
    argv = ["grade", str(root / "mallory"), "--format", "gradescope", "--out", str(one)]
    alone = grader.run(*argv, *command)
    assert alone.returncode == 0, alone.stderr

    grades = grades_of(out)
    mode = "namespaces" if grader.uid is None else "user namespaces"
    assert all(f"isolation: {mode};" in row["graded_by"] + ";" for row in grades.values())
    assert grades["alice"]["score"] == grades["alice"]["max_score"], failed(grades["alice"])
    assert grades["bob"]["score"] == grades["bob"]["max_score"], failed(grades["bob"])
    assert "upper" in failed(grades["mallory"])
    said = [*out.rglob("*"), html, junit]
    texts = {str(p): p.read_text(errors="replace") for p in said if p.is_file()}
    texts = {k: v for k, v in texts.items() if not k.endswith("previous.csv")}
    assert str(one / "results.json") in texts
    for leaked in secret:
        assert not [name for name, text in texts.items() if leaked in text], leaked
    # The attempts are in its report, each as its own error.
    report = (out / "mallory" / "report.txt").read_text()
    for path in (private, alice, out / "previous.csv"):
        assert f"snoop read {path}: refused: No such file or directory" in report
    assert "snoop read /etc/shadow: refused: Permission denied" in report
    assert "snoop list /home: refused: No such file or directory" in report
    assert f"snoop write {root / 'mallory' / 'defaced.txt'}: refused: Read-only" in report
    assert "snoop write /tmp/mine.txt: wrote it" in report  # its scratch is its own
    assert "snoop mount /tmp/gained: refused: " in report
    assert "ESCALATED" not in report
    assert not (root / "mallory" / "defaced.txt").exists()
    assert not (out / "defaced.txt").exists()
    results = json.loads((one / "results.json").read_text())
    assert "snoop read /etc/shadow" in json.dumps(results)  # the tail reached Gradescope too
    assert processes_in(grader.home) == []
