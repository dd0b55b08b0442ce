"""The checks on a few servers, end to end (quick profile): verdicts and what they explain."""

from __future__ import annotations

import dataclasses
import re
import shutil
import socket
import subprocess

import pytest

from conformance.backpressure import Backpressure, await_backpressure
from conformance.catalog import CATALOG
from conformance.checks import Context, exchange
from conformance.driver import launcher
from conformance.driver.kernel import KernelView
from conformance.runner import evaluate
from tests.helpers import SERVERS, script, server

# Crashes on a newline, which `upper` sends and `prompt` never does.
CRASH_ON_NEWLINE = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[2], int(sys.argv[1]))); s.listen()
while True:
    c, _ = s.accept()
    while data := c.recv(4096):
        assert b"\\n" not in data, "cannot handle a newline"
        c.sendall(data.upper())
    c.close()
"""


def test_correct_server_passes_everything_and_each_check_shows_its_condition(spec, quick):
    impl = server("ok_selectors.py")
    outcomes = {r: evaluate(spec, spec.requirement(r), impl, quick) for r in spec.ids}
    failed = {r: res.summary for r, res in outcomes.items() if res.outcome != "pass"}
    assert failed == {}
    for rid, result in outcomes.items():
        check = CATALOG[spec.requirement(rid).check]
        assert result.details["condition"] == check.condition, rid
        assert result.details["shown"], rid


def test_a_check_that_never_brings_about_its_condition_is_an_error(spec, quick, monkeypatch):
    """A check that ends without showing its condition judged nothing: an error, not a pass."""
    idle = CATALOG["idle-cpu"]
    # The check as it would be if it never noted what it brought about.
    monkeypatch.setattr(Context, "show", lambda self, note: None)
    result = evaluate(spec, spec.requirement("idle-cpu"), server("ok_selectors.py"), quick)
    assert result.outcome == "error", result.summary
    assert f"could not bring about its condition ({idle.condition})" in result.summary


def test_survive_reset_resets_a_client_while_the_server_holds_its_replies(spec, quick):
    """The owed-reply reset comes while the server's send queue holds reply bytes behind the
    client's closed window, and the check says so with its pass."""
    result = evaluate(spec, spec.requirement("survive-reset"), server("ok_threads.py"), quick)
    assert result.outcome == "pass", result.summary
    assert result.details["shown"].startswith("a reset while the server held replies")
    assert "client window 0" in result.details["shown"]


def test_wrong_byte_is_pinned_to_upper_with_offset(spec, quick):
    result = evaluate(spec, spec.requirement("upper"), server("forgets_z.py"), quick)
    assert result.outcome == "fail"
    assert "0x7A 'z'" in result.summary and "0x5A 'Z'" in result.summary
    assert "minimal failing case" in result.evidence


def test_crash_shows_exit_status_and_traceback_tail(spec, quick, tmp_path):
    result = evaluate(spec, spec.requirement("upper"), script(tmp_path, CRASH_ON_NEWLINE), quick)
    assert result.outcome == "fail"
    assert "exited with status 1" in result.evidence
    assert "AssertionError: cannot handle a newline" in result.evidence


def test_a_crash_does_not_leak_into_other_requirements(spec, quick, tmp_path):
    # `prompt` never sends a newline: the server is judged on it by its own merits.
    result = evaluate(spec, spec.requirement("prompt"), script(tmp_path, CRASH_ON_NEWLINE), quick)
    assert result.outcome == "pass", result.summary


def test_busy_fixed_port_is_an_error_not_a_fail(spec, quick, tmp_path, monkeypatch, isolation):
    """Without isolation, a port another process holds is our problem, not the server's; in a
    network of its own, the server does not even see it."""
    monkeypatch.setattr(launcher, "TIME_WAIT", 0.0)
    short = dataclasses.replace(spec, timeouts=dataclasses.replace(spec.timeouts, startup=0.3))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        impl = server("ok_selectors.py")
        target = dataclasses.replace(impl.target, fixed_port=port)
        impl = dataclasses.replace(impl, target=target)
        result = evaluate(short, spec.requirement("listen"), impl, quick)
    if isolation == "isolated":
        assert result.outcome == "pass", result.summary
    else:
        assert result.outcome == "error"
        assert f"port {port}" in result.summary


def test_waiting_for_a_newline_fails_prompt_as_a_missing_reply(spec, quick):
    result = evaluate(spec, spec.requirement("prompt"), server("line_buffered.py"), quick)
    assert result.outcome == "fail" and "no reply within 2 s" in result.summary


def test_a_large_failing_case_reads_as_the_block_that_makes_it(spec, quick):
    """Megabytes in a minimal failing case print as block(size, seed), not as the bytes."""
    result = evaluate(spec, spec.requirement("stream"), server("drops_after_64k.py"), quick)
    assert result.outcome == "fail"
    case = result.details["case"]
    assert "block(" in case and len(case) < 2000, case[:2000]


def test_persist_fails_an_idle_timeout_and_says_after_how_long(spec, quick):
    """A 1 s idle timeout equals the quick profile's window: the margin makes it fail, without a
    race, and the verdict says the connection was closed while idle and when."""
    result = evaluate(spec, spec.requirement("persist"), server("idle_timeout_1s.py"), quick)
    assert result.outcome == "fail", result.summary
    assert "server closed first" in result.summary
    came = re.search(r"while the connection was idle: it came (\d+\.\d\d) s after", result.summary)
    assert came, result.summary
    # About 1 s: the client counts from the reply's arrival, a little after the server's timer
    # started, and sees the close between two examples (or at once, once they are done).
    assert 0.5 < float(came[1]) < 3.0, result.summary
    assert "leaves it idle 1.25 s" in result.summary


def test_persist_passes_a_server_that_keeps_idle_connections(spec, quick):
    result = evaluate(spec, spec.requirement("persist"), server("ok_threads.py"), quick)
    assert result.outcome == "pass", result.summary
    assert result.duration_s >= 1.25  # the idle window and its margin, the examples overlapping


def test_stream_shows_the_backpressure_it_brings_about(spec, quick, monkeypatch):
    """On a correct server, the unread 4 MiB write brings the server's send queue to a halt
    behind the client's closed window, and the check notes that reading in its transcript."""
    readings: list[tuple[Backpressure | None, list[str]]] = []

    def recorded(session, peer, limit):
        held = await_backpressure(session, peer, limit)
        notes = [e.data.decode() for e in session.transcript.events if e.what == "backpressure"]
        readings.append((held, notes))
        return held

    monkeypatch.setattr(exchange, "await_backpressure", recorded)
    result = evaluate(spec, spec.requirement("stream"), server("ok_selectors.py"), quick)
    assert result.outcome == "pass", result.summary
    assert len(readings) == 1  # the explicit backpressure case
    held, notes = readings[0]
    assert held is not None and held.held and held.unsent and held.window is not None
    assert notes == [str(held)] and notes[0].startswith("server send queue ")


def test_a_server_that_drops_the_unsent_rest_fails_stream_under_backpressure(spec, quick):
    """Default socket buffers: the narrow client window alone makes its send() come back short."""
    hasty = dataclasses.replace(spec, timeouts=dataclasses.replace(spec.timeouts, stall=2.0))
    result = evaluate(hasty, spec.requirement("stream"), server("drops_unsent_rest.py"), quick)
    assert result.outcome == "fail", result.summary
    assert "backpressure (server send queue" in result.evidence


def test_backpressure_never_shown_is_an_error_not_a_pass(spec, quick, monkeypatch):
    """Where the server's end of the connection cannot be read, the check cannot show that the
    server's send() ever came back short: the stream check ends in an error."""
    monkeypatch.setattr(KernelView, "connection_queues", lambda self, port: None)
    hasty = dataclasses.replace(spec, timeouts=dataclasses.replace(spec.timeouts, stall=0.3))
    result = evaluate(hasty, spec.requirement("stream"), server("ok_selectors.py"), quick)
    assert result.outcome == "error", result.summary
    assert "could not bring about backpressure" in result.summary
    assert "last reading: server send queue unreadable" in result.summary
@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (`cc`)")
def test_a_server_that_dies_of_sigpipe_under_a_shell_dies_of_it_here(grader):
    """A C server that never ignores SIGPIPE is killed by its first send() to a client that
    half-closed and then reset while owed replies, in a shell; so under the suite too, in both
    sandboxes, and survive-reset says so."""
    folder = grader.folder("sigpipe")
    binary = folder / "server"
    subprocess.run(["cc", "-O2", "-o", str(binary), str(SERVERS / "sigpipe_dies.c")], check=True)
    grader.own(folder)
    argv = ["--only", "survive-reset", "--", str(binary), "{port}", "{host}"]
    done = grader.run("check", "--profile", "quick", *argv, cwd=folder)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL  survive-reset" in done.stdout
    # Its death comes at the latest with the case that brings the condition about (the
    # transcript notes "flushing (server in CLOSE_WAIT ...)"), sometimes with an earlier reset.
    assert "killed by SIGPIPE" in done.stdout, done.stdout


def test_a_server_that_dies_at_its_first_connection_fails_listen(spec, quick):
    """It never accepted a connection: listen fails, with the exit (as the client's connect is
    reset, or after it), not "cannot read the accept queue" nor for want of another; a stateful
    check on it is not judged, for want of many-connections (its experiments, each ending the
    server again, start none of their own)."""
    impl = server("crashes_on_connect.py")
    listen = evaluate(spec, spec.requirement("listen"), impl, quick)
    assert listen.outcome == "fail", listen.summary
    assert "the server exited with status 1" in listen.summary
    concurrent = evaluate(spec, spec.requirement("concurrent"), impl, quick)
    assert concurrent.outcome == "not-judged", concurrent.summary
    assert concurrent.details["needs"] == ["many-connections"], concurrent.summary
