"""One cell's evidence panel in the HTML report: what was required, the verdict's facts, and
the evidence drawn from the entry's details (the deviation, the minimal case, each client's bytes
around the first difference, the transcript, the server's account), with the plain evidence text
always kept.

A panel is an <article> whose id is its cell's fragment (html_cells.anchor), hidden until opened.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from conformance.reports.evidence import clip
from conformance.reports.html_bytes import byte_views, text
from conformance.reports.html_cells import KINDS, anchor, cell_kind
from conformance.reports.report import Entry, Report, hint

PREVIEW = 24  # bytes of a transcript row's data shown
OTHER_CLIENTS = 64  # clients without a difference listed (capacity has hundreds)


def panel(r: Report, e: Entry, folder: Path | None = None) -> str:
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
    advice = hint(r, e)
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
    if capture := e.details.get("capture"):
        href = Path(capture["file"]).absolute()
        link = os.path.relpath(href, folder.absolute()) if folder is not None else href.as_uri()
        facts.append(
            ("capture", f'<a href="{text(link)}">{text(href.name)}</a> ({text(capture["how"])})')
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
        "<th>event</th><th>bytes</th><th>data</th></tr></thead>"
        f"<tbody>{''.join(out)}</tbody></table></div>"
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
