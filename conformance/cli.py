"""The echo-conformance command line.

    echo-conformance check [OPTIONS] -- COMMAND [ARG...]   an arbitrary server command
    echo-conformance check [OPTIONS] NAME_OR_PATH          a registered implementation
    echo-conformance check [OPTIONS] --all                 every registered implementation
    echo-conformance grade [OPTIONS] SUBMISSIONS_DIR       grade a class (see grade.py)
    echo-conformance merge DIR...                          combine the grades of shards
    echo-conformance compare [NAME...]                     measure the I/O models side by side
    echo-conformance selftest                              the suite on its own corpus
    echo-conformance list

Exit status: 0 conformant (--all: every outcome as declared; grade: grading ran), 1 not
conformant (--all: an outcome contrary to its declaration), 2 usage error or the runner failed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from conformance import compare
from conformance.about import version_text
from conformance.bundled import SPEC_DIR
from conformance.catalog import cost
from conformance.corpus import Unavailable, implementation, load_catalog
from conformance.grade import (
    DEFAULT_COMMAND,
    OnResult,
    find_submissions,
    grade,
    gradescope_results,
    merge,
    shard,
    summary_table,
    write_grades,
)
from conformance.impls import Implementation, adhoc, find_impl, registry
from conformance.junit import write_junit
from conformance.outcome import UsageError
from conformance.platforms import require_linux
from conformance.plugin import RESULT_KEY
from conformance.profiles import PROFILE_ENV, PROFILES, get_profile
from conformance.progress import CheckProgress, GradeProgress
from conformance.report import Entry, Report, render_matrix, render_report, write_json
from conformance.runner import Job, Options, Result, run_in_threads
from conformance.sandbox import FALLBACK_NOTE, isolation
from conformance.settings import find_settings
from conformance.spec import DEFAULT_SPEC, Spec, SpecError, load_spec
from conformance.view import shared_folders

EXIT_OK, EXIT_NONCONFORMANT, EXIT_USAGE = 0, 1, 2
REPORT_FLAGS = ("json", "junit", "html")  # the options that name a report file


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line that says where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="echo-conformance",
        description="Check TCP uppercase-echo servers against a declarative protocol spec.",
    )
    parser.add_argument(
        "--version",
        action="store_true",
        help="print the suite's version, its spec, the Python and the isolation mode, and exit",
    )
    sub = parser.add_subparsers(dest="subcommand")
    check = sub.add_parser(
        "check",
        help="check a server",
        usage="echo-conformance check [OPTIONS] (NAME_OR_PATH | --all | -- COMMAND [ARG...])",
        description="Check a server command (after --), a registered implementation, or all.",
    )
    check.add_argument("target", nargs="?", help="registered name or folder with impl.toml")
    check.add_argument("--all", action="store_true", help="every registered implementation")
    check.add_argument(
        "--spec",
        help="protocol spec (TOML; default: the one a named implementation declares, else "
        "spec/echo.toml)",
    )
    check.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=None,
        help="Hypothesis profile (default: $ECHO_CONFORMANCE_PROFILE or default)",
    )
    check.add_argument(
        "--fixed-port",
        type=int,
        metavar="N",
        help="the server always listens on N and takes no port argument",
    )
    check.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="ID",
        help="treat this SHOULD requirement as required (repeatable)",
    )
    check.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="ID",
        help="check only this requirement (repeatable)",
    )
    check.add_argument(
        "--timeout", type=float, metavar="S", help="reply timeout in seconds (default: the spec's)"
    )
    check.add_argument("--seed", type=int, help="vary the generated cases (default: fixed)")
    add_share_option(check)
    add_report_options(check)
    check.add_argument(
        "-n",
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="checks at once, in threads (with -v: pytest-xdist workers; 0 or 1: one at a "
        "time; default: enough that the longest check sets the pace)",
    )
    check.add_argument(
        "-v", "--verbose", action="store_true", help="run the checks under pytest, with its output"
    )
    check.add_argument(
        "-q", "--quiet", action="store_true", help="no progress lines: only the final report"
    )
    grade = sub.add_parser(
        "grade",
        help="grade a folder of submissions",
        description="Grade each subfolder of SUBMISSIONS_DIR (one submission each).  Writes "
        "grades.csv and, per submission, report.json and report.txt into --out.",
    )
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR")
    grade.add_argument(
        "--command",
        dest="template",
        default=DEFAULT_COMMAND,
        metavar="TEMPLATE",
        help="how to start a submission without impl.toml, run in its folder ({dir}, {port}, "
        f"{{host}} substituted; default: {DEFAULT_COMMAND!r})",
    )
    grade.add_argument(
        "--fixed-port", type=int, metavar="N", help="the servers always listen on N (like 8080)"
    )
    grade.add_argument(
        "--detect-port",
        action="store_true",
        help="grade a server that listens on another port than it was given on that port",
    )
    grade.add_argument("--spec", default=str(DEFAULT_SPEC), help="protocol spec (TOML)")
    grade.add_argument("--profile", choices=sorted(PROFILES), default=None)
    grade.add_argument("--seed", type=int, help="vary the generated cases (default: fixed)")
    grade.add_argument("-n", "--workers", type=int, default=None, metavar="N")
    grade.add_argument("--out", type=Path, default=Path("grades"), help="output folder")
    grade.add_argument("--shard", metavar="K/N", help="grade only the K-th of N slices")
    grade.add_argument(
        "-q", "--quiet", action="store_true", help="no progress lines: only the summary"
    )
    add_share_option(grade)
    add_report_options(grade, json=False)
    grade.add_argument(
        "--format",
        choices=("csv", "gradescope"),
        default="csv",
        help="gradescope: SUBMISSIONS_DIR is one submission; write OUT/results.json",
    )
    merge = sub.add_parser("merge", help="combine the --out folders of grade shards")
    merge.add_argument("folders", type=Path, nargs="+", metavar="DIR")
    merge.add_argument("--out", type=Path, default=Path("grades"), help="output folder")
    selftest = sub.add_parser(
        "selftest",
        help="run the suite on its own corpus of correct and planted-bug servers",
        description="Every planted bug must be failed on the requirements it trips, every "
        "correct server must pass everything: the kill-rate table and its tally.",
    )
    selftest.add_argument("--server", action="append", default=[], help="only this one")
    selftest.add_argument("--profile", choices=sorted(PROFILES), default=None)
    selftest.add_argument("--seed", type=int, help="vary the generated cases (default: fixed)")
    selftest.add_argument("-n", "--workers", type=int, default=None, metavar="N")
    selftest.add_argument(
        "--cascade",
        action="store_true",
        help="check planted bugs on every requirement, not only those they trip, and tally "
        "how many each fails: one defect should fail one requirement",
    )
    compare.add_parser(sub)
    lst = sub.add_parser("list", help="list registered implementations and specs")
    lst.add_argument("--spec", default=None, help="only implementations of this spec")
    return parser


def add_share_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--share",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder every server also sees, read-only, in its sandbox: a course's shared "
        "files (repeatable; named in the reports)",
    )


def add_report_options(parser: argparse.ArgumentParser, json: bool = True) -> None:
    if json:
        parser.add_argument("--json", type=Path, metavar="FILE", help="write a JSON report")
    parser.add_argument(
        "--junit", type=Path, metavar="FILE", help="write a JUnit XML report (for CI systems)"
    )
    parser.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="write a self-contained HTML report: the matrix and every failure's evidence",
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    words = shlex.join(["echo-conformance", *argv])
    command: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1 :]
    parser = build_parser()
    args = parser.parse_args(argv)
    args.words = words  # the command line, for reports
    try:
        status = dispatch(parser, args, command)
        # Output piped to a program that stopped reading shows here, where it is handled, not in
        # the interpreter's last flush (which would exit with status 120).
        sys.stdout.flush()
        return status
    except (UsageError, SpecError, RunnerFailed) as exc:
        print(f"echo-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("echo-conformance: interrupted", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped to a program that stopped reading (head, less)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_USAGE


def dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace, command: list[str]) -> int:
    if args.version:
        print(version_text(load_spec(DEFAULT_SPEC)))
        return EXIT_OK
    if args.subcommand is None:
        parser.error("give a subcommand: check, grade, merge, compare, selftest or list")
    if args.subcommand in ("check", "grade", "selftest", "compare"):
        require_linux()  # these start servers: elsewhere, one line before anything starts
    if args.subcommand in ("check", "grade", "selftest"):
        get_profile(args.profile)  # a wrong one ($ECHO_CONFORMANCE_PROFILE too) stops us here
    check_outputs(args)
    args.share = list(shared_folders(getattr(args, "share", [])))
    if command and args.subcommand != "check":
        raise UsageError(f"{args.subcommand} takes no server command after --")
    if args.subcommand == "list":
        return cmd_list(args)
    if args.subcommand == "grade":
        return cmd_grade(args)
    if args.subcommand == "selftest":
        return cmd_selftest(args)
    if args.subcommand == "compare":
        return compare.run(args)
    if args.subcommand == "merge":
        count = merge(args.folders, args.out)
        print(f"{count} submissions in {args.out / 'grades.csv'}")
        return EXIT_OK
    return cmd_check(args, command)


def cmd_list(args: argparse.Namespace) -> int:
    impls = registry()
    print("implementations:")
    width = max((len(n) for n in impls), default=0)
    for impl in impls.values():
        if args.spec and impl.spec_name != Path(args.spec).name:
            continue
        declared = ", ".join(impl.expected_failures) or "nothing"
        print(f"  {impl.name:<{width}}  [{impl.spec_name}] {impl.description}")
        print(f"  {'':<{width}}  command: {impl.target.display()}; expected to fail: {declared}")
    print("specs:")
    for path in sorted(SPEC_DIR.glob("*.toml")):
        spec = load_spec(path)
        print(
            f"  {path.name}: {spec.title} ({spec.name} {spec.version}), "
            f"{len(spec.requirements)} requirements"
        )
    return EXIT_OK


def select_impls(args: argparse.Namespace, command: list[str], spec: Spec) -> list[Implementation]:
    chosen = sum(bool(x) for x in (args.all, args.target, command))
    if chosen != 1:
        raise UsageError("give exactly one of: NAME_OR_PATH, --all, or -- COMMAND [ARG...]")
    if command:
        impl = adhoc(command, args.fixed_port)
        impl.target.resolve()
        return [impl]
    if args.fixed_port is not None:
        raise UsageError("--fixed-port applies to a command given after --")
    if args.all:
        impls = [i for i in registry().values() if i.spec_name == spec.path.name]
        if not impls:
            raise UsageError(f"no registered implementation of {spec.path.name}")
    else:
        impls = [find_impl(args.target)]
    for impl in impls:
        impl.validate(spec)
        impl.target.resolve()
    return impls


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
    if args.timeout is not None:
        out += ["--echo-reply-timeout", str(args.timeout)]
    profile = get_profile(args.profile)
    costs = [cost(spec.requirement(rid), profile) for rid in args.only or spec.ids] * len(impls)
    return out + common_args(args, costs)


# Checks at once, at most, per CPU: checks mostly wait on their servers, but each runs one (or
# more), and a busy-polling one takes a core.  pytest-xdist workers are processes of their own.
WORKERS_PER_CPU = 4  # on 2 cores, pytest's `check --all` took 46 s with 3 workers, 24 s with 8
THREADS_PER_CPU = 6  # on 2 cores, `check --all` in threads: 23 s with 8, 17 s with 12


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


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before the first check, a report that could not be written: a run is never lost
    at its end to a mistyped path."""
    for flag in REPORT_FLAGS:
        path: Path | None = getattr(args, flag, None)
        if path is not None:
            _writable(f"--{flag} {path}", path, folder=False)
    out: Path | None = getattr(args, "out", None)
    if out is not None:
        _writable(f"--out {out}", out, folder=True)


def _writable(what: str, path: Path, folder: bool) -> None:
    if path.exists() and path.is_dir() != folder:
        raise UsageError(f"{what}: is {'not ' if folder else ''}a folder")
    parent = path if folder else path.parent
    while not parent.exists():  # a folder is made with its missing parents; a file is not
        if not folder:
            raise UsageError(f"{what}: no folder {parent} to write it in")
        parent = parent.parent
    target = path if path.exists() else parent
    if not parent.is_dir() or not os.access(target, os.W_OK):
        raise UsageError(f"{what}: cannot write there ({target} is not writable)")


def check_spec(args: argparse.Namespace) -> Spec:
    """--spec; else the spec the named implementation declares; else the default."""
    if args.spec is None and args.target and not args.all:
        return load_spec(SPEC_DIR / find_impl(args.target).spec_name)
    return load_spec(args.spec or DEFAULT_SPEC)


def apply_settings(args: argparse.Namespace, command: list[str]) -> list[str]:
    """What the folder's settings (settings.py) add to the command line; the server command."""
    settings = find_settings(Path.cwd())
    if settings is None:
        return command
    print(f"echo-conformance: settings from {settings.source}", file=sys.stderr)
    named = bool(args.target or args.all)  # registered implementations declare their spec
    if args.spec is None and settings.spec is not None and not named:
        args.spec = str(settings.spec)
    if args.profile is None and not os.environ.get(PROFILE_ENV):
        args.profile = settings.profile
    if command or named or settings.command is None:
        return command
    if args.fixed_port is None:
        args.fixed_port = settings.fixed_port
    # The command runs where its settings are; the paths given here stay where they point.
    for flag in REPORT_FLAGS:
        if getattr(args, flag) is not None:
            setattr(args, flag, getattr(args, flag).absolute())
    if args.spec is not None:
        args.spec = os.path.abspath(args.spec)
    os.chdir(settings.folder)
    text = settings.command
    return shlex.split(text) if isinstance(text, str) else list(text)


def cmd_check(args: argparse.Namespace, command: list[str]) -> int:
    command = apply_settings(args, command)
    spec = check_spec(args)
    for rid in args.require + args.only:
        if rid not in spec.ids:
            raise UsageError(
                f"no requirement {rid!r} in {spec.path.name} (known: {', '.join(spec.ids)})"
            )
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be > 0")
    if args.workers is not None and args.workers < 0:
        raise UsageError("-n must be >= 0")
    impls = select_impls(args, command, spec)
    say_isolation()
    collector = Collector()
    # Progress goes to stdout with the report: for one implementation its lines are the report's
    # table, printed as the checks finish, so `check ... > file` still holds the whole report in
    # order.  (grade's go to stderr: its stdout is the summary table.)  -v shows pytest's own.
    progress = None
    if not (args.quiet or args.verbose):
        progress = CheckProgress(
            lambda: build_reports(spec, impls, collector, args, 0.0),
            args.all,
            sys.stdout,
            sys.stdout.isatty(),
        )
        collector.on_result, collector.on_running = progress.result, progress.running
    started = time.monotonic()
    try:
        if not args.verbose:
            run_in_process(args, spec, impls, collector)
        else:
            run_pytest(pytest_args(args, spec, impls, command), collector)
    finally:
        if progress:
            progress.stop()  # the terminal's status line, also when the runner failed
    elapsed = time.monotonic() - started
    reports = build_reports(spec, impls, collector, args, elapsed)
    if args.json:
        write_json(args.json, reports, many=args.all)
    write_reports(args, reports, "check --all" if args.all else f"check {reports[0].impl.name}")
    if progress:
        progress.finish()  # the lines of checks that left no result
    if args.all:
        print(("\n" if progress else "") + render_matrix(reports))
        unexpected = [(r.impl.name, e) for r in reports for e in r.unexpected]
        for name, e in unexpected:
            print(
                f"\nUNEXPECTED {name}: {e.id} {e.outcome} (declared: {e.expected})"
                + (f": {e.summary}" if e.summary else "")
            )
            if e.evidence:
                print(e.evidence)
        if any(e.outcome == "error" for _, e in unexpected):
            return EXIT_USAGE
        total = sum(len(r.entries) for r in reports)
        print(
            f"\n{len(reports)} implementations, {len(unexpected)} outcome(s) contrary to "
            f"their declaration, in {elapsed:.1f} s"
        )
        print(f"as-declared: {total - len(unexpected)} passed, {len(unexpected)} failed")
        return EXIT_NONCONFORMANT if unexpected else EXIT_OK
    report = reports[0]
    print(render_report(report, table=progress is None))
    print(f"({elapsed:.1f} s)")
    return {"conformant": EXIT_OK, "nonconformant": EXIT_NONCONFORMANT}.get(
        report.verdict, EXIT_USAGE
    )


def run_in_process(
    args: argparse.Namespace, spec: Spec, impls: list[Implementation], collector: Collector
) -> None:
    """The checks in threads of this process (runner.run_in_threads), longest first: no pytest
    worker process to start, so the first check starts at once."""
    options = Options(
        profile=get_profile(args.profile),
        seed=args.seed,
        reply_timeout=args.timeout,
        shared=tuple(args.share),
    )
    jobs = [
        (impl, req)
        for impl in impls
        for req in spec.requirements
        if (not args.only or req.id in args.only) and (not impl.only or req.id in impl.only)
    ]
    jobs.sort(key=lambda job: -cost(job[1], options.profile))  # longest first; stable
    workers = args.workers
    if workers is None:
        costs = [cost(req, options.profile) for _, req in jobs]
        workers = default_workers(costs, THREADS_PER_CPU)

    def started(job: Job) -> None:
        key = (job[0].name, job[1].id)
        collector.started("::".join(key), key)

    def finished(job: Job, result: Result) -> None:
        key = (job[0].name, job[1].id)
        fields = ("outcome", "summary", "evidence", "details")
        collector.record(key, {f: getattr(result, f) for f in fields}, result.duration_s)
        collector.ended("::".join(key))

    with sigterm_interrupts():
        run_in_threads(spec, jobs, options, workers, started, finished)


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


def write_reports(
    args: argparse.Namespace, reports: list[Report], title: str, noun: str = "implementation"
) -> None:
    """--junit and --html, where asked for."""
    if args.junit:
        write_junit(args.junit, reports)
    if args.html:
        from conformance.html_report import render_html  # only when asked for

        title = f"echo-conformance: {title}"
        page = render_html(reports, title=title, command=args.words, noun=noun)
        args.html.write_text(page, encoding="utf-8")


def cmd_grade(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    if args.workers is not None and args.workers < 1:
        raise UsageError("-n must be >= 1")
    one = args.format == "gradescope"
    found = find_submissions(args.submissions, args.template, args.fixed_port, one)
    subs = shard(found, args.shard)
    if not subs:
        raise UsageError(f"{args.submissions}: no submission folders in it")
    say_isolation()
    workers = args.workers or os.cpu_count() or 1
    options = Options(profile=get_profile(args.profile), seed=args.seed, shared=tuple(args.share))
    # A line per graded submission on stderr (stdout has the summary table), a terminal or not:
    # a class graded into a CI log shows it as it goes.  On a terminal, a status line too.
    progress = None if args.quiet else GradeProgress(len(subs), sys.stderr, sys.stderr.isatty())

    def run_rest(
        spec: Spec, impls: list[Implementation], ids: list[str], on_result: OnResult
    ) -> None:
        collector = Collector()
        collector.on_result = lambda key: on_result(key, collector.result(key))
        if progress:
            collector.on_running = progress.running
            progress.phase("starting the checks")
        rest = argparse.Namespace(
            only=ids, profile=args.profile, seed=args.seed, workers=workers, share=args.share
        )
        try:
            run_listed(rest, spec, impls, collector)
        finally:
            if progress:
                progress.phase("starting the servers")  # grade() waits for the others' listen

    try:
        reports = grade(
            spec,
            subs,
            options,
            workers,
            args.detect_port,
            run_rest,
            progress.graded if progress else lambda line: None,
        )
    finally:
        if progress:
            progress.finish()  # the terminal's status line erased, also when grading failed
    write_reports(args, reports, f"grades for {args.submissions.resolve().name}", "submission")
    if one:
        args.out.mkdir(parents=True, exist_ok=True)
        results = gradescope_results(reports[0])
        (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        print(render_report(reports[0]))
        return EXIT_OK
    write_grades(args.out, spec, reports, subs)
    print(summary_table(reports))
    print(f"\n{len(reports)} submissions graded; grades in {args.out / 'grades.csv'}")
    return EXIT_OK


def run_listed(
    args: argparse.Namespace, spec: Spec, impls: list[Implementation], collector: Collector
) -> None:
    """Run the checks of implementations given as data (not registered): grade, selftest."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([i.to_json() for i in impls], f)
    try:
        profile = get_profile(args.profile)
        costs = [cost(spec.requirement(rid), profile) for i in impls for rid in i.only or spec.ids]
        argv = [*base_args(spec), "--echo-impl-json", f.name, *common_args(args, costs)]
        run_pytest(argv, collector)
    finally:
        os.unlink(f.name)


def cmd_selftest(args: argparse.Namespace) -> int:
    # What check's options would be: the runner and the reports read them.
    args = argparse.Namespace(
        **{"only": [], "require": [], "share": [], "timeout": None, **vars(args)}
    )
    spec = load_spec(DEFAULT_SPEC)
    specimens = load_catalog()
    unknown = set(args.server) - {s.name for s in specimens}
    if unknown:
        raise UsageError(f"no server {', '.join(sorted(unknown))} in the corpus")
    specimens = [s for s in specimens if not args.server or s.name in args.server]
    build = Path(tempfile.mkdtemp(prefix="echo-selftest-"))
    impls, unavailable = [], []
    for specimen in specimens:
        try:
            impl = implementation(specimen, build)
            impls.append(dataclasses.replace(impl, only=()) if args.cascade else impl)
        except Unavailable as exc:
            unavailable.append(str(exc))
    collector = Collector()
    started = time.monotonic()
    try:
        run_listed(args, spec, impls, collector)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    rows, caught, passed, cascade = [], 0, 0, []
    reports = {r.impl.name: r for r in build_reports(spec, impls, collector, args, 0.0)}
    for specimen in (s for s in specimens if s.name in reports):
        outcomes = {e.id: e.outcome for e in reports[specimen.name].entries if e.outcome != "skip"}
        not_passed = sorted(rid for rid, outcome in outcomes.items() if outcome != "pass")
        unjudged = [rid for rid in not_passed if outcomes[rid] == "not-judged"]
        if args.cascade and not specimen.correct:
            cascade.append((sum(o == "fail" for o in outcomes.values()), specimen.name))
        if specimen.correct:
            ok = len(outcomes) == len(spec.ids) and not not_passed
            passed += ok
            verdict = "passed" if ok else "FALSE FAIL"
        else:
            ok = all(outcomes.get(rid) == "fail" for rid in specimen.trips)
            caught += ok
            verdict = "caught" if ok else "SURVIVED"
        expected = ", ".join(specimen.trips) or "(none: correct)"
        got = ", ".join(rid for rid in not_passed if rid not in unjudged) or "-"
        got += f" (not judged: {', '.join(unjudged)})" if unjudged else ""
        rows.append((specimen.name, expected, got, verdict))
    width = [max(len(r[i]) for r in [("server", "expected", "failed", ""), *rows]) for i in (0, 1)]
    print(f"{'server':<{width[0]}}  {'expected':<{width[1]}}  verdict  failed")
    for name, expected, got, verdict in rows:
        print(f"{name:<{width[0]}}  {expected:<{width[1]}}  {verdict:<8} {got}")
    bugs = sum(1 for s in specimens if not s.correct and s.name in reports)
    correct = sum(1 for s in specimens if s.correct and s.name in reports)
    print(f"\nplanted bugs caught: {caught}/{bugs}")
    print(f"correct servers passed: {passed}/{correct}")
    if cascade:
        mean = sum(n for n, _ in cascade) / len(cascade)
        most, name = max(cascade)
        print(f"requirements failed per planted bug: mean {mean:.2f} (most: {most}, {name})")
    for reason in unavailable:
        print(f"not run: {reason}")
    print(f"({time.monotonic() - started:.1f} s)")
    return EXIT_OK if caught == bugs and passed == correct else EXIT_NONCONFORMANT


def replay_template(args: argparse.Namespace, spec: Spec, impl: Implementation) -> str:
    """The command that checks one requirement of this implementation again ({id} to fill)."""
    words = ["echo-conformance", "check", "--only", "{id}"]
    if spec.path.resolve() != DEFAULT_SPEC.resolve():
        words += ["--spec", str(spec.path)]
    for folder in args.share:
        words += ["--share", folder]
    for flag, value in (
        ("--seed", args.seed),
        ("--timeout", args.timeout),
        ("--profile", args.profile),
    ):
        if value is not None:
            words += [flag, str(value)]
    if impl.manifest is not None:
        words.append(str(impl.manifest.parent))
        server = ""
    else:
        if impl.target.fixed_port is not None:
            words += ["--fixed-port", str(impl.target.fixed_port)]
        server = " -- " + impl.target.display()
    return " ".join(w if w == "{id}" else shlex.quote(w) for w in words) + server


def build_reports(
    spec: Spec,
    impls: list[Implementation],
    collector: Collector,
    args: argparse.Namespace,
    elapsed: float,
) -> list[Report]:
    required = set(args.require)
    reports = []
    for impl in impls:
        port = impl.target.fixed_port
        report = Report(
            spec,
            impl,
            impl.target.display(port if port else None),
            [],
            duration_s=elapsed,
            replay=replay_template(args, spec, impl),
            shared=tuple(args.share),
        )
        for req in spec.requirements:
            if args.only and req.id not in args.only:
                continue
            result = collector.results.get((impl.name, req.id))
            entry = Entry(
                id=req.id,
                level=req.level,
                points=req.points,
                required=req.level == "MUST" or req.id in required,
                outcome="skip" if result is None else result["outcome"],
                summary="" if result is None else result["summary"],
                evidence="" if result is None else result["evidence"],
                expected="fail" if req.id in impl.expected_failures else "pass",
                expected_reason=impl.expected_failures.get(req.id, ""),
                duration_s=collector.durations.get((impl.name, req.id), 0.0),
                details={} if result is None else result["details"],
            )
            report.entries.append(entry)
        reports.append(report.settle())
    return reports


if __name__ == "__main__":
    sys.exit(main())
