"""JUnit XML, the test-report format CI systems show natively (GitHub Actions, GitLab, Jenkins).

One <testsuite> per implementation (or graded submission), one <testcase> per requirement.  The
layout is Surefire's, as Jenkins' junit-10.xsd describes it (tests/test_junit.py validates
against that schema).  A declared expected failure that failed is <skipped>: it is as declared,
like pytest's xfail; one that passed is a <failure>, since its declaration is wrong.
"""

from __future__ import annotations

import re
import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.reports.about import suite_info
from conformance.reports.report import Entry, Report, explanation


def junit_xml(reports: list[Report], name: str = "echo-conformance") -> ET.ElementTree:
    root = ET.Element("testsuites", name=name)
    totals = dict.fromkeys(("tests", "failures", "errors"), 0)
    for report in reports:
        suite = _suite(report)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    root.set("time", _seconds(max((r.duration_s for r in reports), default=0.0)))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(path: Path, reports: list[Report], name: str = "echo-conformance") -> None:
    junit_xml(reports, name).write(path, encoding="utf-8", xml_declaration=True)


def _suite(report: Report) -> ET.Element:
    spec = report.spec
    suite = ET.Element(
        "testsuite",
        name=report.impl.name,
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"),
        hostname=socket.gethostname(),
        time=_seconds(report.duration_s),
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("spec", f"{spec.name} {spec.version}"),
        ("command", report.command),
        ("verdict", report.verdict),
        ("score", f"{report.score}/{report.max_score}"),
        ("requirements checked", f"{len(report.entries)} of {len(spec.requirements)}"),
        *((("shared read-only", ", ".join(report.shared)),) if report.shared else ()),
        *((f"echo-conformance {k}", v) for k, v in suite_info(spec).items() if k != "name"),
    ):
        ET.SubElement(props, "property", name=key, value=_xml_text(value))
    counts = {"failure": 0, "error": 0, "skipped": 0}
    for entry in report.entries:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{spec.name}.{report.impl.name}",
            name=entry.id,
            time=_seconds(entry.duration_s),
        )
        kind, message, text = _ending(report, entry)
        if kind:
            counts[kind] += 1
            element = ET.SubElement(case, kind, type=_TYPE[kind], message=_xml_text(message))
            element.text = _xml_text(text)
    suite.set("tests", str(len(report.entries)))
    suite.set("failures", str(counts["failure"]))
    suite.set("errors", str(counts["error"]))
    suite.set("skipped", str(counts["skipped"]))
    return suite


_TYPE = {"failure": "NonConformance", "error": "RunnerError", "skipped": "skipped"}


def _ending(report: Report, entry: Entry) -> tuple[str, str, str]:
    """(element, message, text) for an entry that did not simply pass; ("", "", "") if it did."""
    declared = entry.expected == "fail"
    if entry.outcome == "pass":
        if not declared:
            return "", "", ""
        message = f"passed, but declared to fail: {entry.expected_reason}"
        return "failure", message, "the declaration is out of date: remove it"
    if entry.failed and declared:
        return "skipped", f"expected failure: {entry.expected_reason}", entry.summary
    if entry.outcome == "skip":
        return "skipped", entry.summary or "not checked", ""
    if entry.outcome == "not-judged":  # the requirement it needs has its own failure
        return "skipped", entry.summary, explanation(report, entry)
    kind = "failure" if entry.outcome == "fail" else "error"
    return kind, entry.summary, explanation(report, entry)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


# What XML 1.0 cannot carry (a server's stderr may hold any byte): shown as \xNN instead.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
