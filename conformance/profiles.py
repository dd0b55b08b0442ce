"""How hard to look: the Hypothesis profiles, by name.

Apart from properties.py so that choosing a profile (the command line, a parallel run's controller
process, which never checks) does not import Hypothesis.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from conformance.outcome import UsageError

PROFILE_ENV = "ECHO_CONFORMANCE_PROFILE"


@dataclass(frozen=True)
class Profile:
    name: str
    max_examples: int  # per property
    step_count: int  # steps per stateful example
    shrink_seconds: float  # wall-clock budget for shrinking one failure
    # How long, as a multiple of the spec's own (a requirement's `idle` parameter), a check
    # leaves a connection idle.  A multiple, not seconds, so that the spec keeps saying what it
    # promises and every profile follows it: quick looks shorter, thorough beyond the promise.
    idle_scale: float


PROFILES = {
    p.name: p
    for p in (
        # quick: echo.toml's 5 s idle becomes 1 s (still beats a one-second idle timeout)
        Profile("quick", max_examples=8, step_count=12, shrink_seconds=2.0, idle_scale=0.2),
        Profile("default", max_examples=25, step_count=25, shrink_seconds=3.0, idle_scale=1.0),
        Profile("thorough", max_examples=200, step_count=60, shrink_seconds=60.0, idle_scale=2.0),
    )
}


def get_profile(given: str | None = None) -> Profile:
    name = given or os.environ.get(PROFILE_ENV) or "default"
    try:
        return PROFILES[name]
    except KeyError:
        source = "--profile" if name == given else f"${PROFILE_ENV}"
        raise UsageError(
            f"unknown profile {name!r} from {source} (known: {', '.join(PROFILES)})"
        ) from None
