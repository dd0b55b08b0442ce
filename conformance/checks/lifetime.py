"""Checks of a connection's life: kept open across writes and an idle window (persist), closed
after the flush at EOF (close-on-eof), and a client's reset survived (survive-reset)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st

from conformance.backpressure import Backpressure, await_backpressure, unreached
from conformance.checks.context import (
    Context,
    forget,
    payloads,
    round_trip,
)
from conformance.driver.listeners import TCP_CLOSE_WAIT
from conformance.driver.net import Stalled, pump
from conformance.payload import block
from conformance.session import Peer, Session

# Seconds a connection stays idle beyond the profile's window.  The server's idle timer starts
# when its recv() starts waiting, before the client has read the reply it sent; the client counts
# from the reply's arrival, so the server has seen at least as much idleness as it is told of.
# The margin lets a server whose timeout equals the window close, and be seen closing, before the
# client writes again: no race at the boundary.
IDLE_MARGIN = 0.25
GLANCE = 0.001  # seconds a look at the idle connection between examples waits for news


def idle_window(ctx: Context) -> float:
    """Seconds the persist check leaves a connection idle: the spec's `idle`, scaled by the
    profile (its scaled_wait in the catalog, which its scheduling cost counts too)."""
    return ctx.requirement.scaled_wait(ctx.profile)


@dataclass
class IdleConnection:
    """A connection that has had its reply and then says nothing while the check does its other
    work, so that the idle wait costs little time of its own.  Glanced at between examples: an
    early close is seen, and timed, about when it happens."""

    session: Session
    peer: Peer
    since: float  # when its last reply byte arrived: the server has been idle since, or longer
    closed_after: float | None = None  # seconds idle when the server's close (or bytes) arrived

    @classmethod
    def open(cls, session: Session) -> IdleConnection:
        peer = round_trip(session, b"then a long pause", "idle")
        return cls(session, peer, time.monotonic())

    @property
    def idle(self) -> float:
        return time.monotonic() - self.since

    def glance(self) -> None:
        """Take in what the server sent meanwhile (an EOF, a reset), without judging it here:
        this runs between Hypothesis examples, whose verdicts must stay their own."""
        if self.closed_after is None:
            self._watch(time.monotonic() + GLANCE)

    def outlast(self, window: float) -> float:
        """Stay idle until `window` + IDLE_MARGIN seconds have passed since the reply, watching
        for an early close; then write and expect the reply, in time, on the same connection.
        The seconds it was idle."""
        if self.closed_after is None:
            self._watch(self.since + window + IDLE_MARGIN)
        s, peer = self.session, self.peer
        if self.closed_after is not None:
            s.check([peer], while_=self._while_idle(window))
        idle = self.idle
        s.transcript.add(peer.name, "idle", b"%.2f s: nothing sent, nothing received" % idle)
        peer.write(b"after %.2f s idle" % idle)
        s.replies(peer)
        s.quiet([peer])
        return idle

    def _watch(self, until: float) -> None:
        """Read what arrives until `until` (at least a glance: the news may be waiting)."""
        peer = self.peer
        now = time.monotonic()
        until = max(until, now + GLANCE)
        try:
            pump([peer.conn], lambda: peer.deviation is not None, until - now + 1.0, until)
        except Stalled:  # pragma: no cover - its timeout outlasts `until`
            pass
        if peer.deviation is not None:
            self.closed_after = self.idle

    def _while_idle(self, window: float) -> str:
        return (
            f"while the connection was idle: it came {self.closed_after:.2f} s after the last "
            f"reply (the check leaves it idle {window + IDLE_MARGIN:g} s: keep an idle connection "
            "open, with no recv() timeout or idle timer)"
        )


def served_beside(ctx: Context) -> bool:
    """Is a second client answered, within the reply timeout, while a first one is held open?
    A server that serves one client at a time is correct here (serving at once is `concurrent`'s
    business), so persist does not idle a connection beside its examples then."""
    with ctx.session(stateless=False) as s:
        peer = s.connect("beside")
        peer.write(b"beside an idle one")
        try:
            pump([peer.conn], lambda: peer.settled or peer.deviation is not None, s.timeouts.reply)
        except Stalled:
            return False
        return peer.settled and peer.deviation is None


def many_writes(ctx: Context, before_each: Callable[[], None] = lambda: None) -> None:
    """Rounds of writes on one connection, each answered in full, and no early close after them
    (Hypothesis examples, each on a fresh connection); `before_each` runs before every example."""
    p = ctx.params
    message = st.binary(min_size=1, max_size=32)
    rounds = st.lists(st.lists(message, min_size=1, max_size=8), min_size=2, max_size=4)

    def body(case: list[list[bytes]]) -> None:
        before_each()
        with ctx.session() as s:
            peer = s.connect()
            for writes in case:  # a round: a few writes, then every reply
                for w in writes:
                    peer.write(w)
                s.replies(peer)
            s.quiet([peer])

    many = [[b"hello %d" % (i + j) for j in range(5)] for i in range(0, p["writes"], 5)]
    long_haul = [[block(65536, i)] for i in range(p["long_haul"] // 65536)]  # megabytes
    ctx.falsify(body, rounds, [many, long_haul])


def check_persist(ctx: Context) -> None:
    """The server keeps a connection open across many writes and after a long idle pause (an
    idle timeout, such as a recv() timeout, is closing first).  The idle connection is opened
    first and waits while the examples run, so the check takes about the idle window, not the
    window plus the examples; a server that serves one client at a time gets them in turn."""
    window = idle_window(ctx)
    idle = _idle_beside_examples(ctx, window)
    ctx.show(f"idle {idle:.2f} s (the window: {window:g} s), then answered on that connection")


def _idle_beside_examples(ctx: Context, window: float) -> float:
    """The examples, and a connection idle for `window` meanwhile (or after them, for a server
    that serves one client at a time): the seconds it was idle."""
    with ctx.session(stateless=False) as s:
        idle = IdleConnection.open(s)
        if served_beside(ctx):
            many_writes(ctx, idle.glance)
            return idle.outlast(window)
    many_writes(ctx)
    with ctx.session(stateless=False) as s:
        return IdleConnection.open(s).outlast(window)


@dataclass(frozen=True)
class HalfCloseCase:
    writes: tuple[bytes, ...]
    read_first: bool  # read every reply before half-closing (else the server owes them all)
    unread: bool = False  # not reading around the half-close, with a narrow window: the EOF
    # arrives while replies are still owed and the server cannot send them (backpressure, shown)
    with_fin: bool = False  # the last bytes and the FIN leave in one segment (as from a fast
    # client): the server reads the EOF before it can have sent their replies


def check_close_on_eof(ctx: Context) -> None:
    """After the client's half-close, every owed reply arrives, then the server's EOF.  The
    unread cases show that the server held replies it could not send after the half-close
    (backpressure), and are an error if it never did."""
    p = ctx.params
    strategy = st.builds(
        HalfCloseCase,
        st.lists(payloads(p["max_size"]), max_size=4).map(tuple),
        st.booleans(),
    )

    def body(case: HalfCloseCase) -> None:
        with ctx.session() as s:
            peer = s.connect(backpressure=case.unread)
            if case.with_fin:
                peer.conn.cork()
            for w in case.writes:
                peer.write(w)
            if case.read_first:
                s.replies(peer)
            if case.unread:
                # Not reading until the server holds replies it cannot send (`pause` at most).
                await_backpressure(s, peer, p["pause"])
                # What does not fit the buffers between us goes through only if we read.
                peer.conn.reading = bool(peer.conn.outbox)
            s.half_close(peer)
            held: Backpressure | None = None
            if case.unread:
                # Not reading, so that the server reads the EOF while it still owes replies
                # (read meanwhile, they could all be out by then).
                peer.conn.reading = False
                s.quiet([peer], p["pause"])
                held = await_backpressure(s, peer, s.timeouts.stall)
                peer.conn.reading = True
            s.eof(peer)
            if case.unread:
                if held is None:
                    raise unreached(s, peer, "after the half-close")
                ctx.show(f"the EOF read while replies were owed: {held}")

    owed = p["owed"]
    examples = [
        HalfCloseCase((b"hello",), False),
        HalfCloseCase((b"hello",), False, with_fin=True),
        HalfCloseCase((), False),
        HalfCloseCase((b"hello",), True),
        HalfCloseCase((block(p["max_size"], 7),), False),
        # Megabytes, so that the server still owes replies when it reads the EOF (explicit
        # only: each takes a few tenths of a second).
        *(HalfCloseCase((block(owed >> k, k),), False, unread=True) for k in (2, 1, 0)),
    ]
    ctx.falsify(body, strategy, examples)


RESETS = (
    "before-sending",
    "after-sending",
    "owed-large-reply",
    "after-half-close",
    "owed-after-half-close",
    "vanish",
)
FLUSHING = 960 * 1024  # bytes a server reading ahead takes in whole (it may stop at 1 MiB owed)
STILL = 0.25  # seconds the server's end of a connection stays the same: it does nothing more


def check_survive_reset(ctx: Context) -> None:
    """Clients that reset at any moment, or vanish unread, do not stop the server: a new client
    is served after each.  (Clients disturbed while *connected* is `concurrent`'s business: an
    iterative server is allowed to serve one client at a time.)"""
    p = ctx.params

    def body(kinds: list[str]) -> None:
        with ctx.session() as s:
            for i, kind in enumerate(kinds):
                _reset_client(ctx, s, kind, f"r{i + 1}")
                round_trip(s, b"still there? %d" % i, f"n{i + 1}")
                s.peers[-1].conn.close()
            time.sleep(s.timeouts.settle)  # a crash on the last reset takes a moment
            round_trip(s, b"and now?", "last")
            if not s.server.alive():
                s.fail(f"the server {s.server.exit_status()} after client resets")

    # The reset mid-flush (960 KiB) is in the explicit case only: generated ones stay small.
    generated = [kind for kind in RESETS if kind != "owed-after-half-close"]
    strategy = st.lists(st.sampled_from(generated), min_size=1, max_size=p["rounds"])
    ctx.falsify(body, strategy, [list(RESETS)])
    # More resets in a row than the server has descriptors: one leaked per reset shows.
    with ctx.session() as s:
        for i in range(p["burst"]):
            s.connect(f"b{i + 1}").reset()
            if i % 100 == 99:
                forget(s)
        round_trip(s, b"served after %d resets" % p["burst"], "after")


def _reset_client(ctx: Context, s: Session, kind: str, name: str) -> None:
    owed = kind in ("owed-large-reply", "owed-after-half-close")
    peer = s.connect(name, backpressure=owed)
    if kind == "before-sending":
        pass
    elif kind == "after-sending":
        peer.write(b"reset right after this")
        s.push(peer, 0.05)
    elif kind == "owed-large-reply":  # the reset comes while the server cannot send its reply
        peer.write(block(ctx.params["big_reply"], 3))
        held = await_backpressure(s, peer, s.timeouts.reply)
        if held is not None:
            ctx.show(f"a reset while the server held replies it could not send: {held}")
    elif kind == "after-half-close":
        peer.write(b"half-closed, then reset")
        s.half_close(peer)
    elif kind == "owed-after-half-close":
        _reset_while_flushing(s, peer)
    elif kind == "vanish":  # writes and closes without reading: the kernel answers with RST
        peer.write(b"nobody reads this reply " * 64)
        s.push(peer, 0.05)
        peer.conn.close()
        return
    peer.reset()


def _reset_while_flushing(s: Session, peer: Peer) -> None:
    """Bring about a server that has read the client's half-close (its end in CLOSE_WAIT) and
    still holds replies it cannot send (the client reads nothing, its window narrow): the reset
    then comes mid-flush, and the server's next send() fails with EPIPE, which raises SIGPIPE
    in a server that does not ignore it.  Only a server that reads ahead of its replies gets
    there (one blocked sending never reads the half-close); the transcript says if it did."""
    peer.conn.reading = False
    peer.write(block(FLUSHING, 5))
    s.half_close(peer)
    last, still = None, time.monotonic()
    while time.monotonic() - still < STILL and s.server.alive():
        queues = s.server.kernel.connection_queues(peer.conn.port)
        if queues is not None and queues.state == TCP_CLOSE_WAIT and queues.unsent:
            note = f"server in CLOSE_WAIT, {queues.unsent} reply bytes in its send queue"
            s.transcript.add(peer.name, "flushing", note.encode())
            return
        if queues != last:  # until its end stops changing: it is not reading the half-close
            last, still = queues, time.monotonic()
        time.sleep(0.002)
