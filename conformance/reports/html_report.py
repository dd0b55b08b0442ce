"""The HTML report: the implementation (or submission) x requirement matrix and every cell's
evidence, in one self-contained file (see html.page) that opens from disk.

Every cell's evidence is in the document, hidden until its cell is opened, so the file needs no
server and can be searched.  `report.html#IMPL/REQ` (each part percent-encoded) opens one cell's
evidence: the panel's id is that fragment, so it works through CSS `:target` even without
script; the script adds sorting, filtering and marks the open panel (class `open`, `data-open`).
"""

from __future__ import annotations

import datetime as dt
import re
from html import escape
from typing import Any
from urllib.parse import quote

from conformance.reports import about
from conformance.reports.evidence import clip
from conformance.reports.html import page
from conformance.reports.report import Entry, Report, hint

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
# Sorting a requirement's column puts the worst first.
RANK = {"xpass": 0, "fail": 1, "not-judged": 2, "error": 3, "skip": 4, "xfail": 5, "pass": 6}
VERDICT_RANK = {"nonconformant": 0, "error": 1, "conformant": 2}
VERDICT_TEXT = {
    "conformant": "conformant",
    "nonconformant": "NOT conformant",
    "error": "no verdict",
}

PREVIEW = 24  # bytes of a transcript row's data shown
OTHER_CLIENTS = 64  # clients without a difference listed (capacity has hundreds)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ESCAPES = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x5C: "\\\\"}
# One byte as text: printable ASCII as itself (HTML-escaped), anything else as \xNN.
BYTE_TEXT = [
    _ESCAPES.get(b, escape(chr(b)) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in range(256)
]
END = '<mark class="end" title="the stream ends here">(end)</mark>'


def render_html(
    reports: list[Report],
    *,
    title: str,
    command: str,
    date: str | None = None,
    noun: str = "implementation",
) -> str:
    """The whole page.  `command`: the command line that produced it; `noun`: what a row is
    ("implementation", or "submission" for grades)."""
    when = date or dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    ids = _requirement_ids(reports)
    body = [
        _header(reports, title, command, when, noun),
        _controls(reports, ids),
        _matrix(reports, ids, noun),
        _legend(),
        '<section id="evidence" aria-label="evidence">',
        *(_panel(r, e) for r in reports for e in r.entries),
        "</section>",
    ]
    return page(title, "\n".join(body), STYLE, SCRIPT)


def anchor(impl: str, rid: str) -> str:
    """The fragment (and panel id) of one cell: IMPL/REQ, each part percent-encoded."""
    return quote(impl, safe="") + "/" + quote(rid, safe="")


def cell_kind(e: Entry) -> str:
    if e.expected == "fail" and e.outcome in ("pass", "fail", "not-judged"):
        return "xfail" if e.failed else "xpass"
    return e.outcome if e.outcome in KINDS else "error"


def text(value: object) -> str:
    """Escaped for HTML, with control characters (a hostile stderr's terminal codes) and lone
    surrogates made visible instead of passed on."""
    s = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    return escape(s.encode("utf-8", "backslashreplace").decode("utf-8"))


def byte_views(data: bytes, mark: int | None) -> tuple[str, str]:
    """`data` as escaped text and as hex, the byte at `mark` highlighted in both (an end marker
    when `mark` is just past the data: the stream ended there)."""
    texts, hexes = [], []
    for i, b in enumerate(data):
        t, h = BYTE_TEXT[b], f"{b:02x}"
        if i == mark:
            t, h = f"<mark>{t}</mark>", f"<mark>{h}</mark>"
        texts.append(t)
        hexes.append(h)
    if mark is not None and mark == len(data):
        texts.append(END)
        hexes.append(END)
    return "".join(texts), " ".join(hexes)


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


# -- one cell's evidence ----------------------------------------------------------------------


def _panel(r: Report, e: Entry) -> str:
    kind = cell_kind(e)
    label = KINDS[kind][0]
    ref = anchor(r.impl.name, e.id)
    try:
        req = r.spec.requirement(e.id)
        requirement = f"<b>{text(req.title)}</b>: {text(req.text)}"
    except KeyError:
        requirement = "(not in the spec)"
    out = [
        f'<article class="ev ev-{kind}{"" if kind == "pass" else " notpass"}" id="{text(ref)}" '
        f'data-impl="{text(r.impl.name)}" data-req="{text(e.id)}">',
        f'<h2><span class="badge k-{kind}">{label}</span> {text(r.impl.name)} / {text(e.id)} '
        f"<small>{text(e.level)}, {e.points} point{'s' if e.points != 1 else ''}</small>"
        '<a class="close" href="#matrix">close</a></h2>',
    ]
    if e.summary:
        out.append(f'<p class="summary">{text(e.summary)}</p>')
    if kind == "xpass":
        out.append(
            f'<p class="declared k-xpass">declared to fail ({text(e.expected_reason)}), but it '
            "passed: the declaration is wrong (remove it from expected_failures)</p>"
        )
    elif e.expected == "fail":
        out.append(f'<p class="declared">declared to fail: {text(e.expected_reason)}</p>')
    advice = hint(e.summary) if e.outcome in ("fail", "error") else ""
    facts = [("requirement", requirement)]
    if advice:
        facts.append(("hint", text(advice)))
    facts.append(("timing", f"{e.duration_s:.2f} s this check; {r.duration_s:.1f} s the run"))
    if r.replay:
        facts.append(
            (
                "replay",
                f'<code class="replay">{text(r.replay_command(e.id))}</code> '
                '<button type="button" class="copy">copy</button>',
            )
        )
    out.append(_facts(facts))
    out.append(_evidence(e))
    out.append("</article>")
    return "\n".join(out)


def _facts(rows: list[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return f'<dl class="facts">{items}</dl>'


def _evidence(e: Entry) -> str:
    """From the details where there are some; the plain evidence text always (nothing lost)."""
    d: dict[str, Any] = e.details or {}
    out = []
    dev = d.get("deviation")
    if isinstance(dev, dict) and str(dev.get("message", "")) not in e.summary:
        where = f", reply offset {dev['offset']}" if dev.get("offset") is not None else ""
        out.append(
            f'<p class="deviation"><b>{text(dev.get("kind", ""))}</b> '
            f"({text(dev.get('client', ''))}{where}): {text(dev.get('message', ''))}</p>"
        )
    if d.get("case"):
        out.append(
            f'<details class="case"{" open" if len(str(d["case"])) < 2000 else ""}>'
            "<summary>minimal failing case</summary>"
            f"<pre>{text(clip(str(d['case'])))}</pre></details>"
        )
    clients = d.get("clients") or []
    if clients:
        out.append(_clients(clients, dev.get("client") if isinstance(dev, dict) else None))
    if d.get("transcript"):
        out.append(_transcript(d["transcript"]))
    if isinstance(d.get("server"), dict):
        out.append(_server(d["server"]))
    if e.evidence:
        drawn = bool(clients or d.get("transcript"))
        out.append(
            f'<details class="plain"{"" if drawn else " open"}><summary>the evidence as text'
            f"</summary><pre>{text(clip(e.evidence))}</pre></details>"
        )
    return "\n".join(out)


def _clients(clients: list[dict[str, Any]], deviant: str | None) -> str:
    shown = [
        c for c in clients if c.get("first_difference") is not None or c.get("name") == deviant
    ]
    others = [c for c in clients if c not in shown]
    out = ["<h3>clients</h3>"]
    out += [_client(c) for c in shown]
    if others:
        rows = "".join(
            "<tr><td>{}</td><td>{}</td><td class=num>{}</td><td class=num>{}</td></tr>".format(
                *_fields(c)
            )
            for c in others[:OTHER_CLIENTS]
        )
        more = len(others) - OTHER_CLIENTS
        tail = f'<tr><td colspan="4">... and {more} more</td></tr>' if more > 0 else ""
        out.append(
            f'<details class="others"{" open" if not shown else ""}><summary>{len(others)} '
            f"client{'s' if len(others) != 1 else ''} with no difference seen</summary>"
            "<table><thead><tr><th>client</th><th>state</th><th>bytes sent</th>"
            f"<th>bytes received</th></tr></thead><tbody>{rows}{tail}</tbody></table></details>"
        )
    return "\n".join(out)


def _fields(c: dict[str, Any]) -> list[str]:
    """A client's name, state and byte counts, escaped ('?' where the details lack one)."""
    return [text(c.get(k, "?")) for k in ("name", "state", "sent_bytes", "received_bytes")]


def _client(c: dict[str, Any]) -> str:
    start = int(c.get("window_offset") or 0)
    diff = c.get("first_difference")
    mark = None if diff is None else int(diff) - start
    where = f"first difference at offset <b>{diff}</b>" if diff is not None else "no difference"
    name, state, sent, received = _fields(c)
    caption = (
        f"<b>{name}</b> ({state}): bytes sent {sent}, received {received}; {where}; "
        f"bytes from offset {start}"
    )
    rows = []
    for stream in ("sent", "expected", "received"):
        t, h = byte_views(_unhex(c.get(stream, "")), mark)
        rows.append(f'<tr><th>{stream}</th><td class="t">{t}</td><td class="h">{h}</td></tr>')
    return (
        f'<p class="client">{caption}</p><table class="bytes">'
        "<thead><tr><th></th><th>as text</th><th>hex</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _transcript(rows: list[dict[str, Any]]) -> str:
    out = []
    for row in rows:
        size, count = row.get("bytes"), row.get("count", 1)
        amount = "" if size is None else f"{size}" + (f" in {count}" if count > 1 else "")
        data = _unhex(row.get("data", ""))
        preview = ""
        if data:
            t, h = byte_views(data[:PREVIEW], None)
            more = "..." if len(data) > PREVIEW or (size or 0) > len(data) else ""
            preview = f'<code>{t}{more}</code> <span class="hx">{h}{more}</span>'
        note = f" {text(row['note'])}" if row.get("note") else ""
        out.append(
            f'<tr><td class="num">{float(row.get("t", 0)):.3f}</td>'
            f"<td>{text(row.get('client', ''))}</td><td>{text(row.get('event', ''))}</td>"
            f'<td class="num">{amount}</td><td>{preview}{note}</td></tr>'
        )
    return (
        f"<h3>transcript ({len(rows)} rows)</h3>"
        '<div class="box"><table class="transcript"><thead><tr><th>t (s)</th><th>client</th>'
        f"<th>event</th><th>bytes</th><th>data</th></tr></thead><tbody>{''.join(out)}</tbody></table></div>"
    )


def _server(server: dict[str, Any]) -> str:
    rows = []
    if server.get("command"):
        rows.append(("command", f"<code>{text(server['command'])}</code>"))
    if server.get("process"):
        rows.append(("process", text(server["process"])))
    stderr = str(server.get("stderr") or "")
    rows.append(("stderr", f"<pre>{text(clip(stderr))}</pre>" if stderr else "(nothing)"))
    return "<h3>server</h3>" + _facts(rows)


def _unhex(data: object) -> bytes:
    try:
        return bytes.fromhex(str(data))
    except ValueError:  # not hex after all: show it as it is
        return str(data).encode("utf-8", "backslashreplace")


STYLE = """
header { margin-bottom: .8em; }
.totals { font-size: 1.05em; }
code { background: #f3f3f3; padding: 0 .2em; border-radius: 3px; }
.controls { display: flex; flex-wrap: wrap; gap: .6em 1.4em; align-items: center;
  margin: .6em 0; }
.controls button, .copy { font: inherit; font-size: .9em; padding: .1em .6em; cursor: pointer; }
.scroll { overflow-x: auto; }
#matrix th button { font: inherit; font-weight: 600; border: 0; padding: 0; background: none;
  color: inherit; cursor: pointer; }
#matrix th[aria-sort=ascending] button::after { content: " \\25B2"; }
#matrix th[aria-sort=descending] button::after { content: " \\25BC"; }
#matrix th.req { text-align: center; }
#matrix th.req small { display: block; font-weight: normal; color: #666; font-size: .78em; }
#matrix tbody th { white-space: nowrap; }
#matrix td.cell { padding: 0; text-align: center; min-width: 3.6em; }
#matrix td.cell a { display: block; padding: .25em .5em; color: inherit; text-decoration: none;
  font-weight: 600; }
#matrix td.cell a:hover, #matrix td.cell a:focus { text-decoration: underline; }
#matrix td.sel { outline: 3px solid #1a56db; outline-offset: -3px; }
#matrix.only-bad td.cell:not(.bad) { opacity: .3; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.k-pass { background: #e3f3e6; color: #145a26; }
.k-fail { background: #fbdedb; color: #a1140c; }
.k-xfail { background: #e9edf4; color: #44546f; }
.k-xpass { background: #a8006f; color: #fff; }
.k-error { background: #ffeeb8; color: #6e4a00; }
.k-skip, .k-none, .k-not-judged { background: #f1f1f1; color: #666; }
td.k-xpass a, .badge.k-xpass { text-decoration: underline wavy; }
.v-conformant { color: #145a26; }
.v-nonconformant { color: #a1140c; font-weight: 600; white-space: nowrap; }
.v-error { color: #6e4a00; font-weight: 600; }
.badge { display: inline-block; padding: 0 .45em; border-radius: 4px; font-weight: 600; }
.legend { font-size: .88em; color: #444; }
.ev { display: none; border: 1px solid #c4c4c4; border-left-width: 6px; border-radius: 6px;
  padding: .3em 1em .8em; margin: 1em 0; scroll-margin-top: .5em; }
.ev.open, .ev:target, #evidence.all-bad .ev.notpass { display: block; }
.ev.open { box-shadow: 0 0 0 3px rgba(26, 86, 219, .25); }
.ev-pass { border-left-color: #3a9b54; } .ev-fail { border-left-color: #d0342c; }
.ev-xfail { border-left-color: #7a8bab; } .ev-xpass { border-left-color: #a8006f; }
.ev-error { border-left-color: #d59f00; }
.ev h2 small { font-weight: normal; color: #666; font-size: .75em; }
.ev h3 { font-size: 1em; margin: 1em 0 .3em; }
.close { float: right; font-size: .8em; font-weight: normal; }
.summary, .deviation { font-weight: 600; }
.declared.k-xpass { padding: .3em .6em; border-radius: 4px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25em 1em; margin: .5em 0; }
dl.facts dt { font-weight: 600; color: #444; }
dl.facts dd { margin: 0; }
dl.facts pre { margin: 0; max-height: 24em; }
.replay { user-select: all; }
p.client { margin: .6em 0 .2em; }
table.bytes { margin-bottom: .6em; }
table.bytes td { font: 12px/1.4 ui-monospace, monospace; word-break: break-all; max-width: 42em; }
mark { background: #ffd400; color: #000; outline: 1px solid #a07f00; border-radius: 2px; }
mark.end { background: #ffd400; font-style: italic; padding: 0 .2em; }
.box { max-height: 32em; overflow: auto; display: inline-block; max-width: 100%; }
table.transcript td { padding: .1em .5em; }
table.transcript code { background: none; padding: 0; }
.hx { color: #777; font: 11px ui-monospace, monospace; }
details { margin: .5em 0; }
summary { cursor: pointer; color: #333; }
details pre { max-height: 40em; overflow: auto; }
"""

SCRIPT = r"""
(function () {
  "use strict";
  var table = document.getElementById("matrix");
  var body = table.tBodies[0];
  var onlyBad = document.getElementById("only-bad");
  var pick = document.getElementById("pick");
  var none = document.getElementById("none");
  var evidence = document.getElementById("evidence");
  var colStyle = document.head.appendChild(document.createElement("style"));

  // The same encoding as Python's quote(s, safe=""): a hand-typed #IMPL/REQ finds its panel.
  function enc(s) {
    return encodeURIComponent(s).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  function panelFor(hash) {
    var el = hash ? document.getElementById(hash) : null;
    var cut = hash.lastIndexOf("/");
    if (!el && cut > 0) {
      try {
        el = document.getElementById(
          enc(decodeURIComponent(hash.slice(0, cut))) + "/" +
          enc(decodeURIComponent(hash.slice(cut + 1))));
      } catch (e) { el = null; }
    }
    return el && el.classList.contains("ev") ? el : null;
  }
  function show() {
    var panel = panelFor(location.hash.slice(1));
    document.querySelectorAll(".ev.open").forEach(function (el) {
      el.classList.remove("open");
      el.removeAttribute("data-open");
    });
    document.querySelectorAll("td.sel").forEach(function (el) { el.classList.remove("sel"); });
    if (!panel) { return; }
    panel.classList.add("open");
    panel.setAttribute("data-open", "true");
    var cell = document.getElementById("cell:" + panel.id);
    if (cell) { cell.classList.add("sel"); }
    var top = panel.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.8) { panel.scrollIntoView({block: "start"}); }
  }
  window.addEventListener("hashchange", show);

  var ascending = {};
  table.tHead.addEventListener("click", function (event) {
    var th = event.target.closest("th[data-sort]");
    if (!th) { return; }
    var key = th.getAttribute("data-sort");
    var up = key in ascending ? !ascending[key] : th.getAttribute("data-first") !== "desc";
    ascending[key] = up;
    function value(tr) {
      if (key === "name") { return tr.getAttribute("data-name"); }
      if (key.charAt(0) === "c" && key !== "contrary") {
        var td = tr.querySelector('td[data-col="' + key.slice(1) + '"]');
        return td ? Number(td.getAttribute("data-rank")) : 99;
      }
      return Number(tr.getAttribute("data-" + key));
    }
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a), y = value(b);
      var c = x < y ? -1 : x > y ? 1 : 0;
      if (!up) { c = -c; }
      var p = a.getAttribute("data-name"), q = b.getAttribute("data-name");
      return c || (p < q ? -1 : p > q ? 1 : 0);
    });
    rows.forEach(function (tr) { body.appendChild(tr); });
    table.tHead.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
  });

  function filter() {
    var col = pick.value, bad = onlyBad.checked, shown = 0;
    colStyle.textContent = col === "" ? "" :
      '#matrix [data-col]:not([data-col="' + col + '"]) { display: none; }';
    table.classList.toggle("only-bad", bad);
    var sel = "td.bad" + (col === "" ? "" : '[data-col="' + col + '"]');
    Array.prototype.forEach.call(body.rows, function (tr) {
      tr.hidden = bad && !tr.querySelector(sel);
      shown += tr.hidden ? 0 : 1;
    });
    none.hidden = shown > 0 || !bad;
  }
  onlyBad.addEventListener("change", filter);
  pick.addEventListener("change", filter);

  document.getElementById("all-bad").addEventListener("click", function () {
    var on = evidence.classList.toggle("all-bad");
    this.textContent = on ? "hide the evidence not asked for" : "show every failure's evidence";
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) { return; }
    var code = button.previousElementSibling;
    function select() {
      var range = document.createRange();
      range.selectNodeContents(code);
      var s = window.getSelection();
      s.removeAllRanges();
      s.addRange(range);
    }
    if (navigator.clipboard) {
      navigator.clipboard.writeText(code.textContent).then(function () {
        button.textContent = "copied";
      }, select);
    } else {
      select();
    }
  });

  filter();
  show();
})();
"""
