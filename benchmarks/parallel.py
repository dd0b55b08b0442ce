"""Parallel speed-up: `check TARGET -n N` wall time per N, and the speed-up over the first N."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.jobs import Table, show_time, time_cli


def parallel_speedup(
    target: Sequence[str], workers: Sequence[int], profile: str, runs: int, timeout: float
) -> Table:
    """`check TARGET` wall time per -n, and the speed-up over the first: (table, errors)."""
    what = " ".join(target)
    lines = [
        f"| `check {what} --profile {profile}` | wall time | speed-up |",
        "|---|---|---|",
    ]
    errors: list[str] = []
    base: float | None = None
    for n in workers:
        label = f"`-n {n}`"
        # Every outcome as declared, or the run is an error (exit 1: one went against them).
        argv = ["check", *target, "--profile", profile, "-n", str(n)]
        timing = time_cli(argv, runs, timeout, ok=(0,))
        errors += [f"check {what} -n {n}: {e}" for e in timing.errors]
        if not timing.ran:
            lines.append(f"| {label} | {show_time(timing)} | - |")
            continue
        base = timing.best if base is None else base
        lines.append(f"| {label} | {show_time(timing)} | {base / timing.best:.2f}x |")
    lines += ["", "(speed-up: the first row's best time over this row's best time)"]
    return lines, errors
