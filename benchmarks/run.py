"""Benchmarks of echo-conformance on this machine, printed as Markdown tables for the README.

Run it with the interpreter the suite is installed in, from anywhere (the CLI runs from the
repository root):

    python3 benchmarks/run.py                        # everything, one run of each job
    python3 benchmarks/run.py --runs 3               # best and median of 3 runs
    python3 benchmarks/run.py --quick                # smoke test: well under a minute
    python3 benchmarks/run.py --parts exchange       # one part only (comma-separated list)
    python3 benchmarks/run.py --impls select,threaded --profiles quick,default
    python3 benchmarks/run.py --class-size 100       # grade a class of 100 + 1 (0: skip)

The parts, in order:

  verdicts  time to a verdict, `check NAME --profile P`, per registered implementation and
            profile (quick, default, thorough);
  parallel  `check --all` wall time with -n 0 (one at a time), 2 and 4, and the
            speed-up over the first;
  exchange  round trips per second and MiB/s through the suite's driver (Session, Peer, pump:
            what the checks use) against a bare blocking-socket loop doing the same exchanges
            with the same server (impls/select/server.py on a free 127.0.0.1 port);
  grade     `grade -n 4` of a generated class (N correct servers and one buggy one, all on port
            8080): submissions per minute.

Every table comes with the machine line (CPUs, Python, date, isolation).  Exit status: 0 when
every job ran (a `check` that exits 1, not conformant, ran), 1 when any did not (exit 2, a
signal, a timeout, a harness error).

--quick: the quick profile only, `select` only, `check select --only listen --only upper`
instead of `check --all`, with -n 0 and 2, a class of 3 + 1, smaller exchange workloads.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This checkout's conformance, whatever is installed; benchmarks/ itself off the path (where
# `python3 benchmarks/run.py` puts it), so that its modules shadow no module of the same name.
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if not p or Path(p).resolve() != HERE]

from benchmarks.exchange import exchange_rate  # noqa: E402
from benchmarks.grading import grading_throughput  # noqa: E402
from benchmarks.jobs import Table  # noqa: E402
from benchmarks.parallel import parallel_speedup  # noqa: E402
from benchmarks.verdicts import time_to_verdict  # noqa: E402
from conformance.driver import procfs  # noqa: E402
from conformance.driver.sandbox import isolation  # noqa: E402
from conformance.impls import registry  # noqa: E402
from conformance.profiles import PROFILES  # noqa: E402

PARTS = ("verdicts", "parallel", "exchange", "grade")


def machine_line(runs: int) -> str:
    """What the figures were measured on."""
    cpu = procfs.machine_field("/proc/cpuinfo", "model name")
    isolated, why = isolation()
    sandbox = "servers isolated in namespaces" if isolated else f"servers not isolated ({why})"
    return (
        f"_{os.cpu_count()} CPUs ({cpu or platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, {datetime.date.today().isoformat()}, {sandbox}; "
        f"{runs} run{'s' if runs > 1 else ''} each{', best (median)' if runs > 1 else ''}_"
    )


def names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=1, help="runs per job: best and median")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--parts", type=names, default=list(PARTS), help=",".join(PARTS))
    parser.add_argument("--profiles", type=names, default=None, help="default: all three")
    parser.add_argument("--impls", type=names, default=None, help="default: every registered")
    parser.add_argument(
        "--workers", type=names, default=None, help="-n values for `parallel` (default: 0,2,4)"
    )
    parser.add_argument("--class-size", type=int, default=None, help="default 20; 0 skips")
    parser.add_argument("--grade-workers", type=int, default=4, help="-n for grade")
    parser.add_argument("--seconds", type=float, default=3.0, help="bound per exchange loop")
    parser.add_argument("--job-timeout", type=float, default=1800.0, help="per CLI run")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    if args.profiles is None:
        args.profiles = ["quick"] if args.quick else list(PROFILES)
    if set(args.profiles) - set(PROFILES):
        parser.error(f"--profiles: choose among {', '.join(PROFILES)}")
    if args.impls is None:
        args.impls = ["select"] if args.quick else list(registry())
    default_workers = ["0", "2"] if args.quick else ["0", "2", "4"]
    args.workers = [int(n) for n in (args.workers or default_workers)]
    if args.class_size is None:
        args.class_size = 3 if args.quick else 20
    if args.quick:
        args.seconds = min(args.seconds, 0.5)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    profile = "quick" if args.quick else "default"
    machine = machine_line(args.runs)
    errors: list[str] = []

    def table(title: str, part: Table) -> None:
        lines, part_errors = part
        print(f"### {title}\n\n{machine}\n")
        print("\n".join(lines))
        print(flush=True)
        errors.extend(part_errors)

    if "verdicts" in args.parts:
        table(
            "Time to a verdict: `echo-conformance check NAME --profile P`",
            time_to_verdict(args.impls, args.profiles, args.runs, args.job_timeout),
        )
    if "parallel" in args.parts:
        # --quick: two fast requirements of one server, just to exercise the code path.
        target = ["select", "--only", "listen", "--only", "upper"] if args.quick else ["--all"]
        table(
            f"Parallel workers: `echo-conformance check {' '.join(target)} -n N`",
            parallel_speedup(target, args.workers, profile, args.runs, args.job_timeout),
        )
    if "exchange" in args.parts:
        table(
            "Exchange rate: the harness against a bare socket loop (impls/select, loopback)",
            exchange_rate(args.runs, args.quick, args.seconds),
        )
    if "grade" in args.parts and args.class_size > 0:
        table(
            f"Grading throughput: `echo-conformance grade -n {args.grade_workers}`",
            grading_throughput(
                args.class_size, args.grade_workers, profile, args.runs, args.job_timeout
            ),
        )
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
