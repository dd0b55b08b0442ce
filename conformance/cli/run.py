"""How a command runs checks: in threads of this process (runner.run_in_threads), or under pytest
and pytest-xdist (its argv, and a Collector gathering each result as the workers report)."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Collection, Iterator
from typing import Any

import pytest

from conformance.cli.reports import write_capture
from conformance.driver.sandbox import FALLBACK_NOTE, isolation
from conformance.impls import Implementation
from conformance.plugin import RESULT_KEY
from conformance.profiles import get_profile
from conformance.runner import Job, Options, Result, run_in_threads, schedule
from conformance.spec import Spec


class Collector:
    """A pytest plugin object gathering each item's result (works across xdist workers: its
    hooks run in the controlling process, as each worker reports)."""

    def __init__(self) -> None:
        self.results: dict[tuple[str, str], dict[str, Any]] = {}
        self.durations: dict[tuple[str, str], float] = {}
        self.errors: list[str] = []
        self.on_result: Callable[[tuple[str, str]], None] = lambda key: None
        # (implementation, requirement) of the tests under way, by start: for a status line.
        self.running: dict[str, tuple[str, str]] = {}
        self.on_running: Callable[[list[tuple[str, str]]], None] = lambda keys: None

    def started(self, ident: str, key: tuple[str, str]) -> None:
        self.running[ident] = key
        self.on_running(list(self.running.values()))

    def ended(self, ident: str) -> None:
        if self.running.pop(ident, None) is not None:
            self.on_running(list(self.running.values()))

    def record(self, key: tuple[str, str], result: dict[str, Any], seconds: float) -> None:
        self.results[key] = result
        self.durations[key] = self.durations.get(key, 0.0) + seconds
        self.on_result(key)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        impl, _, rid = nodeid.rpartition("::")  # SPEC.toml::IMPL::REQ
        self.started(nodeid, (impl.rpartition("::")[2], rid))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            if key == RESULT_KEY and isinstance(value, str):
                result = json.loads(value)
                self.record((result["impl"], result["requirement"]), result, report.duration)
        if report.when != "call" and report.failed:
            self.errors.append(f"{report.nodeid} ({report.when}): {report.longreprtext[-500:]}")
        if report.when == "teardown":
            self.ended(report.nodeid)

    def result(self, key: tuple[str, str]) -> Result:
        r = self.results[key]
        took = self.durations.get(key, 0.0)
        return Result(key[1], "", r["outcome"], r["summary"], r["evidence"], took, r["details"])

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(f"collecting {report.nodeid}: {report.longreprtext[-500:]}")


def pytest_args(
    args: argparse.Namespace, spec: Spec, impls: list[Implementation], command: list[str]
) -> list[str]:
    out = base_args(spec)
    if command:
        out += ["--echo-server", shlex.join(command)]
        if args.fixed_port is not None:
            out += ["--echo-fixed-port", str(args.fixed_port)]
    else:
        for impl in impls:
            out += ["--echo-impl", str(impl.manifest.parent if impl.manifest else impl.name)]
    for rid in args.require:
        out += ["--echo-require", rid]
    if args.exitfirst:
        out.append("--exitfirst")
    if args.timeout is not None:
        out += ["--echo-reply-timeout", str(args.timeout)]
    profile = get_profile(args.profile)
    costs = [spec.requirement(rid).cost(profile) for rid in args.only or spec.ids] * len(impls)
    return out + common_args(args, costs)


# Checks at once, at most, per CPU: checks mostly wait on their servers, but each runs one (or
# more), and a busy-polling one takes a core.  pytest-xdist workers are processes of their own.
WORKERS_PER_CPU = 4  # on 2 cores, pytest's `check --all` took 46 s with 3 workers, 24 s with 8
# On 2 cores, `check --all` in threads: 23 s with 8, 17 s with 12; grading 20 + 1 submissions:
# 45 s with 12, 43 s with 16 (its checks in turn, not yet chained: runner.schedule).
THREADS_PER_CPU = 8


def default_workers(costs: list[float], per_cpu: int = WORKERS_PER_CPU) -> int:
    """Enough checks at once (each taking about `costs` seconds) that the longest one sets
    the pace: at least one more than the CPUs, at most `per_cpu` a CPU, never more than the
    checks."""
    cpus = os.cpu_count() or 1
    overlapped = math.ceil(sum(costs) / max(costs, default=1.0))
    return min(max(overlapped, cpus + 1), per_cpu * cpus, len(costs))


def common_args(args: argparse.Namespace, costs: list[float]) -> list[str]:
    out = ["-p", "xdist.plugin"]  # named: plugins are not looked up (see run_pytest)
    for rid in args.only:
        out += ["--echo-only", rid]
    for folder in getattr(args, "share", []):
        out += ["--echo-share", folder]
    if args.profile:
        out += ["--echo-profile", args.profile]
    if args.seed is not None:
        out += ["--echo-seed", str(args.seed)]
    workers = args.workers if args.workers is not None else default_workers(costs)
    if workers > 1:
        # One test at a time to each free worker, slowest first (the plugin orders them): no
        # long check is left to run alone at the end.
        out += ["-n", str(workers), "--maxschedchunk", "1"]
    out += ["-q", "--tb=no", "-rN"] if getattr(args, "verbose", False) else ["-p", "no:terminal"]
    return out


# pytest's own plugins that a run of checks never uses: not loading them saves each process (the
# command and every worker) a moment.  (Output capture, logging and warnings stay.)
UNUSED_PLUGINS = (
    "cacheprovider",
    "debugging",
    "doctest",
    "junitxml",
    "legacypath",
    "monkeypatch",
    "pastebin",
    "recwarn",
    "setuponly",
    "setupplan",
    "stepwise",
    "subtests",
    "tmpdir",
    "unittest",
)


def base_args(spec: Spec) -> list[str]:
    return [
        str(spec.path),
        "-p",
        "conformance.plugin",
        *(arg for name in UNUSED_PLUGINS for arg in ("-p", f"no:{name}")),
        "-c",
        os.devnull,  # ignore the pytest configuration of whatever folder we run in
        "--rootdir",
        str(spec.path.parent),
        "--confcutdir",
        str(spec.path.parent),
        "--echo-spec",
        str(spec.path),
        "-o",
        "xfail_strict=true",
        # Checks judge with NonConformance, not assert: rewriting the plugins' modules (all of
        # Hypothesis) would only cost each process most of a second where no .pyc is written.
        "--assert=plain",
    ]


def run_in_process(
    args: argparse.Namespace,
    spec: Spec,
    impls: list[Implementation],
    collector: Collector,
    first: Collection[tuple[str, str]] = (),
    stop: threading.Event | None = None,
) -> None:
    """The checks in threads of this process (runner.run_in_threads), in the order that
    runner.schedule gives them: those in `first` ((implementation, requirement): failed last
    time) first.  No pytest worker process to start, so the first check starts at once.
    `args.exitfirst`: the first fail ends the run; so does `stop` (--watch)."""
    options = Options(
        profile=get_profile(args.profile),
        seed=args.seed,
        reply_timeout=args.timeout,
        shared=tuple(args.share),
        capture=getattr(args, "pcap", None) is not None,
    )
    jobs = [
        (impl, req)
        for impl in impls
        for req in spec.requirements
        if (not args.only or req.id in args.only) and (not impl.only or req.id in impl.only)
    ]
    profile = options.profile
    workers = args.workers
    if workers is None:
        workers = default_workers([req.cost(profile) for _, req in jobs], THREADS_PER_CPU)
    chains = schedule(jobs, profile, workers, first)

    def started(job: Job) -> None:
        key = (job[0].name, job[1].id)
        collector.started("::".join(key), key)

    def finished(job: Job, result: Result | None) -> None:
        key = (job[0].name, job[1].id)
        if result is not None:  # None: cut short (-x, --watch), no verdict
            pcap = getattr(args, "pcap", None)
            if pcap is not None and (capture := write_capture(pcap, *key, result)):
                result.details["capture"] = capture
            fields = ("outcome", "summary", "evidence", "details")
            collector.record(key, {f: getattr(result, f) for f in fields}, result.duration_s)
        collector.ended("::".join(key))

    def halt(result: Result) -> bool:
        return bool(getattr(args, "exitfirst", False)) and result.outcome == "fail"

    with sigterm_interrupts():
        run_in_threads(spec, chains, options, workers, started, finished, halt, stop)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM, as Ctrl-C does, interrupts the run: its servers are stopped, none outlives it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class RunnerFailed(Exception):
    """pytest could not run the checks (it said why on stderr)."""


def run_pytest(argv: list[str], collector: Collector) -> None:
    # Only the plugins named on the command line, in this process and in its workers: pytest
    # plugins installed alongside (random order, timeouts, coverage) must not bear on a verdict,
    # and looking them up costs every process a moment.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    status = pytest.main(argv, plugins=[collector])
    if status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or collector.errors:
        for err in collector.errors:
            print(f"echo-conformance: runner error: {err}", file=sys.stderr)
        raise RunnerFailed(f"the runner failed (pytest exit status {int(status)})")


def say_isolation() -> None:
    """Once per run, when servers cannot have namespaces of their own."""
    available, why = isolation()
    if not available:
        print(f"echo-conformance: note: {FALLBACK_NOTE.format(why=why)}", file=sys.stderr)
