"""Grading throughput: `grade -n WORKERS` of a generated class (N copies of a correct server and
one buggy one, all on port 8080), in submissions per minute."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from benchmarks.jobs import Table, show_time, time_cli
from conformance.bundled import CORPUS_DIR


def make_class(root: Path, size: int) -> None:
    """`size` copies of a correct threaded server and one that forgets z, all on port 8080."""
    for i in range(size):
        (root / f"student{i:03}").mkdir(parents=True)
        shutil.copy(CORPUS_DIR / "ok_threads.py", root / f"student{i:03}" / "server.py")
    (root / "buggy").mkdir(parents=True)
    shutil.copy(CORPUS_DIR / "forgets_z.py", root / "buggy" / "server.py")


def grading_throughput(size: int, workers: int, profile: str, runs: int, timeout: float) -> Table:
    """`grade -n WORKERS` of a class of `size` + 1 submissions: (table, errors)."""
    errors = []
    scratch = Path(tempfile.mkdtemp(prefix="echo-bench-"))
    try:
        make_class(scratch / "class", size)
        argv = ["grade", str(scratch / "class"), "--out", str(scratch / "grades")]
        argv += ["--command", "python3 server.py 8080", "--fixed-port", "8080"]
        argv += ["--profile", profile, "-n", str(workers)]
        timing = time_cli(argv, runs, timeout)
        errors += [f"grade: {e}" for e in timing.errors]
        graded = count_grades(scratch / "grades" / "grades.csv")
        if timing.ran and graded != size + 1:
            errors.append(f"grade: {graded} rows in grades.csv, expected {size + 1}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rate = f"{(size + 1) / timing.best * 60:.1f}" if timing.ran else "-"
    lines = [
        "| class (all on port 8080) | profile | `-n` | wall time | submissions/min |",
        "|---|---|---|---|---|",
        f"| {size} correct + 1 buggy | `{profile}` | {workers} | {show_time(timing)} | {rate} |",
    ]
    return lines, errors


def count_grades(csv: Path) -> int:
    try:
        return max(0, len(csv.read_text().splitlines()) - 1)
    except OSError:
        return 0
