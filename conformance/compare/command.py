"""`echo-conformance compare`: the same loopback workloads on each implementation, measured.

Four workloads, each on a fresh server (a crash in one spoils no other), one implementation
after the other so that no two measurements compete for the CPUs, every one bounded in time and
in count (workloads.Budget):

- latency: K clients (1, 16, 128) each do round trips of a small message, closed loop;
- throughput: K clients (1, 16) stream large writes while reading the replies;
- idle CPU: the server's CPU use with no client, then with 100 connected, silent clients;
- max clients: clients connect one by one, each served while the earlier ones stay connected,
  up to a bound; the count and what stopped it.

This is a measurement, not a conformance check: every reply byte is still verified, and a wrong
reply makes the workload an error instead of a figure.  The layers, from the sockets up: crowd.py
(the clients), workloads.py and max_clients.py (the measurements), comparison.py (the results
as data, JSON), compare_report.py and charts.py (tables, HTML, SVG); this module runs them.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import random
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from conformance.bundled import SPEC_DIR
from conformance.compare.crowd import Pattern
from conformance.compare.max_clients import measure_max_clients
from conformance.compare.report import CHARTS_MISSING, render_html, render_text
from conformance.compare.results import Comparison, Host, ImplResult
from conformance.compare.workloads import (
    MESSAGE,
    Budget,
    IdleCpu,
    Latency,
    MaxClients,
    Measurement,
    Throughput,
    measure_idle_cpu,
    measure_latency,
    measure_throughput,
)
from conformance.driver.launcher import Server
from conformance.driver.net import raise_nofile
from conformance.impls import Implementation, find_impl, registry
from conformance.model import Transform
from conformance.outcome import NonConformance, RunnerError, UsageError
from conformance.spec import Spec, load_spec

DEFAULT_NAMES = (
    "blocking",
    "nonblocking",
    "select",
    "tutorial-blocking",
    "tutorial-nonblocking",
    "tutorial-select",
)
STACK_MIB = 8  # a thread's stack (RLIMIT_STACK's usual default): address space per thread

M = TypeVar("M", bound=Measurement)


def measuring_spec(spec: Spec, bound: int) -> Spec:
    """The spec's limits, raised so that `bound` clients (and a thread each) fit: a comparison
    measures how far a server goes, where a check only asks whether it goes far enough."""
    room = bound + 256
    limits = dataclasses.replace(
        spec.limits,
        nofile=max(spec.limits.nofile, 4096, room),
        processes=max(spec.limits.processes, room),
        address_space_mib=max(spec.limits.address_space_mib, room * STACK_MIB + 1024),
    )
    return dataclasses.replace(spec, limits=limits)


def run_workload(impl: Implementation, spec: Spec, measure: Callable[[Server], M], failed: M) -> M:
    """`measure` on a fresh server; `failed` (a result with its `error` set) if it cannot start."""
    try:
        with Server(impl.target, spec) as server:
            server.start()
            return measure(server)
    except (NonConformance, RunnerError) as exc:
        failed.error = f"could not start: {str(exc).splitlines()[0]}"
        return failed


def measure_impl(impl: Implementation, budget: Budget) -> ImplResult:
    started = time.monotonic()
    spec = measuring_spec(load_spec(SPEC_DIR / impl.spec_name), budget.max_clients)
    transform = Transform.of(spec)
    small = Pattern(MESSAGE[: budget.message].ljust(budget.message, b"."), transform)
    large = Pattern(random.Random(0).randbytes(budget.write_size), transform)

    def fresh(measure: Callable[..., M], failed: M, **kw: Any) -> M:
        return run_workload(impl, spec, partial(measure, budget=budget, **kw), failed)

    latency = [
        fresh(measure_latency, Latency(k), clients=k, pattern=small) for k in budget.latency_clients
    ]
    throughput = [
        fresh(measure_throughput, Throughput(k), clients=k, pattern=large)
        for k in budget.throughput_clients
    ]
    idle = fresh(measure_idle_cpu, IdleCpu(budget.idle_clients), pattern=small)
    most = fresh(measure_max_clients, MaxClients(budget.max_clients), pattern=small)
    return ImplResult(
        impl.name,
        impl.description,
        impl.target.display(),
        latency,
        throughput,
        idle,
        most,
        time.monotonic() - started,
    )


def compare(
    impls: Iterable[Implementation],
    budget: Budget,
    command: str = "echo-conformance compare",
    progress: Callable[[str], None] = lambda line: None,
) -> Comparison:
    """Measure each implementation in turn (never two at once: they would share the CPUs)."""
    raise_nofile(budget.max_clients + 1024)
    machine = Host.here()
    started = time.monotonic()
    results = []
    for impl in impls:
        progress(f"measuring {impl.name} ...")
        results.append(measure_impl(impl, budget))
        progress(f"measured {impl.name} in {results[-1].seconds:.1f} s")
    return Comparison(machine, budget, command, time.monotonic() - started, results)


# -- the command -----------------------------------------------------------------------------


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The `compare` subcommand, on argparse subparsers."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "compare",
        help="measure implementations on the same loopback workloads",
        description="Measure implementations on the same loopback workloads (latency, "
        "throughput, idle CPU, max clients), one after the other; print tables, and write "
        "charts, HTML and JSON where asked.",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"registered names or folders with impl.toml (default: {' '.join(DEFAULT_NAMES)})",
    )
    parser.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained page")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures as JSON")
    parser.add_argument("--charts", type=Path, metavar="DIR", help="write the charts as SVG files")
    parser.add_argument(
        "--max-clients",
        type=int,
        metavar="N",
        help="bound of the max clients workload (default 1000; --quick: 64)",
    )
    parser.add_argument("--quick", action="store_true", help="short budgets: a first look")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.max_clients is not None and args.max_clients < 1:
        raise UsageError("--max-clients must be at least 1")
    names = args.names or [n for n in DEFAULT_NAMES if n in registry()]
    impls = [find_impl(name) for name in names]
    for impl in impls:
        impl.target.resolve()
    budget = Budget.quick() if args.quick else Budget()
    if args.max_clients is not None:
        budget = dataclasses.replace(budget, max_clients=args.max_clients)
    command = getattr(args, "words", "echo-conformance compare")  # cli.main sets the words

    def progress(line: str) -> None:
        print(f"compare: {line}", file=sys.stderr, flush=True)

    comp = compare(impls, budget, command, progress)
    print(render_text(comp))
    if args.json:
        args.json.write_text(json.dumps(comp.to_json(), indent=2) + "\n", encoding="utf-8")
    charts: dict[str, str] = {}
    if args.charts or args.html:
        if importlib.util.find_spec("matplotlib") is None:
            print(f"compare: {CHARTS_MISSING}", file=sys.stderr)
        else:
            from conformance.compare.charts import render_charts, write_charts  # imports matplotlib

            charts = render_charts(comp)
            if args.charts:
                write_charts(charts, args.charts)
    if args.html:
        args.html.write_text(render_html(comp, charts), encoding="utf-8")
    return 0
