"""Check one requirement of one implementation: a fresh server (or one handed on by the check
before it, see Handoff), the check, teardown; and run many in threads (schedule, run_in_threads).

This is the one entry point the pytest plugin, the CLI and the suite's own tests share.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
import time
import traceback
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from conformance.catalog import checks, function
from conformance.impls import Implementation
from conformance.outcome import NonConformance, NotJudged, RunnerError
from conformance.profiles import Profile, get_profile
from conformance.spec import Requirement, Spec

if TYPE_CHECKING:
    from conformance.driver.launcher import Server

Outcome = Literal["pass", "fail", "not-judged", "error", "skip"]


@dataclass(frozen=True)
class Options:
    profile: Profile = dataclasses.field(default_factory=get_profile)
    seed: int | None = None
    reply_timeout: float | None = None  # overrides the spec's timeouts.reply
    shared: tuple[str, ...] = ()  # folders an isolated server also sees, read-only (--share)
    capture: bool = False  # the server's loopback captured while checks run (--pcap)


def with_options(spec: Spec, options: Options) -> Spec:
    if options.reply_timeout is None:
        return spec
    timeouts = dataclasses.replace(spec.timeouts, reply=options.reply_timeout)
    return dataclasses.replace(spec, timeouts=timeouts)


class Handoff:
    """The server that the checks of a chain (Check.shares_server, run one after another in one
    thread) pass on: a server that every check so far passed on, still in its first run.  Its
    last holder closes it."""

    def __init__(self) -> None:
        self.server: Server | None = None

    def take(self) -> Server | None:
        server, self.server = self.server, None
        return server

    def close(self) -> None:
        if (server := self.take()) is not None:
            server.close()


def check_requirement(
    spec: Spec,
    requirement: Requirement,
    impl: Implementation,
    options: Options,
    handoff: Handoff | None = None,
) -> dict[str, str]:
    """Pass with the check's condition and how it occurred (a pass's details), or raise
    NotJudged, NonConformance (fail) or anything else (error).  With a `handoff`, on its
    server if it has one, and a pass leaves the server to it."""
    # Imported here: the processes that only choose and report checks (the command line, a
    # parallel run's controller) need not load Hypothesis and the driver.
    from conformance.checks import Context
    from conformance.driver.launcher import Server

    spec = with_options(spec, options)
    server, kept = handoff.take() if handoff else None, False
    try:
        if server is None:
            server = Server(impl.target, spec, shared=options.shared)
            _start(server, spec, requirement)
        ctx = Context(spec, requirement, server, options.profile, options.seed, options.capture)
        check = checks()[requirement.check]
        with capturing(server, options.capture):
            function(requirement.check)(ctx)
        if ctx.shown is None:
            raise RunnerError(
                f"it could not bring about its condition ({check.condition}), so it judged "
                "nothing; run it on a machine where it can"
            )
        if handoff and server.starts == 1 and server.alive():
            handoff.server, kept = server, True
        return {"condition": check.condition, "shown": ctx.shown}
    finally:
        if server is not None and not kept:
            server.close()


def _start(server: Server, spec: Spec, requirement: Requirement) -> None:
    """A server that never listens fails `listen`, and leaves every other check not judged."""
    try:
        server.start()
    except NonConformance as exc:
        listen = spec.checked_by("listen")
        if listen in (None, requirement.id):
            raise
        why = "the server never listened"
        raise NotJudged((listen,), why, exc.summary, exc.evidence, exc.details) from None


@contextlib.contextmanager
def capturing(server: Server, wanted: bool) -> Iterator[None]:
    """--pcap: the server's loopback captured while the check runs; a failure it saw takes the
    frames of its exchange along (NonConformance.captured)."""
    if not wanted:
        yield
        return
    from conformance.driver.capture import LoopbackCapture
    from conformance.driver.net import client_ports

    capture = LoopbackCapture(server)
    try:
        yield
    except NonConformance as exc:
        if capture.capturing and exc.exchange is not None:
            frames = capture.of(set(client_ports(exc.exchange[0]).values()))
            if frames:
                exc.captured = (frames, capture.dropped())
        raise
    finally:
        capture.stop()


@dataclass(frozen=True)
class Result:
    requirement: str
    level: str
    outcome: Outcome
    summary: str
    evidence: str
    duration_s: float
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    # What ended the check, for a caller that reports it its own way (pytest); None: a pass.
    raised: Exception | None = dataclasses.field(default=None, compare=False, repr=False)


def evaluate(
    spec: Spec,
    requirement: Requirement,
    impl: Implementation,
    options: Options,
    handoff: Handoff | None = None,
) -> Result:
    """check_requirement, with its ending classified: pass, fail (the server), error (us).
    Anything but a pass on a server handed over is checked again on a server of its own: that
    run is the verdict (the server's history is no part of it)."""
    handed = handoff is not None and handoff.server is not None
    result = _evaluate(spec, requirement, impl, options, handoff)
    if handed and result.outcome != "pass":  # that server closed: this time on a fresh one
        return _evaluate(spec, requirement, impl, options, handoff)
    return result


def _evaluate(
    spec: Spec,
    requirement: Requirement,
    impl: Implementation,
    options: Options,
    handoff: Handoff | None,
) -> Result:
    start = time.monotonic()
    outcome: Outcome = "pass"
    summary = evidence = ""
    details: dict[str, Any] = {}
    raised: Exception | None = None
    try:
        details = dict(check_requirement(spec, requirement, impl, options, handoff))
    except NonConformance as exc:
        outcome = "not-judged" if isinstance(exc, NotJudged) else "fail"
        summary, evidence, details, raised = exc.summary, exc.evidence, exc.details, exc
    except RunnerError as exc:
        outcome, summary, raised = "error", f"the check could not run: {exc}", exc
    except Exception as exc:  # a bug of ours, never the server's fault: its traceback to report
        outcome, summary = "error", f"the check could not run: {exc!r} (a bug of the suite)"
        evidence, raised = traceback.format_exc(limit=-8), exc
    took = time.monotonic() - start
    return Result(
        requirement.id, requirement.level, outcome, summary, evidence, took, details, raised
    )


UNWIND = 5.0  # seconds an interrupted run waits for its checks to end, their servers killed
SPARE_DESCRIPTORS = 512  # a check's own, beyond a crowd as large as the server's limit

Job = tuple[Implementation, Requirement]


def schedule(
    jobs: Sequence[Job],
    profile: Profile,
    threads: int,
    first: Collection[tuple[str, str]] = (),
) -> list[list[Job]]:
    """The checks as chains (each run by one thread, one check after another), in the order in
    which `threads` threads start them: those in `first` first (failed last time), then
    implementation after implementation, each chain timed to end with its implementation's
    turn (a turn: the checks' costs shared among the threads).  So the long ones start first,
    a check that waits (persist's idle window) beside the checks of the implementations before
    it, and the threads mix checks that wait with checks that work.  (Longest first across all
    the implementations would start every persist at once: a class graded with its threads all
    idle.)  The checks of an implementation that share a server (Check.shares_server) make one
    chain, no longer than the longest check, so that it delays nothing: each server start saved
    is CPU that the other checks have.  A check expected to fail (declared, or failed last time)
    is left out: it would be checked twice."""

    def failed(job: Job) -> bool:
        return (job[0].name, job[1].id) in first

    def alone(job: Job) -> bool:  # expected not to pass: on a server handed to it, run twice
        return failed(job) or job[1].id in job[0].expected_failures

    cost = {id(job): job[1].cost(profile) for job in jobs}
    longest = max(cost.values(), default=0.0)
    chains: list[list[Job]] = []
    filling: dict[str, list[Job]] = {}  # per implementation: the chain that checks join
    for job in jobs:
        chain = filling.get(job[0].name)
        if not checks()[job[1].check].shares_server or alone(job):
            chains.append([job])
        elif chain and sum(cost[id(j)] for j in chain) + cost[id(job)] <= longest:
            chain.append(job)
        else:
            filling[job[0].name] = [job]
            chains.append(filling[job[0].name])
    order = {name: i for i, name in enumerate(dict.fromkeys(impl.name for impl, _ in jobs))}
    turn = sum(cost.values()) / max(1, len(order)) / max(1, threads)

    def start(chain: list[Job]) -> tuple[bool, float]:
        ends = (order[chain[0][0].name] + 1) * turn
        return not failed(chain[0]), ends - sum(cost[id(j)] for j in chain)

    return sorted(chains, key=start)


def run_in_threads(
    spec: Spec,
    chains: Sequence[Sequence[Job]],
    options: Options,
    threads: int,
    started: Callable[[Job], None],
    finished: Callable[[Job, Result | None], None],
    halt: Callable[[Result], bool] = lambda result: False,
    halted: threading.Event | None = None,
) -> None:
    """Evaluate each (implementation, requirement) in this process: the chains (schedule),
    `threads` at a time, in the order given, each chain's checks one after another, handing
    their server on (Handoff).  The checks mostly wait on their servers, so threads overlap
    them as well as processes would, without a process to start first (Hypothesis is
    thread-safe).
    `started` and `finished` are called in the calling thread as each check starts and ends.

    A result for which `halt` is true (-x: a fail) ends the run: no more checks start, those
    under way have their servers killed and end with `finished(job, None)` (not run to the end,
    no verdict).  So does `halted`, set from elsewhere (--watch: a file changed), with every
    server killed (live.stop_all) by whoever sets it.

    Interrupted (KeyboardInterrupt, in the calling thread), it kills every server, waits for
    the checks to end (UNWIND) and raises again."""
    from conformance.driver import live
    from conformance.driver.net import raise_nofile

    # Every client socket is this process's: as many checks at once as its descriptors allow.
    each = spec.limits.nofile + SPARE_DESCRIPTORS
    threads = max(1, min(threads, len(chains), raise_nofile(threads * each) // each))
    todo: queue.SimpleQueue[Sequence[Job] | None] = queue.SimpleQueue()
    # (job, None): it starts; (job, result): it ended; (None, None): a worker has finished.
    events: queue.SimpleQueue[tuple[Job | None, Result | None]] = queue.SimpleQueue()
    halted = halted or threading.Event()

    def work() -> None:
        live.work_for(halted)
        while (chain := todo.get()) is not None:
            handoff = Handoff()
            try:
                for job in chain:
                    if halted.is_set():
                        break
                    events.put((job, None))
                    events.put((job, evaluate(spec, job[1], job[0], options, handoff)))
            finally:
                handoff.close()
        events.put((None, None))

    for queued in chains:
        todo.put(queued)
    # Daemons: a check that does not end when interrupted does not keep the process.
    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for worker in workers:
        todo.put(None)
        worker.start()
    try:
        done, unwound = 0, float("inf")  # halted: the time by which the checks must have ended
        while done < len(workers):
            try:
                job, result = events.get(timeout=min(UNWIND, unwound - time.monotonic()))
            except queue.Empty:
                if halted.is_set():
                    break  # a check that does not end though its server is gone: left behind
                continue
            if job is None:
                done += 1
            elif result is None:
                started(job)
            elif halted.is_set():
                finished(job, None)  # its server killed: no verdict
            else:
                finished(job, result)
                if halt(result):
                    halted.set()
                    unwound = time.monotonic() + UNWIND
                    live.stop_all()  # the checks under way end at once, their results dropped
    except BaseException:
        live.stop_all()
        deadline = time.monotonic() + UNWIND
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        raise
    finally:
        if halted.is_set():
            live.resume()
