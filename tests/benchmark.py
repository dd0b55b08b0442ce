"""Benchmark: wall time of the CLI's main jobs with the default profile.

    python3 tests/benchmark.py [--runs N]

Prints one line per job (best and median of N runs) in a form to paste into the README.
Goals on a 2-core machine: `check select` <= 10 s, `check --all` <= 60 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

JOBS = {
    "echo-conformance check select": ["check", "select"],
    "echo-conformance check --all": ["check", "--all"],
}
GOALS = {"echo-conformance check select": 10.0, "echo-conformance check --all": 60.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "ECHO_CONFORMANCE_PROFILE": "default"}
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {args.runs} runs each")
    print("| what | goal | best | median | exit |")
    print("|---|---|---|---|---|")
    for name, argv in JOBS.items():
        times, codes = [], set()
        for _ in range(args.runs):
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
