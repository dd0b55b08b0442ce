"""The echo-conformance command line.

    echo-conformance check [OPTIONS] -- COMMAND [ARG...]   an arbitrary server command
    echo-conformance check [OPTIONS] NAME_OR_PATH          a registered implementation
    echo-conformance check [OPTIONS] --all                 every registered implementation
    echo-conformance grade [OPTIONS] SUBMISSIONS_DIR       grade a class (see grade.py)
    echo-conformance merge DIR...                          combine the grades of shards
    echo-conformance compare [NAME...]                     measure the I/O models side by side
    echo-conformance selftest                              the suite on its own corpus
    echo-conformance list

Here: the command line's entry (main) and the subcommands' dispatch.  parser.py has its words
and exit statuses, run.py how checks run (threads, or pytest), reports.py the report files, and
check.py, grading.py and selftest.py one subcommand each (compare: conformance/compare/command.py).
Rule: nothing here judges a server; a verdict comes from the runner, and reports from report.py.

Exit status: 0 conformant (--all: every outcome as declared; grade: grading ran), 1 not
conformant (--all: an outcome contrary to its declaration), 2 usage error or the runner failed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from conformance.bundled import SPEC_DIR
from conformance.cli.check import cmd_check
from conformance.cli.grading import cmd_grade
from conformance.cli.parser import EXIT_OK, EXIT_USAGE, build_parser
from conformance.cli.reports import check_outputs
from conformance.cli.run import RunnerFailed
from conformance.cli.selftest import cmd_selftest
from conformance.compare import command as compare
from conformance.driver.platforms import require_linux
from conformance.driver.view import shared_folders
from conformance.grade import merge
from conformance.impls import registry
from conformance.outcome import UsageError
from conformance.profiles import get_profile
from conformance.reports.about import version_text
from conformance.spec import DEFAULT_SPEC, SpecError, load_spec

__all__ = ["main"]


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
