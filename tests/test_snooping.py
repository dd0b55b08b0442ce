"""A submission sees nothing but itself: graded beside correct ones, a server that tries to read
what is not its own (a file only root may read, another submission, the grades folder, /home,
/etc/shadow), to write outside its scratch folder and to gain privileges through a setuid binary
gets nothing of it into any report; the attempts show as its own errors."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from conformance.sandbox import isolation as isolation_available
from tests.test_cli import run
from tests.test_grade import COMMAND, failed, grade, make_class, processes_in


@pytest.fixture
def secrets(tmp_path: Path):
    """Places outside the class with a token each: a root-only file in root's home, a folder in
    /home.  Removed afterwards."""
    available, why = isolation_available()
    if not available:
        # Without namespaces a server reads what its user may: the unprivileged sandbox (user
        # namespaces) is the next step of issue 14.
        pytest.skip(f"a server's view of the file system needs isolation: {why}")
    token = uuid.uuid4().hex
    root_only = Path.home() / f".echo-conformance-secret-{token}"
    root_only.write_text(f"ROOT-ONLY-{token}\n")
    root_only.chmod(0o600)
    in_home = Path("/home") / f"echo-conformance-{token}"
    in_home.mkdir(parents=True)
    try:
        yield token, root_only, in_home
    finally:
        root_only.unlink()
        shutil.rmtree(in_home)


@pytest.mark.grading
def test_a_snooping_submission_gets_nothing_into_any_report(tmp_path: Path, secrets) -> None:
    token, root_only, in_home = secrets
    root = make_class(
        tmp_path / "class",
        {"alice": "ok_threads.py", "bob": "ok_selectors.py", "mallory": "hostile_snoop.py"},
    )
    alice = root / "alice" / "server.py"
    alice.write_text(alice.read_text() + f"\n# ALICE-PRIVATE-{token}\n")
    out = tmp_path / "grades"
    out.mkdir()
    (out / "previous.csv").write_text(f"GRADES-{token}\n")
    shadow = Path("/etc/shadow").read_text().splitlines()[0]
    targets = {
        "read": [root_only, alice, out / "previous.csv", Path("/etc/shadow")],
        "list": [Path("/home"), out],
        "write": [root / "mallory" / "defaced.txt", out / "defaced.txt", Path("/tmp/mine.txt")],
        "mount": [Path("/tmp/gained")],
    }
    (root / "mallory" / "targets.txt").write_text(
        "".join(f"{action} {path}\n" for action, paths in targets.items() for path in paths)
    )
    html, junit = tmp_path / "class.html", tmp_path / "junit.xml"
    grades, _ = grade(root, out, "-n", "3", "--html", str(html), "--junit", str(junit))
    one = tmp_path / "gradescope"
    argv = ["grade", str(root / "mallory"), "--format", "gradescope", "--out", str(one)]
    ran = run(*argv, "--command", COMMAND, "--fixed-port", "8080", "--profile", "quick")
    assert ran.returncode == 0, ran.stderr

    assert grades["alice"]["score"] == grades["alice"]["max_score"], failed(grades["alice"])
    assert grades["bob"]["score"] == grades["bob"]["max_score"], failed(grades["bob"])
    assert "upper" in failed(grades["mallory"])
    said = [*out.rglob("*"), html, junit, one / "results.json"]
    texts = {str(p): p.read_text(errors="replace") for p in said if p.is_file()}
    texts = {k: v for k, v in texts.items() if not k.endswith("previous.csv")}
    for leaked in (f"ROOT-ONLY-{token}", f"ALICE-PRIVATE-{token}", f"GRADES-{token}", shadow):
        assert not [name for name, text in texts.items() if leaked in text], leaked
    assert not [name for name, text in texts.items() if in_home.name in text]
    # The attempts are in its report, each as its own error.
    report = (out / "mallory" / "report.txt").read_text()
    for path in (root_only, alice, out / "previous.csv"):
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
    assert processes_in(tmp_path) == []
