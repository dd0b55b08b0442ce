"""A cell of the HTML report's matrix: what it can show, and its address.  The matrix
(html_report.py) and the cell's evidence panel (html_evidence.py) both draw it: one place for
its label and its fragment."""

from __future__ import annotations

from urllib.parse import quote

from conformance.reports.report import Entry

# What a cell can show: kind -> (label, meaning).  The label is text, not colour alone.
KINDS: dict[str, tuple[str, str]] = {
    "pass": ("pass", "passed, as declared"),
    "fail": ("FAIL", "failed"),
    "not-judged": ("n/a", "not judged: the server fails a requirement this check needs first"),
    "xfail": ("xfail", "failed as declared (an expected failure)"),
    "xpass": ("PASS!", "passed although declared to fail: the declaration is wrong"),
    "error": ("ERROR", "the check could not run (the runner or the machine, not the server)"),
    "skip": ("skip", "not checked"),
}


def anchor(impl: str, rid: str) -> str:
    """The fragment (and panel id) of one cell: IMPL/REQ, each part percent-encoded."""
    return quote(impl, safe="") + "/" + quote(rid, safe="")


def cell_kind(e: Entry) -> str:
    if e.expected == "fail" and e.outcome in ("pass", "fail", "not-judged"):
        return "xfail" if e.failed else "xpass"
    return e.outcome if e.outcome in KINDS else "error"
