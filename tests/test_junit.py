"""JUnit XML: valid against the schema CI systems read, one testcase per (implementation,
requirement), every way a check ends mapped to what CI tools show."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

from conformance.impls import adhoc
from conformance.reports.junit import junit_xml
from conformance.reports.report import Entry, Report
from conformance.spec import Spec
from tests.helpers import SERVERS
from tests.test_cli import run


def entry(rid: str, outcome: str, expected: str = "pass", **kw: str) -> Entry:
    return Entry(rid, "MUST", 1, True, outcome, expected=expected, duration_s=0.25, **kw)


def report(spec: Spec, *entries: Entry) -> Report:
    impl = adhoc(["python3", "server.py", "{port}"], name="student-1")
    return Report(spec, impl, "python3 server.py 8080", list(entries), 3.5, "replay {id}")


def test_every_ending_is_valid_junit_and_shown_as_ci_tools_expect(spec, junit_schema, tmp_path):
    hostile = "stderr: \x1b[31mTraceback\x00 <script>alert(1)</script> \udcff"
    reports = [
        report(
            spec,
            entry("listen", "pass"),
            entry("upper", "fail", summary="c1: wrong byte", evidence=hostile),
            entry("prompt", "error", summary="the check could not run: no memory"),
            entry("stream", "skip", summary="not checked"),
            entry("persist", "fail", "fail", summary="c1: early close", expected_reason="bug"),
            entry("concurrent", "pass", "fail", expected_reason="serves one at a time"),
        ),
        report(spec, entry("listen", "pass")),
    ]
    path = tmp_path / "junit.xml"
    junit_xml(reports).write(path, encoding="utf-8", xml_declaration=True)
    junit_schema.validate(str(path))

    root = ET.parse(path).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "2", "1")
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "student-1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == ["listen", "upper", "prompt", "stream", "persist", "concurrent"]
    assert len(cases["listen"]) == 0  # passed: no child
    failure = cases["upper"].find("failure")
    assert failure is not None and failure.get("message") == "c1: wrong byte"
    assert "requirement: " in (failure.text or "") and "replay upper" in (failure.text or "")
    assert "\\x1b[31mTraceback\\x00 <script>" in (failure.text or "")  # shown, not dropped
    assert cases["prompt"].find("error") is not None
    assert cases["stream"].find("skipped") is not None
    xfail = cases["persist"].find("skipped")
    assert xfail is not None and xfail.get("message") == "expected failure: bug"
    wrong_declaration = cases["concurrent"].find("failure")
    assert wrong_declaration is not None
    assert "declared to fail" in (wrong_declaration.get("message") or "")


def test_check_writes_valid_junit_with_the_failure_and_its_transcript(junit_schema, tmp_path):
    junit = tmp_path / "junit.xml"
    lowercases = [sys.executable, str(SERVERS / "lowercases.py"), "{port}", "{host}"]
    only = ["--only", "upper", "--only", "listen", "--profile", "quick", "-n", "0"]
    proc = run("check", *only, "--junit", str(junit), "--", *lowercases)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    junit_schema.validate(str(junit))
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert sorted(cases) == ["listen", "upper"]
    failure = cases["upper"].find("failure")
    assert failure is not None and "wrong byte" in (failure.get("message") or "")
    assert "transcript (time, connection, event)" in (failure.text or "")


def test_not_judged_is_skipped_unless_declared(spec):
    needs = {"needs": ["prompt"], "why": "held", "failure": "c1: missing reply"}
    unjudged = entry("stream", "not-judged", summary="not judged: needs prompt: held")
    unjudged.details = needs
    declared = entry("persist", "not-judged", "fail", summary="not judged", expected_reason="x")
    declared.details = needs
    root = junit_xml([report(spec, entry("prompt", "fail"), unjudged, declared)]).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    skipped = cases["stream"].find("skipped")
    assert skipped is not None and skipped.get("message") == "not judged: needs prompt: held"
    xfail = cases["persist"].find("skipped")
    assert xfail is not None and xfail.get("message") == "expected failure: x"
    assert root.get("failures") == "1"
