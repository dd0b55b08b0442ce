"""The command line's words: its subcommands and options, and its exit statuses."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from conformance.cli.memory import CACHE_ENV, cache_file
from conformance.compare import command as compare
from conformance.grade import (
    DEFAULT_COMMAND,
)
from conformance.profiles import PROFILES
from conformance.spec import DEFAULT_SPEC

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
        "-x",
        "--exitfirst",
        action="store_true",
        help="stop at the first failed requirement: the others are not run",
    )
    check.add_argument(
        "--pcap",
        type=Path,
        metavar="DIR",
        help="write each failed requirement's failing exchange as a packet capture "
        "(DIR/IMPL-ID.pcap, for Wireshark), synthesized from its transcript",
    )
    check.add_argument(
        "--watch",
        action="store_true",
        help="check again each time the server's files change (a registered implementation's "
        "folder, else the files the command names), failures first; Ctrl-C ends it",
    )
    check.add_argument(
        "--no-cache",
        action="store_true",
        help="check in the usual order, and remember nothing: by default a run checks first "
        f"what the server failed last time, remembered in {cache_file()} (${CACHE_ENV}: "
        "another folder)",
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
    grade.add_argument(
        "-n",
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="checks at once, in threads (default: enough that the longest check sets the pace)",
    )
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
    selftest.add_argument(
        "-n", "--workers", type=int, default=None, metavar="N", help="checks at once, in threads"
    )
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
