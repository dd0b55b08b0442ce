"""Check one requirement of one implementation: a fresh server, the check, teardown.

This is the one entry point the pytest plugin, the CLI and the suite's own tests share.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Literal

from conformance.impls import Implementation
from conformance.outcome import NonConformance, NotJudged, RunnerError
from conformance.profiles import Profile, get_profile
from conformance.spec import Requirement, Spec

Outcome = Literal["pass", "fail", "not-judged", "error", "skip"]


@dataclass(frozen=True)
class Options:
    profile: Profile = dataclasses.field(default_factory=get_profile)
    seed: int | None = None
    reply_timeout: float | None = None  # overrides the spec's timeouts.reply
    shared: tuple[str, ...] = ()  # folders an isolated server also sees, read-only (--share)


def with_options(spec: Spec, options: Options) -> Spec:
    if options.reply_timeout is None:
        return spec
    timeouts = dataclasses.replace(spec.timeouts, reply=options.reply_timeout)
    return dataclasses.replace(spec, timeouts=timeouts)


def check_requirement(
    spec: Spec, requirement: Requirement, impl: Implementation, options: Options
) -> dict[str, str]:
    """Pass with the check's condition and how it occurred (a pass's details), or raise
    NotJudged, NonConformance (fail) or anything else (error)."""
    # Imported here: the processes that only choose and report checks (the command line, a
    # parallel run's controller) need not load Hypothesis and the driver.
    from conformance.checks import CHECKS, Context
    from conformance.launcher import Server

    spec = with_options(spec, options)
    with Server(impl.target, spec, shared=options.shared) as server:
        try:
            server.start()
        except NonConformance as exc:
            listen = spec.checked_by("listen")
            if listen in (None, requirement.id):
                raise
            why = "the server never listened"
            raise NotJudged((listen,), why, exc.summary, exc.evidence, exc.details) from None
        ctx = Context(spec, requirement, server, options.profile, options.seed)
        check = CHECKS[requirement.check]
        check.run(ctx)
        if ctx.shown is None:
            raise RunnerError(
                f"it could not bring about its condition ({check.condition}), so it judged "
                "nothing; run it on a machine where it can"
            )
        return {"condition": check.condition, "shown": ctx.shown}


@dataclass(frozen=True)
class Result:
    requirement: str
    level: str
    outcome: Outcome
    summary: str
    evidence: str
    duration_s: float
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


def evaluate(
    spec: Spec, requirement: Requirement, impl: Implementation, options: Options
) -> Result:
    """check_requirement, with its ending classified: pass, fail (the server), error (us)."""
    start = time.monotonic()
    outcome: Outcome = "pass"
    summary = evidence = ""
    details: dict[str, Any] = {}
    try:
        details = dict(check_requirement(spec, requirement, impl, options))
    except NotJudged as exc:
        outcome, summary, evidence, details = "not-judged", exc.summary, exc.evidence, exc.details
    except NonConformance as exc:
        outcome, summary, evidence, details = "fail", exc.summary, exc.evidence, exc.details
    except RunnerError as exc:
        outcome, summary = "error", f"the check could not run: {exc}"
    took = time.monotonic() - start
    return Result(requirement.id, requirement.level, outcome, summary, evidence, took, details)
