"""SVG charts of a comparison (comparison.py), drawn with matplotlib: an optional extra
(`pip install 'echo-conformance[charts]'`), imported only here and only when charts are asked for.

Figures are made with matplotlib.figure.Figure, not pyplot: no display, no global state, the SVG
backend picked by savefig(format="svg").
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.compare.report import CHART_NAMES
from conformance.compare.results import Comparison

if TYPE_CHECKING:
    from matplotlib.axes import Axes  # type: ignore[import-not-found, unused-ignore]
    from matplotlib.figure import Figure  # type: ignore[import-not-found, unused-ignore]

COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3")
WIDTH = 9.0  # inches: the README's column at 100 dpi
PROLOG = re.compile(r"\A(<\?xml[^>]*>\s*)?(<!DOCTYPE[^>]*>\s*)?")


def render_charts(comp: Comparison) -> dict[str, str]:
    """Chart name -> SVG text (no XML prolog: fit for inline HTML, and a valid .svg file).
    Raises ImportError when matplotlib is not installed."""
    import matplotlib  # type: ignore[import-not-found, unused-ignore]

    drawn = {
        "latency": latency_chart(comp),
        "throughput": throughput_chart(comp),
        "idle-cpu": idle_cpu_chart(comp),
        "max-clients": max_clients_chart(comp),
    }
    assert tuple(drawn) == CHART_NAMES
    out = {}
    for name, fig in drawn.items():
        # Ids (clip paths) from a salt of each chart's own, so that several SVGs inline in one
        # page never share one; text kept as text (smaller, searchable).
        with matplotlib.rc_context({"svg.hashsalt": f"echo-{name}", "svg.fonttype": "none"}):
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
        out[name] = PROLOG.sub("", buf.getvalue())
    return out


def write_charts(charts: dict[str, str], folder: Path) -> list[Path]:
    """Charts (from render_charts) as NAME.svg files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, svg in charts.items():
        path = folder / f"{name}.svg"
        path.write_text(svg, encoding="utf-8")
        paths.append(path)
    return paths


def _figure(comp: Comparison, height: float, title: str) -> Figure:
    from matplotlib.figure import Figure  # type: ignore[import-not-found, unused-ignore]

    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    fig.suptitle(title, fontsize=11)
    machine = comp.machine
    # The figures' date and machine travel with the chart (a supxlabel: the layout makes room).
    fig.supxlabel(
        f"echo-conformance compare, {machine.date[:10]}: {machine.cpus} CPUs "
        f"({machine.cpu_model}), Python {machine.python}",
        fontsize=7,
        color="#666666",
    )
    return fig


def _grouped(
    ax: Axes,
    names: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], Sequence[str]]],
    values_shown: str = "",
) -> None:
    """Grouped bars: one group per implementation, one bar per series (label, values, notes).
    A missing value is no bar; a note is written over its bar (or where the bar would be), else
    the value, formatted with `values_shown` (when given)."""
    count = len(series)
    width = 0.8 / max(1, count)
    top = max((v for _, values, _ in series for v in values if v is not None), default=1.0)
    for i, (label, values, notes) in enumerate(series):
        xs = [g - 0.4 + width * (i + 0.5) for g in range(len(names))]
        heights = [v if v is not None else 0.0 for v in values]
        ax.bar(xs, heights, width * 0.92, label=label, color=COLORS[i % len(COLORS)])
        for x, v, note in zip(xs, values, notes):
            if note:  # upright, over the bar or where it would stand
                floor = top * 0.02 if ax.get_yscale() == "linear" else ax.get_ylim()[0]
                _over(ax, note, x, v if v is not None and v > 0 else floor, 6.5, rotation=90)
            elif values_shown and v is not None:
                _over(ax, format(v, values_shown), x, v, 7)
    ax.set_xticks(range(len(names)), names, rotation=25, ha="right", fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _over(ax: Axes, text: str, x: float, y: float, size: float, rotation: float = 0) -> None:
    """`text` just above the point (x, y)."""
    ax.annotate(
        text,
        (x, y),
        xytext=(0, 2),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=size,
        rotation=rotation,
        color="#333333",
    )


def _served_note(error: str, served: int, clients: int) -> str:
    if error:
        return "error"
    return f"{served}/{clients} served" if served < clients else ""


def latency_chart(comp: Comparison) -> Figure:
    fig = _figure(comp, 4.2, "Round-trip latency of a small message (lower is better)")
    axes = fig.subplots(1, 2, sharey=True)
    names = [r.name for r in comp.results]
    for ax, what in zip(axes, ("p50", "p99")):
        ax.set_yscale("log")
        series = []
        for i, k in enumerate(comp.budget.latency_clients):
            runs = [r.latency[i] for r in comp.results]
            values = [None if x.error else getattr(x, f"{what}_ms") for x in runs]
            notes = [_served_note(x.error, x.served, x.clients) for x in runs]
            notes = [n or ("no figure" if v is None else "") for n, v in zip(notes, values)]
            series.append((f"{k} client{'s' if k > 1 else ''}", values, notes))
        _grouped(ax, names, series)
        ax.set_title(f"{what} (ms, log scale)", fontsize=9)
    axes[0].legend(fontsize=8)
    return fig


def throughput_chart(comp: Comparison) -> Figure:
    fig = _figure(
        comp, 3.8, "Throughput of large streams, MiB/s of verified replies (higher is better)"
    )
    ax = fig.subplots()
    series = []
    for i, k in enumerate(comp.budget.throughput_clients):
        runs = [r.throughput[i] for r in comp.results]
        values = [None if x.error else x.mib_per_s for x in runs]
        notes = [_served_note(x.error, x.served, x.clients) for x in runs]
        series.append((f"{k} client{'s' if k > 1 else ''}", values, notes))
    _grouped(ax, [r.name for r in comp.results], series, ".0f")
    ax.set_ylabel("MiB/s", fontsize=8)
    ax.legend(fontsize=8)
    return fig


def idle_cpu_chart(comp: Comparison) -> Figure:
    fig = _figure(comp, 3.8, "CPU use of an idle server, % of one core (lower is better)")
    ax = fig.subplots()
    runs = [r.idle_cpu for r in comp.results]
    k = comp.budget.idle_clients
    with_clients = [None if x.error else x.pct for x in runs]
    notes = [
        "error" if x.error else ("exited" if x.pct is None else _served_note("", x.served, k))
        for x in runs
    ]
    series = [
        ("no client", [x.no_client_pct for x in runs], ["" for _ in runs]),
        (f"{k} silent clients", with_clients, notes),
    ]
    _grouped(ax, [r.name for r in comp.results], series, ".0f")
    ax.set_ylim(0, 115)
    ax.set_ylabel("% of one core", fontsize=8)
    ax.legend(fontsize=8)
    return fig


def max_clients_chart(comp: Comparison) -> Figure:
    rows = len(comp.results)
    fig = _figure(comp, 1.2 + 0.45 * rows, "Clients served at once (connected one by one)")
    ax = fig.subplots()
    names = [r.name for r in comp.results]
    served = [0 if r.max_clients.error else r.max_clients.served for r in comp.results]
    ax.barh(range(rows), served, 0.6, color=COLORS[0])
    bound = comp.budget.max_clients
    for y, r in enumerate(comp.results):
        m = r.max_clients
        said = f"error: {m.error}" if m.error else f"{m.served}: {m.reason}"
        text = textwrap.shorten(said, 90, placeholder="...")
        inside = m.served > bound * 0.6
        ax.annotate(
            text,
            (m.served, y),
            xytext=(-4 if inside else 4, 0),
            textcoords="offset points",
            ha="right" if inside else "left",
            va="center",
            fontsize=7,
            color="white" if inside else "#333333",
        )
    ax.set_yticks(range(rows), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, bound * 1.02)
    ax.axvline(bound, color="#999999", lw=0.8, ls="--")
    ax.set_xlabel(f"clients (bound: {bound})", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    return fig
