"""Verdicts from entries: a requirement not judged for want of another."""

from __future__ import annotations

from typing import Any

from conformance.impls import adhoc
from conformance.reports.report import Entry, Report, hint, render_matrix, render_report


def entry(rid: str, outcome: str, needs: str = "", **kw: Any) -> Entry:
    details = {"needs": [needs], "why": "held", "failure": f"{rid}: what it saw"} if needs else {}
    summary = f"not judged: needs {needs}: held" if needs else f"{rid} broke"
    return Entry(rid, "MUST", 10, True, outcome, summary, details=kw.pop("details", details), **kw)


def report(spec, *entries: Entry) -> Report:
    impl = adhoc(["python3", "server.py", "{port}"], name="s")
    return Report(spec, impl, "python3 server.py", list(entries), 1.0, "replay {id}").settle()


def test_not_judged_scores_nothing_and_names_its_root_cause_first(spec):
    r = report(
        spec,
        entry("listen", "pass"),
        entry("stream", "not-judged", "prompt"),
        entry("upper", "fail"),
        entry("prompt", "fail"),
    )
    assert r.verdict == "nonconformant" and r.score == 10
    text = render_report(r)
    assert "  N/A   stream" in text
    assert text.index("--- prompt") < text.index("--- upper")  # the root cause first
    assert "--- stream" not in text  # its evidence is prompt's
    assert "(not judged for want of prompt: stream)" in text.splitlines()[-1]
    assert "n/a" in render_matrix([r])


def test_not_judged_for_want_of_a_requirement_that_passed_is_a_fail(spec):
    r = report(spec, entry("prompt", "pass"), entry("stream", "not-judged", "prompt"))
    stream = r.entries[1]
    assert (stream.outcome, stream.summary) == ("fail", "stream: what it saw")


def test_not_judged_names_those_of_its_needs_that_failed(spec):
    e = entry("persist", "not-judged", "upper")
    e.details["needs"] = ["upper", "stream"]
    r = report(spec, entry("upper", "pass"), entry("stream", "fail"), e)
    assert r.entries[2].needs == ("stream",)
    assert r.entries[2].summary == "not judged: needs stream: held"


def test_a_declared_failure_may_show_as_not_judged(spec):
    e = entry("stream", "not-judged", "prompt", expected="fail")
    assert e.as_declared
    assert not entry("stream", "not-judged", "prompt").as_declared
    assert entry("stream", "pass").failed is False


def test_a_progress_line_that_said_not_judged_is_restated_as_a_fail(spec):
    r = report(spec, entry("prompt", "pass"), entry("stream", "not-judged", "prompt"))
    text = render_report(r, table=False)
    assert "they fail:\n  FAIL  stream" in text


def test_every_hint_is_keyed_by_a_cause_the_suite_reports():
    """Hints are keyed by a deviation's kind or an outcome.Cause (a check's own may also have
    "" for any failure of it): never by words of a message, which other layers may reword."""
    from conformance import catalog
    from conformance.model import Kind
    from conformance.outcome import Cause

    causes = {k.value for k in Kind} | {c.value for c in Cause}
    assert set(catalog.HINTS) <= causes
    for name, check in catalog.CATALOG.items():
        assert set(check.hints) <= causes | {""}, name


def test_a_check_s_own_hint_comes_before_the_general_one(spec):
    """The same cause, two checks, two pieces of advice: a newcomer kept waiting after a crowd
    beyond the descriptors is EMFILE mishandled; while a client is served, serving one at a
    time.  A wrong byte gets the transform's advice from any check."""
    stopped = {"cause": "stopped accepting"}
    fd = entry("survive-fd-limit", "fail", details=stopped)
    capacity = entry("capacity", "fail", details=stopped)
    upper = entry("stream", "fail", details={"deviation": {"kind": "wrong byte"}})
    r = report(spec, fd, capacity, upper)
    assert "EMFILE" in hint(r, fd)
    assert "serve clients concurrently" in hint(r, capacity)
    assert "bytes.upper()" in hint(r, upper)
    assert hint(r, entry("prompt", "pass")) == ""


def test_a_replay_says_what_made_the_verdict(spec, tmp_path):
    """A registered implementation by its folder, with the run's options; a command as given,
    its fixed port kept; a student's command relative to their folder, where they run it."""
    from conformance.driver.target import Target
    from conformance.reports.replay import replay_template

    target = Target("s", ("python3", "server.py", "{port}"))
    folder = replay_template(spec, target, folder=tmp_path / "my impl", options=["--seed", "7"])
    assert folder == f"echo-conformance check --only {{id}} --seed 7 '{tmp_path}/my impl'"
    fixed = Target("s", ("./server", "8080"), fixed_port=8080)
    assert replay_template(spec, fixed, shared=["/course"]) == (
        "echo-conformance check --only {id} --share /course --fixed-port 8080 -- ./server 8080"
    )
    student = Target("alice", ("python3", f"{tmp_path}/alice/server.py", "{port}"))
    assert replay_template(spec, student, within=tmp_path / "alice").endswith(
        " -- python3 server.py {port}"
    )
