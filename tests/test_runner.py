"""How checks are run together: the order and chains of a run (runner.schedule), and a server
handed from one check of a chain to the next (runner.Handoff)."""

from __future__ import annotations

import dataclasses
import sys
import threading
from pathlib import Path

from conformance.catalog import checks
from conformance.driver import live
from conformance.driver.target import Target
from conformance.impls import Implementation
from conformance.outcome import RunnerError
from conformance.profiles import get_profile
from conformance.runner import Handoff, Job, Options, evaluate, schedule
from conformance.spec import DEFAULT_SPEC, load_spec

SPEC = load_spec(DEFAULT_SPEC)
DEFAULT = get_profile("default")
SERVERS = Path(__file__).parent / "servers"


def impl(name: str, server: str = "ok_threads.py") -> Implementation:
    argv = (sys.executable, str(SERVERS / server), "{port}", "{host}")
    return Implementation(name, "", Target(name, argv))


def jobs_of(*names: str) -> list[Job]:
    return [(impl(name), req) for name in names for req in SPEC.requirements]


def shares(job: Job) -> bool:
    return checks()[job[1].check].shares_server


def test_the_checks_that_share_a_server_make_one_chain_no_longer_than_the_longest_check():
    chains = schedule(jobs_of("a", "b"), DEFAULT, threads=12)
    assert sorted(len(c) for c in chains) == [1] * 14 + [5, 5]
    longest = max(r.cost(DEFAULT) for r in SPEC.requirements)
    for chain in chains:
        assert len({impl.name for impl, _ in chain}) == 1  # one implementation's server
        if len(chain) > 1:
            assert all(shares(job) for job in chain)
            assert sum(req.cost(DEFAULT) for _, req in chain) <= longest
    # quick idles a fifth as long: its longest check is shorter, and so are the chains
    quick = schedule(jobs_of("a"), get_profile("quick"), threads=12)
    assert sorted(len(c) for c in quick if len(c) > 1) == [2, 3]


def test_implementation_after_implementation_each_one_s_long_checks_first():
    """Not every persist at once (a class graded with its threads all idle): each starts with
    the checks of the implementations before its own, the longest of each first."""
    names = [f"s{i}" for i in range(6)]
    chains = schedule(jobs_of(*names), DEFAULT, threads=12)
    firsts = [chain[0] for chain in chains]
    persists = [i for i, (_, req) in enumerate(firsts) if req.id == "persist"]
    lasts = [max(i for i, (im, _) in enumerate(firsts) if im.name == name) for name in names]
    assert lasts == sorted(lasts)  # implementations in turn
    assert persists[0] == 0 and persists[1] < lasts[0]  # the next one's persist runs beside
    one = [req.id for im, req in firsts if im.name == "s5"]
    assert one[0] == "persist" and one.index("concurrent") < one.index("many-connections")


def test_what_is_expected_to_fail_runs_alone_and_what_failed_last_time_first():
    """A check that does not pass on a server handed to it runs twice: one expected to fail
    (failed last time, or declared) has a server of its own."""
    first = {("b", "upper"), ("a", "stream")}
    declared = dataclasses.replace(impl("c"), expected_failures={"capacity": "a cap of 100"})
    jobs = jobs_of("a", "b") + [(declared, req) for req in SPEC.requirements]
    chains = schedule(jobs, DEFAULT, threads=12, first=first)
    assert {(c[0][0].name, c[0][1].id) for c in chains[:2]} == first
    alone = {(c[0][0].name, c[0][1].id) for c in chains if len(c) == 1}
    assert first | {("c", "capacity")} <= alone
    assert sorted(len(c) for c in chains if len(c) > 1) == [4, 4, 5]  # b: no upper, c: no capacity


def test_a_pass_hands_the_server_on_and_anything_else_is_checked_again_on_a_fresh_one():
    handoff, options = Handoff(), Options(profile=get_profile("quick"))
    ok = impl("ok")
    try:
        assert evaluate(SPEC, SPEC.requirement("listen"), ok, options, handoff).outcome == "pass"
        handed = handoff.server
        assert handed is not None and handed.alive()
        handed.stop()  # the server handed on has ended: upper cannot pass on it
        result = evaluate(SPEC, SPEC.requirement("upper"), ok, options, handoff)
        assert result.outcome == "pass", result.summary  # the verdict of a fresh server
        assert handoff.server is not None and handoff.server is not handed
        assert handoff.server.alive() and handoff.server.starts == 1
    finally:
        handoff.close()
    assert handoff.server is None
    # A fail on a fresh server is the verdict, and leaves nothing to hand on.
    buggy = impl("buggy", "forgets_z.py")
    result = evaluate(SPEC, SPEC.requirement("upper"), buggy, options, handoff)
    assert result.outcome == "fail" and handoff.server is None


def test_a_thread_that_a_halted_run_left_behind_starts_no_server():
    """-x or --watch ends a run while a check has not noticed its server killed: the run
    returns without it (runner.UNWIND), and lets servers start again for the next; that
    check's thread must start none (a restart, a check again on a fresh server): it would
    outlive the run."""
    halted, refused = threading.Event(), []

    def left_behind() -> None:
        live.work_for(halted)
        halted.wait()
        live.resume()  # the run has returned
        try:
            live.LIVE.refuse()
        except RunnerError as exc:
            refused.append(str(exc))

    thread = threading.Thread(target=left_behind)
    thread.start()
    halted.set()
    thread.join()
    assert refused == ["the run was interrupted"]
    live.LIVE.refuse()  # any other thread may start servers
