"""The HTML report: the implementation (or submission) x requirement matrix and every cell's
evidence, in one self-contained file (see html.page) that opens from disk.

Every cell's evidence is in the document, hidden until its cell is opened, so the file needs no
server and can be searched.  `report.html#IMPL/REQ` (each part percent-encoded) opens one cell's
evidence: the panel's id is that fragment, so it works through CSS `:target` even without
script; the script adds sorting, filtering and marks the open panel (class `open`, `data-open`).

This module draws the page and its matrix; html_evidence.py a cell's panel, html_cells.py what a
cell shows, html_bytes.py the server's text and bytes.  The style and the script are package
data beside it: html_report.css, html_report.js.
"""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from pathlib import Path

from conformance.reports import about
from conformance.reports.html import page
from conformance.reports.html_bytes import text
from conformance.reports.html_cells import KINDS, anchor, cell_kind
from conformance.reports.html_evidence import panel
from conformance.reports.report import Report

__all__ = ["anchor", "render_html"]

# Sorting a requirement's column puts the worst first.
RANK = {"xpass": 0, "fail": 1, "not-judged": 2, "error": 3, "skip": 4, "xfail": 5, "pass": 6}
VERDICT_RANK = {"nonconformant": 0, "error": 1, "conformant": 2}
VERDICT_TEXT = {
    "conformant": "conformant",
    "nonconformant": "NOT conformant",
    "error": "no verdict",
}


def _asset(name: str) -> str:
    """A data file of this package (the wheel carries them beside the modules)."""
    return files("conformance.reports").joinpath(name).read_text(encoding="utf-8")


# Read once, on import (the command line imports this module only for --html).  The leading
# newline keeps the page as it was when they were inline strings: each after a blank line.
STYLE = "\n" + _asset("html_report.css")
SCRIPT = "\n" + _asset("html_report.js")


def render_html(
    reports: list[Report],
    *,
    title: str,
    command: str,
    date: str | None = None,
    noun: str = "implementation",
    folder: Path | None = None,
) -> str:
    """The whole page.  `command`: the command line that produced it; `noun`: what a row is
    ("implementation", or "submission" for grades); `folder`: where the page is written (its
    links to files beside it, such as captures, are relative to it)."""
    when = date or dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    ids = _requirement_ids(reports)
    body = [
        _header(reports, title, command, when, noun),
        _controls(reports, ids),
        _matrix(reports, ids, noun),
        _legend(),
        '<section id="evidence" aria-label="evidence">',
        *(panel(r, e, folder) for r in reports for e in r.entries),
        "</section>",
    ]
    return page(title, "\n".join(body), STYLE, SCRIPT)


# -- the page's parts -----------------------------------------------------------------------


def _requirement_ids(reports: list[Report]) -> list[str]:
    ids: list[str] = []
    for r in reports:
        ids += [e.id for e in r.entries if e.id not in ids]
    return ids


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def _declared(reports: list[Report]) -> bool:
    """Whether any expected failure is declared (check --all): else 'contrary' is 'not passed'."""
    return any(e.expected == "fail" for r in reports for e in r.entries)


def _header(reports: list[Report], title: str, command: str, when: str, noun: str) -> str:
    specs = sorted({(r.spec.name, r.spec.version, r.spec.path.name) for r in reports})
    spec = "; ".join(f"<b>{text(n)} {text(v)}</b> ({text(p)})" for n, v, p in specs) or "-"
    verdicts = [r.verdict for r in reports]
    totals = [
        f"<b>{len(reports)}</b> {_plural(len(reports), noun)}: "
        + ", ".join(f"{verdicts.count(v)} {VERDICT_TEXT[v]}" for v in VERDICT_RANK if v in verdicts)
    ]
    outcomes = sum(len(r.entries) for r in reports)
    contrary = sum(len(r.unexpected) for r in reports)
    if noun == "submission":
        scores = [r.score for r in reports]
        full = sum(1 for r in reports if r.score == r.max_score)
        mean = sum(scores) / len(scores) if scores else 0.0
        top = max((r.max_score for r in reports), default=0)
        totals.append(f"score: mean {mean:.1f}/{top}, {full} with full marks")
    elif _declared(reports):
        totals.append(
            f"{outcomes} {_plural(outcomes, 'outcome')}: {outcomes - contrary} as declared, "
            + (f'<b class="k-fail">{contrary} contrary</b>' if contrary else "0 contrary")
            + " to the declaration"
        )
    else:
        totals.append(
            f"{outcomes} {_plural(outcomes, 'outcome')}: {outcomes - contrary} passed, "
            f"{contrary} not"
        )
    partial = sorted({r.checked_text() for r in reports if r.partial})
    if partial:
        totals.append("only " + ", ".join(partial))
    graded_by = "; ".join(sorted({about.graded_by(r.spec) for r in reports}))
    return (
        f"<header>\n<h1>{text(title)}</h1>\n"
        f'<p class="meta">spec {spec} &middot; {text(when)}</p>\n'
        f'<p class="meta">command: <code>{text(command)}</code></p>\n'
        f'<p class="meta">by {text(graded_by)}</p>\n'
        f'<p class="totals">{"; ".join(totals)}</p>\n</header>'
    )


def _controls(reports: list[Report], ids: list[str]) -> str:
    options = "".join(f'<option value="{i}">{text(rid)}</option>' for i, rid in enumerate(ids))
    return (
        '<div class="controls">\n'
        '<label><input type="checkbox" id="only-bad"> only failures'
        + (" (outcomes not as declared)" if _declared(reports) else "")
        + "</label>\n"
        f'<label>requirement: <select id="pick"><option value="">all</option>{options}'
        "</select></label>\n"
        '<button type="button" id="all-bad">show every failure\'s evidence</button>\n'
        '<span class="meta">click a cell for its evidence, a column\'s head to sort</span>\n'
        "</div>"
    )


def _matrix(reports: list[Report], ids: list[str], noun: str) -> str:
    spec = reports[0].spec if reports else None
    contrary = "contrary" if _declared(reports) else "not passed"
    heads = [
        f'<th data-sort="name" scope="col"><button type="button">{noun}</button></th>',
        '<th data-sort="verdict" scope="col"><button type="button">verdict</button></th>',
        '<th data-sort="score" scope="col"><button type="button">score</button></th>',
        '<th data-sort="contrary" data-first="desc" scope="col" title="outcomes not as '
        f'declared (with no declaration: not passed)"><button type="button">{contrary}</button>'
        "</th>",
    ]
    for i, rid in enumerate(ids):
        level, tip = "", rid
        try:
            req = spec.requirement(rid) if spec else None
        except KeyError:
            req = None
        if req is not None:
            level, tip = req.level, f"{req.level}: {req.title}. {req.text}"
        heads.append(
            f'<th class="req" data-sort="c{i}" data-col="{i}" scope="col" title="{text(tip)}">'
            f'<button type="button">{text(rid)}</button><small>{text(level)}</small></th>'
        )
    rows = [_row(r, ids) for r in reports]
    return (
        '<div class="scroll"><table id="matrix">\n'
        f"<thead><tr>{''.join(heads)}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + '\n</tbody></table></div>\n<p id="none" hidden>nothing to show: every outcome here is '
        "as declared</p>"
    )


def _row(r: Report, ids: list[str]) -> str:
    name = r.impl.name
    by_id = {e.id: e for e in r.entries}
    cells = []
    for i, rid in enumerate(ids):
        e = by_id.get(rid)
        if e is None:
            cells.append(f'<td class="cell k-none" data-col="{i}" data-rank="9">-</td>')
            continue
        kind = cell_kind(e)
        label = KINDS[kind][0]
        tip = f"{name} / {rid}: {label} in {e.duration_s:.2f} s"
        if e.summary and kind != "pass":
            tip += f": {e.summary}"
        ref = anchor(name, rid)
        bad = "" if e.as_declared else " bad"
        cells.append(
            f'<td class="cell k-{kind}{bad}" id="cell:{text(ref)}" data-col="{i}" '
            f'data-rank="{RANK[kind]}" title="{text(tip)}"><a href="#{text(ref)}">{label}</a></td>'
        )
    verdict = r.verdict
    contrary = len(r.unexpected)
    return (
        f'<tr data-name="{text(name.lower())}" data-verdict="{VERDICT_RANK[verdict]}" '
        f'data-score="{r.score}" data-contrary="{contrary}">'
        f'<th scope="row" title="{text(r.command)}">{text(name)}</th>'
        f'<td class="v-{verdict}">{VERDICT_TEXT[verdict]}</td>'
        f'<td class="num">{r.score}/{r.max_score}</td>'
        f'<td class="num">{contrary}</td>' + "".join(cells) + "</tr>"
    )


def _legend() -> str:
    items = "".join(
        f'<span class="badge k-{kind}">{label}</span> {meaning} &nbsp; '
        for kind, (label, meaning) in KINDS.items()
    )
    return f'<p class="legend">{items}</p>'
