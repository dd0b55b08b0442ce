"""echo-conformance check: one implementation, a server command, or every registered one."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import threading
import time
from pathlib import Path

from conformance.bundled import SPEC_DIR
from conformance.cli.memory import LastFailed, cache_file, server_key
from conformance.cli.parser import EXIT_NONCONFORMANT, EXIT_OK, EXIT_USAGE, REPORT_FLAGS
from conformance.cli.progress import CheckProgress
from conformance.cli.reports import write_reports
from conformance.cli.run import Collector, pytest_args, run_in_process, run_pytest, say_isolation
from conformance.cli.watch import watch, watched_paths
from conformance.impls import Implementation, adhoc, find_impl, registry
from conformance.outcome import UsageError
from conformance.profiles import PROFILE_ENV
from conformance.reports.replay import replay_template
from conformance.reports.report import Entry, Report, render_matrix, render_report, write_json
from conformance.settings import find_settings
from conformance.spec import DEFAULT_SPEC, Spec, load_spec

NOT_RUN = "not run: -x ended the run at the first failure"


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
    if args.verbose and (args.watch or args.pcap):
        raise UsageError("--watch and --pcap run the checks in threads: leave out -v")
    impls = select_impls(args, command, spec)
    say_isolation()
    memory = LastFailed(None if args.no_cache else cache_file())
    if args.watch:
        paths = watched_paths(impls, command)
        return watch(paths, lambda stop: check_once(args, command, spec, impls, memory, stop))
    status = check_once(args, command, spec, impls, memory)
    assert status is not None
    return status


def check_once(
    args: argparse.Namespace,
    command: list[str],
    spec: Spec,
    impls: list[Implementation],
    memory: LastFailed,
    stop: threading.Event | None = None,
) -> int | None:
    """One run: its progress, its reports, its exit status; None if `stop` cut it short."""
    keys = {impl.name: server_key(spec, impl) for impl in impls}
    first = {(i.name, rid) for i in impls for rid in memory.of(keys[i.name])}
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
            run_in_process(args, spec, impls, collector, first, stop)
        else:
            run_pytest(pytest_args(args, spec, impls, command), collector)
    finally:
        if progress:
            progress.stop()  # the terminal's status line, also when the runner failed
    if stop is not None and stop.is_set():
        return None
    elapsed = time.monotonic() - started
    reports = build_reports(spec, impls, collector, args, elapsed)
    memory.remember(
        (keys[r.impl.name], remembered(r, memory.of(keys[r.impl.name]))) for r in reports
    )
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


def remembered(report: Report, before: set[str]) -> list[str]:
    """The requirements to check first next time: those failed now, and those failed before
    that this run did not check (--only, -x).  A failure an implementation declares is not
    news: run first, it would only keep a long check from starting first (check --all)."""
    checked = {e.id for e in report.entries if e.outcome != "skip"}
    failed = {e.id for e in report.entries if e.failed and e.expected != "fail"}
    failed |= before - checked
    return [rid for rid in report.spec.ids if rid in failed]


def replay_options(args: argparse.Namespace) -> list[str]:
    """The options of this run that a replay needs to see the same thing again."""
    words = []
    for flag, value in (("--seed", args.seed), ("--timeout", args.timeout)):
        if value is not None:
            words += [flag, str(value)]
    return words + (["--profile", args.profile] if args.profile is not None else [])


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
            replay=replay_template(
                spec,
                impl.target,
                folder=impl.manifest.parent if impl.manifest is not None else None,
                shared=args.share,
                options=replay_options(args),
            ),
            shared=tuple(args.share),
        )
        for req in spec.requirements:
            if args.only and req.id not in args.only:
                continue
            result = collector.results.get((impl.name, req.id))
            entry = Entry.of(
                req,
                "skip" if result is None else result["outcome"],
                (NOT_RUN if args.exitfirst else "") if result is None else result["summary"],
                "" if result is None else result["evidence"],
                None if result is None else result["details"],
                collector.durations.get((impl.name, req.id), 0.0),
                required,
                impl.expected_failures,
            )
            report.entries.append(entry)
        reports.append(report.settle())
    return reports
