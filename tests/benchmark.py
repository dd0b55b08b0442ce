"""Benchmark: wall time of the CLI's main jobs with the default profile.

    python3 tests/benchmark.py [--runs N] [--class-size N] [-n WORKERS]

Prints one line per job (best and median of N runs) in a form to paste into the README.
Goals on a 2-core machine: `check select` <= 10 s, `check --all` <= 60 s, and `grade` of a class
of 100 copies of a correct submission and a buggy one (all on port 8080) <= 10 min.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVERS = Path(__file__).resolve().parent / "servers"

JOBS = {
    "echo-conformance check select": ["check", "select"],
    "echo-conformance check --all": ["check", "--all"],
}
GOALS = {
    "echo-conformance check select": 10.0,
    "echo-conformance check --all": 60.0,
    "echo-conformance grade": 600.0,
}


def make_class(root: Path, size: int) -> None:
    """`size` copies of a correct threaded server and one that forgets z, all on port 8080."""
    for i in range(size):
        (root / f"student{i:03}").mkdir(parents=True)
        shutil.copy(SERVERS / "ok_threads.py", root / f"student{i:03}" / "server.py")
    (root / "buggy").mkdir()
    shutil.copy(SERVERS / "forgets_z.py", root / "buggy" / "server.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--class-size", type=int, default=0, help="also time grade (1 run)")
    parser.add_argument("-n", "--workers", type=int, default=4, help="for grade")
    args = parser.parse_args()
    env = {**os.environ, "ECHO_CONFORMANCE_PROFILE": "default"}
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {args.runs} runs each")
    print("| what | goal | best | median | exit |")
    print("|---|---|---|---|---|")
    jobs = {name: (argv, args.runs) for name, argv in JOBS.items()}
    scratch = Path(tempfile.mkdtemp(prefix="echo-bench-"))
    if args.class_size:
        make_class(scratch / "class", args.class_size)
        grade = ["grade", str(scratch / "class"), "--out", str(scratch / "grades")]
        grade += ["--command", "python3 server.py 8080", "--fixed-port", "8080"]
        grade += ["-n", str(args.workers)]
        name = f"echo-conformance grade ({args.class_size}+1 submissions, -n {args.workers})"
        GOALS[name] = GOALS["echo-conformance grade"]
        jobs[name] = (grade, 1)
    for name, (argv, runs) in jobs.items():
        times, codes = [], set()
        for _ in range(runs):
            start = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "conformance.cli", *argv],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
            )
            times.append(time.monotonic() - start)
            codes.add(proc.returncode)
        print(
            f"| `{name}` | <= {GOALS[name]:g} s | {min(times):.1f} s | "
            f"{statistics.median(times):.1f} s | {','.join(map(str, sorted(codes)))} |"
        )
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
