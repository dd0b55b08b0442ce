"""Exchange rate: round trips per second and MiB/s through the suite's driver against a bare
socket loop doing the same exchanges (loops.py), with the same server: the registered `select`
implementation, started by the launcher on a free 127.0.0.1 port, in our own network (not
isolated, so that the bare loop reaches it as any client would)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from benchmarks.jobs import Table
from benchmarks.loops import (
    MIB,
    Address,
    BenchError,
    Rate,
    Workload,
    bare_examples,
    bare_round_trips,
    bare_stream,
    harness_examples,
    harness_round_trips,
    harness_stream,
)
from conformance.driver.launcher import Server
from conformance.impls import registry
from conformance.model import Transform
from conformance.outcome import NonConformance, RunnerError, UsageError
from conformance.session import EXIT_SETTLE
from conformance.spec import Spec, load_spec

IMPL = "select"  # impls/select/server.py
RATIO_GOAL = 0.5  # harness rate / bare rate

Measure = Callable[[Workload], Rate]
HarnessLoop = Callable[[Server, Spec, Workload], Rate]
BareLoop = Callable[[Address, Transform, Workload], Rate]
# Per workload (by its unit): the loop through the driver, and the bare loop.
SIDES: dict[str, tuple[HarnessLoop, BareLoop]] = {
    "round trips/s": (harness_round_trips, bare_round_trips),
    "connections/s": (harness_examples, bare_examples),
    "MiB/s": (harness_stream, bare_stream),
}


def exchange_workloads(quick: bool, seconds: float) -> list[Workload]:
    scale = 8 if quick else 1
    return [
        Workload("64 B round trips on one connection", "round trips/s", 64, 20000, seconds),
        Workload(
            "connect, 64 B round trip, close: one `upper` example "
            f"(with its {EXIT_SETTLE * 1000:g} ms exit settle)",
            "connections/s",
            64,
            2000 // scale,
            seconds,
            goal=False,  # the settle is a deliberate wait, not overhead
        ),
        Workload(
            f"{64 // scale} MiB stream in 1 MiB writes, read concurrently",
            "MiB/s",
            MIB,
            64 // scale,
            max(seconds, 10.0),
        ),
    ]


def measure(fn: Measure, w: Workload, runs: int, errors: list[str], who: str) -> list[Rate]:
    """`runs` runs of one side of one workload; a failed run is an error, not a figure."""
    rates = []
    for _ in range(runs):
        try:
            rates.append(fn(w))
        except Exception as exc:  # a NonConformance, a socket error, a wrong reply
            summary = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            errors.append(f"exchange, {w.name}, {who}: {summary}")
    return rates


def figure(r: Rate, w: Workload) -> float:
    return r.mib_per_second if w.unit == "MiB/s" else r.per_second


def show_rate(rates: list[Rate], w: Workload) -> str:
    """A table cell: the best rate (and the median), and how far a time-bounded run got."""
    if not rates:
        return "**did not run**"
    ranked = sorted(rates, key=lambda r: figure(r, w))
    best = ranked[-1]
    cell = f"{figure(best, w):,.0f} {w.unit}"
    if len(ranked) > 1:
        cell += f" (median {figure(ranked[len(ranked) // 2], w):,.0f})"
    if w.unit != "MiB/s":
        cell += f", {best.mib_per_second:.2f} MiB/s"
    if best.exchanges < w.count:
        cell += f" [{best.exchanges} of {w.count}, bounded at {w.seconds:g} s]"
    return cell


def show_ratio(harness: list[Rate], bare: list[Rate], w: Workload) -> str:
    """Reply bytes per second, best against best, and whether it falls short of the goal."""
    if not harness or not bare:
        return "-"
    h = max(r.reply_bytes / r.seconds for r in harness)
    b = max(r.reply_bytes / r.seconds for r in bare)
    short = w.goal and h / b < RATIO_GOAL
    return f"{h / b:.2f}" + (f" (goal {RATIO_GOAL})" if short else "")


def exchange_rate(runs: int, quick: bool, seconds: float) -> Table:
    """Harness against bare loop, per workload, with the same select server: (table, errors)."""
    spec = load_spec()
    transform = Transform.of(spec)
    errors: list[str] = []
    lines = [
        "| workload | harness (Session, Peer, pump) | bare socket loop | harness/bare |",
        "|---|---|---|---|",
    ]
    with Server(registry()[IMPL].target, spec, isolated="") as server:
        try:
            server.start()
            for w in exchange_workloads(quick, seconds):
                harness_loop, bare_loop = SIDES[w.unit]
                harness_fn = partial(harness_loop, server, spec)
                bare_fn = partial(bare_loop, server.address, transform)
                harness = measure(harness_fn, w, runs, errors, "harness")
                bare = measure(bare_fn, w, runs, errors, "bare")
                lines.append(
                    f"| {w.name} | {show_rate(harness, w)} | {show_rate(bare, w)} "
                    f"| {show_ratio(harness, bare, w)} |"
                )
                if not server.alive():
                    raise BenchError(f"the {IMPL} server {server.exit_status()}")
        except (BenchError, NonConformance, RunnerError, UsageError) as exc:
            errors.append(f"exchange: {str(exc).splitlines()[0]}")
    lines += ["", "(harness/bare: reply bytes per second, best against best)"]
    return lines, errors
