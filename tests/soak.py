"""Soak: the reference matrix again and again, with varied seeds, on a loaded machine.

    python3 tests/soak.py [--runs 10] [--burners 1]

Runs `echo-conformance check --all --seed N` for N = 1..runs while `burners` processes spin on
the CPU, and prints one line per run.  Exit 0 only when every run has every outcome as declared
(flakiness is a bug).  Bounded: each run has the CLI's own timeouts, the burners end with it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import time


def burn() -> None:
    while True:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--burners", type=int, default=1)
    args = parser.parse_args()
    burners = [multiprocessing.Process(target=burn, daemon=True) for _ in range(args.burners)]
    for b in burners:
        b.start()
    bad = 0
    try:
        for seed in range(1, args.runs + 1):
            start = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "conformance.cli", "check", "--all", "--seed", str(seed)],
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=1800,
            )
            took = time.monotonic() - start
            tally = "".join(s for s in done.stdout.splitlines() if s.startswith("as-declared"))
            print(f"seed {seed}: exit {done.returncode}, {took:.0f} s, {tally}", flush=True)
            if done.returncode != 0:
                bad += 1
                print(done.stdout[-4000:], done.stderr[-2000:], sep="\n")
    finally:
        for b in burners:
            b.terminate()
            b.join()
    print(f"soak: {args.runs - bad}/{args.runs} runs as declared, {args.burners} CPU burner(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
