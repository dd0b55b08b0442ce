"""CLI jobs, run and timed: `python -m conformance.cli ...` from the repository root, with stdin
from /dev/null, the profile variable removed (each job names its profile), in a session of its
own that is killed after the job timeout."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conformance.profiles import PROFILE_ENV

ROOT = Path(__file__).resolve().parent.parent

Table = tuple[list[str], list[str]]  # what a benchmark gives: its table's lines, its errors


@dataclass
class Timing:
    """Wall times and exit codes of the runs of one CLI job."""

    times: list[float] = field(default_factory=list)
    codes: list[int | None] = field(default_factory=list)  # None: killed after the timeout
    errors: list[str] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        """Every run ended with 0 (conformant) or 1 (not conformant)."""
        return bool(self.codes) and all(code in (0, 1) for code in self.codes)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def child_env() -> dict[str, str]:
    """Our environment without the profile variable: every job says its profile."""
    return {k: v for k, v in os.environ.items() if k != PROFILE_ENV}


def run_cli(argv: Sequence[str], timeout: float) -> tuple[float, int | None, str]:
    """Run `python -m conformance.cli ARGV` from the repository root: (seconds, exit code or
    None after a timeout, stderr tail)."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", *argv],
        cwd=ROOT,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its workers and servers go with it after a timeout
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    elapsed = time.monotonic() - start
    # What went against the declarations (check --all says UNEXPECTED), then the stderr tail.
    surprises = [
        line for line in out.decode("utf-8", "replace").splitlines() if "UNEXPECTED" in line
    ]
    tail = surprises + err.decode("utf-8", "replace").strip().splitlines()[-3:]
    return elapsed, code, " / ".join(tail)


def time_cli(
    argv: Sequence[str], runs: int, timeout: float, ok: tuple[int, ...] = (0, 1)
) -> Timing:
    """Run a CLI job `runs` times; an exit code not in `ok` is an error."""
    timing = Timing()
    for _ in range(runs):
        elapsed, code, tail = run_cli(argv, timeout)
        timing.times.append(elapsed)
        timing.codes.append(code)
        if code not in ok:
            timing.errors.append(f"exit {code if code is not None else 'timeout'}: {tail}")
    return timing


def show_time(timing: Timing) -> str:
    """A table cell: best (and median) time, and the exit code when not 0."""
    if not timing.ran:
        codes = ",".join("timeout" if c is None else str(c) for c in timing.codes)
        return f"**did not run** (exit {codes})"
    cell = f"{timing.best:.1f} s"
    if len(timing.times) > 1:
        cell += f" (median {timing.median:.1f} s)"
    if any(timing.codes):
        cell += f", exit {','.join(str(c) for c in sorted(set(timing.codes), key=str))}"
    return cell
