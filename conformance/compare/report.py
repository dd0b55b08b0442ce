"""A comparison for people: text tables for the terminal, and one self-contained HTML page with
the same tables and the charts (charts.py) inline.

Both are made from `sections`, so that the page and the terminal never say different things.
"""

from __future__ import annotations

from html import escape

from conformance.compare.crowd import plural
from conformance.compare.results import Comparison
from conformance.reports.html import page

CHART_NAMES = ("latency", "throughput", "idle-cpu", "max-clients")  # one per section, in order
CHARTS_MISSING = "charts need matplotlib: pip install 'echo-conformance[charts]'"

Section = tuple[str, list[str], list[list[str]], list[str]]  # title, header, rows, notes


def render_text(comp: Comparison) -> str:
    parts = [
        f"echo-conformance compare, {comp.machine.date}",
        f"machine: {comp.machine.describe()}",
    ]
    for title, header, rows, notes in sections(comp):
        parts += ["", title, table(header, rows)]
        parts += [f"  - {n}" for n in notes]
    parts += ["", f"({comp.seconds:.1f} s)"]
    return "\n".join(parts)


def render_html(comp: Comparison, charts: dict[str, str]) -> str:
    """One self-contained page: the tables, the charts inline, the date, machine, command."""
    body = [
        "<h1>echo-conformance compare</h1>",
        f'<p class="meta">{escape(comp.machine.date)} &middot; '
        f"{escape(comp.machine.describe())}<br><code>{escape(comp.command)}</code> "
        f"({comp.seconds:.1f} s)</p>",
    ]
    if not charts:
        body.append(f"<p>{escape(CHARTS_MISSING)}</p>")
    for (title, header, rows, notes), chart in zip(sections(comp), CHART_NAMES):
        body.append(f"<h2>{escape(title)}</h2>")
        if chart in charts:
            body.append(f'<div class="chart">{charts[chart]}</div>')
        cells = "".join(f"<th>{escape(h)}</th>" for h in header)
        body.append(f"<table>\n<tr>{cells}</tr>")
        for row in rows:
            body.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
        body.append("</table>")
        if notes:
            body.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    style = ".chart svg { max-width: 100%; height: auto; } ul { color: #555; }"
    return page("echo-conformance compare", "\n".join(body), style=style)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain text table: columns padded, numbers right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths)):
            numeric = (i > 0 and cell[:1].isdigit()) or cell == "-"
            out.append(cell.rjust(width) if numeric else cell.ljust(width))
        return "  ".join(out).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def sections(comp: Comparison) -> list[Section]:
    """Every workload as (title, header, rows, notes), in CHART_NAMES' order."""
    return [_latency(comp), _throughput(comp), _idle_cpu(comp), _max_clients(comp)]


def _latency(comp: Comparison) -> Section:
    b = comp.budget
    header = ["implementation"]
    for k in b.latency_clients:
        header += [f"p50 ms @{k}", f"p99 ms @{k}", f"rt/s @{k}", f"served @{k}"]
    rows, notes = [], []
    for r in comp.results:
        row = [r.name]
        for lat in r.latency:
            if lat.error:
                row += ["error", "", "", f"{lat.served}/{lat.clients}"]
            else:
                row += [_num(lat.p50_ms, 3), _num(lat.p99_ms, 3), _num(lat.per_second, 0)]
                row.append(f"{lat.served}/{lat.clients}")
            notes += _notes(r.name, plural(lat.clients, "client"), lat.error, lat.notes)
        rows.append(row)
    title = (
        f"Latency: round trips of {b.message} bytes, each client waiting for its reply "
        f"(at most {b.latency_round_trips} round trips or {b.latency_seconds:g} s per "
        "client count; each client's first round trip left out of the percentiles)"
    )
    return title, header, rows, notes


def _throughput(comp: Comparison) -> Section:
    b = comp.budget
    header = ["implementation"]
    for k in b.throughput_clients:
        header += [f"MiB/s @{k}", f"served @{k}"]
    rows, notes = [], []
    for r in comp.results:
        row = [r.name]
        for tp in r.throughput:
            row += ["error" if tp.error else _num(tp.mib_per_s, 1), f"{tp.served}/{tp.clients}"]
            notes += _notes(r.name, plural(tp.clients, "client"), tp.error, tp.notes)
        rows.append(row)
    title = (
        f"Throughput: verified reply bytes, each client streaming {b.write_size // 1024} KiB "
        f"writes for {b.throughput_seconds:g} s"
    )
    return title, header, rows, notes


def _idle_cpu(comp: Comparison) -> Section:
    b = comp.budget
    rows, notes = [], []
    for r in comp.results:
        idle = r.idle_cpu
        pct = "error" if idle.error else _num(idle.pct, 1)
        rows.append([r.name, _num(idle.no_client_pct, 1), pct, f"{idle.served}/{idle.clients}"])
        notes += _notes(r.name, "idle CPU", idle.error, idle.notes)
    title = (
        f"Idle CPU: % of one core over {b.idle_window:g} s, with no client and with "
        f"{b.idle_clients} connected silent clients (each served one round trip first)"
    )
    header = ["implementation", "no client %", f"{b.idle_clients} clients %", "served"]
    return title, header, rows, notes


def _max_clients(comp: Comparison) -> Section:
    rows, notes = [], []
    for r in comp.results:
        most = r.max_clients
        rows.append([r.name, "error" if most.error else str(most.served), most.reason])
        notes += _notes(r.name, "max clients", most.error, most.notes)
    title = (
        "Max clients: connected one by one, each answered while the earlier ones stay "
        f"connected, up to {comp.budget.max_clients}"
    )
    return title, ["implementation", "served at once", "what stopped it"], rows, notes


def _notes(name: str, what: str, error: str, notes: list[str]) -> list[str]:
    said = [f"error: {error}"] if error else notes
    return [f"{name}, {what}: {'; '.join(said)}"] if said else []


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"
