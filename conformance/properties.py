"""Hypothesis glue: reproducible settings for a profile, and a time budget for shrinking.

Network examples are slow when they fail by a timeout, so shrinking gets a wall-clock budget:
once it is spent, every candidate is dropped at once (rejected, or run as a no-op), and
Hypothesis ends with the smallest failure found so far, which it replays for real.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, reject, seed, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import Flaky

from conformance.outcome import NonConformance, NotJudged
from conformance.profiles import Profile
from conformance.reports.evidence import clip


def hypothesis_settings(profile: Profile, derandomize: bool = True) -> settings:
    return settings(
        max_examples=profile.max_examples,
        stateful_step_count=profile.step_count,
        deadline=None,  # network steps take what they take; hangs have their own timeouts
        derandomize=derandomize,
        database=None,  # a verdict must not depend on what an earlier run saved
        report_multiple_bugs=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


class ShrinkBudget:
    """Past `seconds` after the first failure, only Hypothesis's final replay is admitted."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.first_failure: float | None = None
        self.first: NonConformance | None = None  # the first failure seen

    stopped: NotJudged | None = None  # the verdict, once a case was not judged

    def stop(self, verdict: NotJudged) -> bool:
        """A case was not judged: unless a failure came first (the verdict, being shrunk),
        every later case passes at once so that Hypothesis ends, and run_hypothesis raises
        this verdict.  (Raised, it would be shrunk: a smaller case says no more, and replays on
        a server that has ended would not behave the same.)  Has it stopped?"""
        if self.first_failure is None and self.stopped is None:
            self.stopped = verdict
        return self.stopped is not None

    @contextmanager
    def judging(self) -> Iterator[None]:
        """Around a case (or a step of one): a failure is noted for the budget and raised; a
        not-judged stops the run (see stop), and is raised only if a failure came first."""
        try:
            yield
        except NotJudged as exc:
            if not self.stop(exc):
                self.record_failure(exc)
                raise
        except NonConformance as exc:
            self.record_failure(exc)
            raise

    def record_failure(self, exc: NonConformance) -> None:
        if self.first_failure is None:
            self.first_failure = time.monotonic()
            self.first = exc

    def admits(self) -> bool:
        if self.first_failure is None or time.monotonic() - self.first_failure <= self.seconds:
            return True
        return bool(current_build_context().is_final)


def falsify(
    body: Callable[[Any], None],
    strategy: st.SearchStrategy[Any],
    profile: Profile,
    examples: Sequence[Any] = (),
    seed_value: int | None = None,
) -> None:
    """Run `body(case)` for explicit `examples`, then generated cases; raise the smallest
    NonConformance found, with the falsifying case attached to its evidence."""
    budget = ShrinkBudget(profile.shrink_seconds)

    def prop(case: Any) -> None:
        if budget.stopped:
            return
        if not budget.admits():
            reject()
        with budget.judging():
            body(case)

    test = given(strategy)(prop)
    for case in reversed(examples):
        test = example(case)(test)
    test = hypothesis_settings(profile, derandomize=seed_value is None)(test)
    if seed_value is not None:
        test = seed(seed_value)(test)
    run_hypothesis(test, budget)


def run_hypothesis(test: Callable[[], None], budget: ShrinkBudget) -> None:
    """Call a Hypothesis test; a failure that does not replay is still a failure of the server.

    (A server that fails at different steps of the same case makes Hypothesis report a flaky
    test, or even a flaky strategy for stateful runs: the first failure seen is the verdict.)"""
    try:
        test()
        if budget.stopped:
            raise budget.stopped
    except NonConformance as exc:
        notes = [clip(n) for n in getattr(exc, "__notes__", ()) if n.strip()]
        if notes:
            exc.evidence = "\n".join(["minimal failing case:", *notes, exc.evidence])
            exc.details["case"] = "\n".join(notes)
        raise
    except Flaky as exc:
        inner = _first_nonconformance(exc) or budget.first
        if inner is None:
            raise
        inner.summary += " (seen once; it did not happen again when replayed)"
        raise inner from None


def _first_nonconformance(exc: BaseException) -> NonConformance | None:
    if isinstance(exc, NonConformance):
        return exc
    for sub in getattr(exc, "exceptions", ()):
        found = _first_nonconformance(sub)
        if found is not None:
            return found
    return None
