"""Time to a verdict: `check NAME --profile P` per registered implementation and profile."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.jobs import Table, show_time, time_cli


def time_to_verdict(
    impls: Sequence[str], profiles: Sequence[str], runs: int, timeout: float
) -> Table:
    """`check NAME --profile P` for each implementation and profile: (table, errors)."""
    lines = [
        "| implementation | " + " | ".join(f"`{p}`" for p in profiles) + " |",
        "|---|" + "---|" * len(profiles),
    ]
    errors = []
    for name in impls:
        cells = []
        for profile in profiles:
            timing = time_cli(["check", name, "--profile", profile], runs, timeout)
            cells.append(show_time(timing))
            errors += [f"check {name} --profile {profile}: {e}" for e in timing.errors]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return lines, errors
