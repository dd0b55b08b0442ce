"""The echo-conformance command line.

    echo-conformance check [OPTIONS] -- COMMAND [ARG...]   an arbitrary server command
    echo-conformance check [OPTIONS] NAME_OR_PATH          a registered implementation
    echo-conformance check [OPTIONS] --all                 every registered implementation
    echo-conformance list

Exit status: 0 conformant (--all: every outcome as declared), 1 not conformant (--all: an
outcome contrary to its declaration), 2 usage error or the runner failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.impls import Implementation, adhoc, find_impl, registry
from conformance.outcome import UsageError
from conformance.plugin import RESULT_KEY
from conformance.properties import PROFILES
from conformance.report import Entry, Report, render_matrix, render_report, write_json
from conformance.spec import DEFAULT_SPEC, SPEC_DIR, Spec, SpecError, load_spec

EXIT_OK, EXIT_NONCONFORMANT, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="echo-conformance",
        description="Check TCP uppercase-echo servers against a declarative protocol spec.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser(
        "check",
        help="check a server",
        usage="echo-conformance check [OPTIONS] (NAME_OR_PATH | --all | -- COMMAND [ARG...])",
        description="Check a server command (after --), a registered implementation, or all.",
    )
    check.add_argument("target", nargs="?", help="registered name or folder with impl.toml")
    check.add_argument("--all", action="store_true", help="every registered implementation")
    check.add_argument("--spec", default=str(DEFAULT_SPEC), help="protocol spec (TOML)")
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
    check.add_argument("--json", type=Path, metavar="FILE", help="write a JSON report")
    check.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    check.add_argument(
        "-n",
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="parallel workers (default: the number of CPUs, 1 for one server)",
    )
    check.add_argument("-v", "--verbose", action="store_true", help="show pytest's output")
    lst = sub.add_parser("list", help="list registered implementations and specs")
    lst.add_argument("--spec", default=None, help="only implementations of this spec")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            return cmd_list(args)
        return cmd_check(args, command)
    except (UsageError, SpecError) as exc:
        print(f"echo-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("echo-conformance: interrupted", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped to a program that stopped reading (head, less)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_USAGE


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
    """A pytest plugin object gathering each item's result (works across xdist workers)."""

    def __init__(self) -> None:
        self.results: dict[tuple[str, str], dict[str, Any]] = {}
        self.durations: dict[tuple[str, str], float] = {}
        self.errors: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            if key == RESULT_KEY and isinstance(value, str):
                result = json.loads(value)
                ident = (result["impl"], result["requirement"])
                self.results[ident] = result
                self.durations[ident] = self.durations.get(ident, 0.0) + report.duration
        if report.when != "call" and report.failed:
            self.errors.append(f"{report.nodeid} ({report.when}): {report.longreprtext[-500:]}")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(f"collecting {report.nodeid}: {report.longreprtext[-500:]}")


def pytest_args(
    args: argparse.Namespace, spec: Spec, impls: list[Implementation], command: list[str]
) -> list[str]:
    out = [
        str(spec.path),
        "-p",
        "conformance.plugin",
        "-p",
        "no:cacheprovider",
        "-c",
        os.devnull,  # ignore the pytest configuration of whatever folder we run in
        "--rootdir",
        str(spec.path.parent),
        "--confcutdir",
        str(spec.path.parent),
        "--spec",
        str(spec.path),
        "-o",
        "xfail_strict=true",
    ]
    if command:
        out += ["--impl-cmd", shlex.join(command)]
        if args.fixed_port is not None:
            out += ["--fixed-port", str(args.fixed_port)]
    else:
        for impl in impls:
            out += ["--impl", str(impl.manifest.parent if impl.manifest else impl.name)]
    for rid in args.require:
        out += ["--require", rid]
    for rid in args.only:
        out += ["--only", rid]
    if args.profile:
        out += ["--profile", args.profile]
    if args.seed is not None:
        out += ["--seed", str(args.seed)]
    if args.timeout is not None:
        out += ["--reply-timeout", str(args.timeout)]
    if args.junit:
        out += ["--junitxml", str(args.junit)]
    tests = len(impls) * len(args.only or spec.ids)
    workers = args.workers if args.workers is not None else min(os.cpu_count() or 1, tests)
    if workers > 1:
        out += ["-n", str(workers)]
    out += ["-q", "--tb=no", "-rN"] if args.verbose else ["-p", "no:terminal"]
    return out


def cmd_check(args: argparse.Namespace, command: list[str]) -> int:
    spec = load_spec(args.spec)
    for rid in args.require + args.only:
        if rid not in spec.ids:
            raise UsageError(
                f"no requirement {rid!r} in {spec.path.name} (known: {', '.join(spec.ids)})"
            )
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be > 0")
    if args.workers is not None and args.workers < 1:
        raise UsageError("-n must be >= 1")
    impls = select_impls(args, command, spec)
    collector = Collector()
    started = time.monotonic()
    status = pytest.main(pytest_args(args, spec, impls, command), plugins=[collector])
    elapsed = time.monotonic() - started
    if status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or collector.errors:
        for err in collector.errors:
            print(f"echo-conformance: runner error: {err}", file=sys.stderr)
        print(
            f"echo-conformance: the runner failed (pytest exit status {int(status)})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    reports = build_reports(spec, impls, collector, args, elapsed)
    if args.json:
        write_json(args.json, reports, many=args.all)
    if args.all:
        print(render_matrix(reports))
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
    print(render_report(report))
    print(f"({elapsed:.1f} s)")
    return {"conformant": EXIT_OK, "nonconformant": EXIT_NONCONFORMANT}.get(
        report.verdict, EXIT_USAGE
    )


def replay_template(args: argparse.Namespace, spec: Spec, impl: Implementation) -> str:
    """The command that checks one requirement of this implementation again ({id} to fill)."""
    words = ["echo-conformance", "check", "--only", "{id}"]
    if spec.path.resolve() != DEFAULT_SPEC.resolve():
        words += ["--spec", str(spec.path)]
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
            )
            report.entries.append(entry)
        reports.append(report)
    return reports


if __name__ == "__main__":
    sys.exit(main())
