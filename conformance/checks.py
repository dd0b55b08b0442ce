"""One check per requirement, each named for what it checks.

A check drives a running server through Sessions and raises NonConformance when the model sees a
deviation.  Stateless checks run Hypothesis examples on fresh connections of one server; a
server that has ended since the check started fails the check, and is never restarted to turn
its crash into a pass.

Each check is registered in catalog.CATALOG, with the condition it must bring about: a short
send(), an EOF while replies are owed, EMFILE...  It shows that the condition occurred
(Context.show, from what the kernel or the server's replies say); a check that passes without
showing it ends in an error instead (runner.check_requirement), never a pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NoReturn

from hypothesis import strategies as st

from conformance.attribution import Prerequisites
from conformance.backpressure import Backpressure, await_backpressure, read_slice, unreached
from conformance.endings import CaseWatch, Ended, judge_ended_between, judge_ended_in
from conformance.launcher import Server
from conformance.listeners import TCP_CLOSE_WAIT
from conformance.model import Kind, LearnedTransform, Transform
from conformance.net import Stalled, pump
from conformance.outcome import NonConformance, NotJudged, RunnerError
from conformance.payload import block
from conformance.profiles import Profile
from conformance.properties import falsify
from conformance.session import BATCH, Peer, Session
from conformance.spec import Requirement, Spec

# The checks that judge the byte transform itself; every other check takes a server's
# consistent answer to a byte value as that server's image of it.
JUDGE_THE_TRANSFORM = frozenset({"transform"})

# The checks whose property a deviation shows: seen by another check, that one is not judged.
# (A missing reply or a close is told apart by probe connections: attribution.py.)
DEVIATION_OWNERS: dict[Kind, tuple[str, ...]] = {
    # An inconsistent answer, or bytes lost or moved: the first of these that the server fails
    # is the root cause (each judges it itself).  Both passed, it was another client's bytes
    # (cross-talk), or the situation's: the check's own fail (Report.settle).
    Kind.MISMATCH: ("transform", "stream"),
    Kind.EXTRA: ("stream",),  # bytes added
    Kind.NO_CLOSE: ("close-on-eof",),
}


@dataclass
class Context:
    spec: Spec
    requirement: Requirement
    server: Server
    profile: Profile
    seed: int | None = None

    @property
    def params(self) -> dict[str, Any]:
        return self.requirement.params

    @cached_property
    def transform(self) -> Transform:
        """The spec's transform for the check that judges it; for every other check, the
        server's own consistent answers, learned as they come (one defect, one failure)."""
        if self.requirement.check in JUDGE_THE_TRANSFORM:
            return Transform.of(self.spec)
        return LearnedTransform.of(self.spec)

    def session(self, stateless: bool = True) -> Session:
        """A fresh session; for stateless examples, on a server still running (or, in a
        Hypothesis case, see endings.py)."""
        s = Session(self.server, self.spec, self.transform, stateless, self.prerequisites)
        if not stateless:
            return s
        self.server.await_settled()  # what drawing this example left of the last one's
        if self.watch is not None:
            self.watch.opened(s)
        elif not self.server.alive():
            s.fail(
                f"the server {self.server.exit_status()} before this example: it must keep "
                "serving, connection after connection"
            )
        return s

    @cached_property
    def prerequisites(self) -> Prerequisites:
        """What this check sees but leaves to the requirements whose property it is.  (listen
        judges what every connection needs first: it is never not judged for want of another.)"""
        if self.requirement.check == "listen":
            return Prerequisites("listen")
        ids = {r.check: r.id for r in reversed(self.spec.requirements)}
        return Prerequisites(self.requirement.check, ids, DEVIATION_OWNERS)

    def falsify(self, body: Callable[[Any], None], strategy: Any, examples: list[Any]) -> None:
        """Hypothesis runs `body` on cases; a server that ends around one is judged by what
        ended it (endings.py)."""
        watch = CaseWatch()

        def case_of(case: Any) -> None:
            if watch.ended_between:
                return
            watch.begin()
            try:
                body(case)
            except Ended:
                watch.ended_between = True
                return
            except NonConformance as exc:
                watch.failed(exc, ended=not self.server.alive())
                raise
            watch.last_passed = case

        self.watch = watch
        try:
            falsify(case_of, strategy, self.profile, examples, self.seed)
            if watch.ended_between:
                self.watch = None
                judge_ended_between(self, body, watch.last_passed)
        except NotJudged:
            raise
        except NonConformance as exc:
            self.watch = None
            if watch.ended_in(exc):
                judge_ended_in(self, exc, watch)
            raise
        finally:
            self.watch = None

    watch: CaseWatch | None = None  # while Hypothesis runs cases
    shown: str | None = None  # how the check's condition (Check.condition) first occurred

    def show(self, note: str) -> None:
        """The check's condition occurred, as `note` says (the first such note goes with a
        pass into the reports)."""
        if self.shown is None:
            self.shown = note


# -- payloads -------------------------------------------------------------------------------


# Explicit cases run first and are not shrunk, so they go from small to large: a failure shows
# the smallest of them that fails.
EDGES = [
    b"a",
    b"z",
    b"`{@[",  # the bytes just outside a-z and A-Z
    b"\x00",
    b"\x80",
    b"\xff",
    b"hello world",
    "straße ÄÖÜ é ß ﬁ".encode(),  # multi-byte UTF-8: str.upper() changes its length
    b"abcdefghijklmnopqrstuvwxyz",
    bytes(range(256)),
]


def payloads(max_size: int) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(min_size=1, max_size=max_size),
        st.builds(block, st.integers(1, max_size), st.integers(0, 2**16)),
    )


def round_trip(session: Session, data: bytes, name: str | None = None, while_: str = "") -> Peer:
    """A new connection sends `data` and gets its reply (`while_`: for a failure's summary)."""
    peer = session.connect(name)
    peer.write(data)
    session.run([peer], lambda: peer.settled, session.timeouts.reply, while_)
    return peer


# -- the checks ------------------------------------------------------------------------------


def check_listen(ctx: Context) -> None:
    """A client's connection is accepted (it leaves the accept queue: the kernel completes the
    handshake of a server that never calls accept()), and is not closed at once."""
    with ctx.session(stateless=False) as s:
        s.connect()
        accepted = s.server.await_accepted(s.timeouts.reply)
        if accepted is None:  # no listening socket to read: is the server ending?
            if not s.server.await_exit(0.2):
                raise RunnerError(
                    "cannot read the server's accept queue, so cannot tell if it accepts"
                )
            s.fail(f"the server {s.server.exit_status()} when a client connected")
        if not accepted:
            s.fail(
                f"the connection was never accepted: it waited {s.timeouts.reply:g} s in the "
                "listen backlog (is accept() called?)"
            )
        ctx.show("accepted: the connection left the server's accept queue")
        s.quiet(s.peers)


def check_transform(ctx: Context) -> None:
    """Every byte comes back as its image under the transform."""
    answered: set[int] = set()  # byte values sent and answered as the transform says

    def body(data: bytes) -> None:
        with ctx.session() as s:
            round_trip(s, data)
        answered.update(data)

    ctx.falsify(body, payloads(ctx.params["max_size"]), EDGES)
    if len(answered) == 256:
        ctx.show("every byte value, 0 to 255, answered with its image")


@dataclass(frozen=True)
class StreamCase:
    writes: tuple[bytes, ...]  # one client send() each
    read_size: int  # bytes per client recv()
    pause_reading: bool  # write everything before reading anything
    half_close: bool = False  # end by half-closing: nothing may follow the replies
    # Pause with a narrow window until the kernel shows backpressure (instead of for `pause`):
    # shown, or an error.  Megabytes only: a narrow window holds a few hundred KB.
    backpressure: bool = False


def _writes(p: dict[str, Any]) -> st.SearchStrategy[list[bytes]]:
    one = st.one_of(
        st.binary(min_size=1, max_size=64).map(lambda b: [b]),
        st.builds(block, st.integers(1, p["max_write"]), st.integers(0, 2**16)).map(lambda b: [b]),
        st.binary(min_size=2, max_size=64).map(lambda b: [b[i : i + 1] for i in range(len(b))]),
    )
    return st.lists(one, min_size=1, max_size=p["max_writes"]).map(
        lambda groups: [w for g in groups for w in g]
    )


def check_stream(ctx: Context) -> None:
    """The reply stream is exactly the transformed request stream, whatever the fragmentation of
    writes, the size of reads, and pauses in reading.  The multi-MiB write, written while not
    reading, is an explicit case (echoed through a slow correct server, one is slow enough): it
    goes on not reading until the kernel shows backpressure (the server's send() comes back
    short: a server that drops the unsent rest fails), and is an error if it never does."""
    p = ctx.params
    strategy = st.builds(
        StreamCase,
        _writes(p).map(tuple),
        st.sampled_from([65536, 4096, 500]),  # tiny reads change nothing the server sees
        st.booleans(),
        st.booleans(),
    )

    def body(case: StreamCase) -> None:
        with ctx.session() as s:
            peer = s.connect(backpressure=case.backpressure)
            peer.conn.read_size = case.read_size
            for w in case.writes:
                peer.write(w)
            held: Backpressure | None = None
            if case.backpressure:
                held = await_backpressure(s, peer, s.timeouts.stall)
            elif case.pause_reading:
                peer.conn.reading = False
                s.push(peer, p["pause"])
            peer.conn.reading = True
            s.replies(peer, idle_timeout=s.timeouts.stall)
            if case.half_close:
                s.trailing(peer)
            else:
                s.quiet([peer])
            if case.backpressure:
                if held is None:
                    raise unreached(s, peer, f"with a {len(case.writes[0])}-byte write, unread")
                ctx.show(f"a short send(): {held}")

    examples = [
        StreamCase((b"hello ", b"world"), 65536, False),
        StreamCase((b"hello ", b"world"), 65536, False, half_close=True),
        StreamCase(tuple(bytes([b]) for b in b"abcxyz{}"), 500, False),
        StreamCase((block(p["big_write"], 1),), 65536, True, backpressure=True),
        StreamCase(tuple(block(1000, i) for i in range(20)), 500, False),
    ]
    ctx.falsify(body, strategy, examples)


def check_prompt(ctx: Context) -> None:
    """Bytes are answered as they arrive: no waiting for a newline or a full buffer."""
    no_newline = st.binary(min_size=1, max_size=ctx.params["max_size"]).map(
        lambda b: b.replace(b"\n", b".").replace(b"\r", b".")
    )
    answered: list[int] = []  # sizes of the requests answered (the client never half-closes)

    def body(data: bytes) -> None:
        with ctx.session() as s:
            round_trip(s, data)
        answered.append(len(data))

    ctx.falsify(body, no_newline, [b"x", b"hello", b"no newline here"])
    if answered and min(answered) == 1:  # no buffer a server might wait to fill is that small
        ctx.show(
            f"{len(answered)} requests with no newline answered, the client's side open; the "
            "smallest was 1 byte"
        )


# Seconds a connection stays idle beyond the profile's window.  The server's idle timer starts
# when its recv() starts waiting, before the client has read the reply it sent; the client counts
# from the reply's arrival, so the server has seen at least as much idleness as it is told of.
# The margin lets a server whose timeout equals the window close, and be seen closing, before the
# client writes again: no race at the boundary.
IDLE_MARGIN = 0.25
GLANCE = 0.001  # seconds a look at the idle connection between examples waits for news


def idle_window(ctx: Context) -> float:
    """Seconds the persist check leaves a connection idle: the spec's `idle`, scaled by the
    profile (quick looks shorter, thorough longer)."""
    return float(ctx.params["idle"]) * ctx.profile.idle_scale


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
                _forget(s)
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
        queues = s.server.connection_queues(peer.conn.port)
        if queues is not None and queues.state == TCP_CLOSE_WAIT and queues.unsent:
            note = f"server in CLOSE_WAIT, {queues.unsent} reply bytes in its send queue"
            s.transcript.add(peer.name, "flushing", note.encode())
            return
        if queues != last:  # until its end stops changing: it is not reading the half-close
            last, still = queues, time.monotonic()
        time.sleep(0.002)


def check_many_connections(ctx: Context) -> None:
    """Thousands of connections opened and closed in turn, a few open at a time, with a round
    trip every so often: no descriptor leak, no accept limit.  Connections are closed oldest
    first, so an iterative server passes too."""
    p = ctx.params
    with ctx.session(stateless=False) as s:
        window: list[Peer] = []
        for i in range(1, p["connections"] + 1):
            window.append(s.connect(f"k{i}"))
            if len(window) > p["parallel"]:
                window.pop(0).conn.close()
            if i % p["checkpoint"] == 0 or i == p["connections"]:
                for peer in window:
                    peer.conn.close()
                window.clear()
                round_trip(s, b"still serving after %d connections" % i, f"k{i}+").conn.close()
                _forget(s)
        # The last one served, all were accepted (an accept queue is first in, first out).
        made, nofile = s.server.connections, ctx.spec.limits.nofile
    if made > nofile:
        ctx.show(
            f"{made} connections, more than the server's {nofile} descriptors, each closed in "
            "turn, and the last one served"
        )


def _forget(s: Session) -> None:
    """Keep a long check's transcript to what a person can read."""
    s.peers = [p for p in s.peers if p.conn.open]
    s.transcript.events = s.transcript.events[-60:]


# Slices a slow reader takes, each what its receive buffer holds: the first already wakes the
# server to send more than fits (a blocking send() then blocks); the others in case it did not.
SLOW_READS = 4


def check_concurrent(ctx: Context) -> None:
    """Clients connected at once are served independently: one that writes until every buffer
    is full and reads nothing (so the server cannot send it its replies) holds up no other, nor
    does it when it then reads slowly; then a stateful model of many clients."""
    from conformance.machine import run_clients_machine

    p = ctx.params
    with ctx.session(stateless=False) as s:
        hog = s.connect("unread", backpressure=True)
        s.fill(hog, p["unread"], p["still"])
        held = await_backpressure(s, hog, s.timeouts.stall)
        round_trip(s, b"served while another client reads nothing?", "other")
        slices = 0
        while held is not None and slices < SLOW_READS:
            slices += 1
            # Then a slow reader: it takes what its buffer holds, and nothing again.  Woken to
            # send it more, the server must not block in send() (a blocking socket) until the
            # client takes it all.
            read_slice(s, hog, held.client.unread)
            held = await_backpressure(s, hog, s.timeouts.stall)
            slowly = "while another client reads its replies slowly"
            round_trip(s, b"and while it reads slowly?", while_=slowly)
        hog.conn.reading = True
        s.replies(hog, idle_timeout=s.timeouts.stall)
    run_clients_machine(ctx)
    if held is None:
        raise unreached(s, hog, "while the other clients were served")
    ctx.show(
        "other clients served while one's replies were held up, before and after each of the "
        f"{slices} slices of them it read: {held}"
    )


def check_idle_cpu(ctx: Context) -> None:
    """Idle means asleep: little CPU with no client, and with clients connected but silent
    after another one reset while owed replies it could not send (a server that retries the
    failed send spins); that one shows backpressure first, or the check is an error."""
    p = ctx.params
    with ctx.session(stateless=False) as s:
        _measure_idle(s, p, "with no client connected")
        # A client that fills every buffer to the server, reading nothing, until the server
        # holds replies it cannot send, then resets: the first, so that even an iterative
        # server serves it.
        gone = s.connect("gone", backpressure=True)
        s.fill(gone, p["unread"], p["still"])
        held = await_backpressure(s, gone, s.timeouts.stall)
        gone.reset()
        first = round_trip(s, b"wake up")  # the next one: an iterative server serves it too
        for _ in range(p["clients"] - 1):
            s.connect()
        s.quiet([first])
        _measure_idle(
            s,
            p,
            f"with {p['clients']} idle clients connected, after another one reset while owed "
            "a large reply",
        )
    if held is None:
        raise unreached(s, gone, "before it reset")
    ctx.show(f"idle after a client reset while owed replies it could not take: {held}")


def _measure_idle(s: Session, p: dict[str, Any], when: str) -> None:
    time.sleep(0.1)  # let the server finish what it was doing
    server = s.server
    before, t0 = server.cpu_seconds(), time.monotonic()
    time.sleep(p["window"] if server.exact_cpu else p["tick_window"])
    used, elapsed = server.cpu_seconds() - before, time.monotonic() - t0
    if not server.alive():
        s.fail(f"the server {server.exit_status()} while idle")
    share = used / elapsed
    if share > p["max_share"]:
        s.fail(
            f"the server used {share:.0%} of a core while idle {when} "
            f"(limit {p['max_share']:.0%}): it polls instead of blocking",
            f"CPU time {used:.3f} s over {elapsed:.3f} s of wall time",
        )


def check_capacity(ctx: Context) -> None:
    """Many connections held open at once are each answered: in small batches, each answered
    while every earlier one stays connected, then all of them at once.  (Beyond the server's
    descriptors is survive-fd-limit's business: 256 clients fit in its 512.)"""
    n = ctx.params["connections"]
    with ctx.session(stateless=False) as s:
        try:
            for first in range(0, n, BATCH):
                batch = [s.connect(f"h{i + 1}") for i in range(first, min(n, first + BATCH))]
                for peer in batch:
                    peer.write(b"client %s of %d" % (peer.name.encode(), n))
                s.replies(*batch)
            held = s.server.held_connections()
            for peer in s.peers:
                peer.write(b"all together")
            s.replies()
            s.quiet(s.peers)
        except NotJudged:
            raise
        except NonConformance as exc:
            if s.server.alive():
                raise
            raise NonConformance(
                f"the server {s.server.exit_status()} with {len(s.peers)} clients connected at "
                f"once: it must hold {n} ({exc.summary})",
                exc.evidence,
                exc.details,
            ) from None
    if held is None or held >= n:  # its socket tables unread: the replies are the evidence
        at_once = "" if held is None else f" (the server held {held} connections)"
        ctx.show(f"{n} clients connected at once{at_once}, each answered, then all together")


WATCH_PERIOD = 0.005  # seconds between readings of the server's descriptors during a crowd


class DescriptorWatch:
    """Reads, in a thread of its own while a crowd is connected, how close the server's
    processes come to their descriptor limit: the evidence that accept() failed with EMFILE."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.fullest: tuple[int, int] | None = None  # (held, limit) with the least to spare
        self.connections = 0  # the most connections the server held at once, in all its processes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="descriptor-watch", daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.connections = max(self.connections, self.server.held_connections() or 0)
            seen = self.server.descriptors()
            if seen is not None and (
                self.fullest is None or seen[1] - seen[0] < self.fullest[1] - self.fullest[0]
            ):
                self.fullest = seen
            self._stop.wait(WATCH_PERIOD)

    def __enter__(self) -> DescriptorWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def ran_out(self) -> bool:
        """Did a process of the server hold every descriptor its limit allows?"""
        return self.fullest is not None and self.fullest[0] >= self.fullest[1]

    def said_emfile(self) -> bool:
        """Did the server say so on stderr (it may exit before a reading sees it full)?"""
        said = self.server.stderr_tail().lower()
        return "too many open files" in said or "emfile" in said


def check_survive_fd_limit(ctx: Context) -> None:
    """A few clients are held, each served; then a crowd brings the clients connected at once
    beyond the server's descriptor limit, so that accept() fails with EMFILE, and stays a moment.
    The server must live through it, the clients it holds must see nothing amiss meanwhile, and
    once the crowd has left they and a newcomer are served.  The check shows that the server did
    run out (a process of it held every descriptor its limit allows), or held more clients at once
    than a process may (a process per client): a crowd it refuses below that proves nothing, and
    is an error, never a pass."""
    p = ctx.params
    nofile = ctx.spec.limits.nofile
    total = nofile + p["beyond"]
    with ctx.session(stateless=False) as s:
        held = _hold(s, p["clients"], ctx.spec.checked_by("capacity"))
        with DescriptorWatch(s.server) as watch:
            try:
                s.crowd(total - len(held), p["hold"])
            except NotJudged:
                raise
            except NonConformance as exc:
                _crowd_failed(s, exc, watch, total, nofile)
        if not s.server.alive():
            s.fail(_died_in_crowd(s.server, watch, total, nofile))
        if watch.ran_out:
            ctx.show(_ran_out(watch))
        elif watch.connections <= nofile:
            raise RunnerError(f"it could not bring about EMFILE: {_no_emfile(watch, total)}")
        else:  # a process per client: more clients at once than a process may hold, none short
            note = f"{watch.connections} connections held at once, no process out of descriptors"
            s.transcript.add("crowd", "held", note.encode())
            ctx.show(note)
        for peer in held:
            peer.write(b"still served after the crowd")
        # Generous: a server may pause accepting for a while after running out.
        s.replies(*held, idle_timeout=s.timeouts.stall)
        try:
            newcomer = s.connect("after-crowd")
        except NotJudged:
            raise
        except NonConformance as exc:
            raise NonConformance(
                "after the crowd left, the server accepted no new client: accept() failed with "
                f"EMFILE and it stopped accepting for good ({exc.summary})",
                exc.evidence,
                exc.details,
            ) from None
        newcomer.write(b"and a newcomer")
        s.replies(newcomer, idle_timeout=s.timeouts.stall)


def _hold(s: Session, clients: int, capacity: str | None) -> list[Peer]:
    """`clients` connected at once, each answered: those the crowd must not disturb.  Serving
    them all at once is capacity's property: a server that cannot is not judged here."""
    try:
        held = [s.connect(f"h{i + 1}") for i in range(clients)]
        for peer in held:
            peer.write(b"held through the crowd")
        s.replies(*held)
    except NotJudged:
        raise
    except NonConformance as exc:
        why = f"the {clients} clients to hold through the crowd were not all served"
        if capacity is None or not s.server.alive():
            raise NonConformance(f"{why}: {exc.summary}", exc.evidence, exc.details) from None
        raise NotJudged((capacity,), why, exc.summary, exc.evidence, exc.details) from None
    return held


def _crowd_failed(
    s: Session, exc: NonConformance, watch: DescriptorWatch, total: int, nofile: int
) -> NoReturn:
    """A held client saw something amiss during the crowd: say that the crowd was the cause
    (and, when the server died of it, that it ran out of descriptors)."""
    s.server.await_exit(0.2)  # a server that is dying: its exit status and stderr
    if s.server.alive():
        summary = f"{exc.summary}, while a crowd of {total} clients was connected at once"
    else:
        summary = _died_in_crowd(s.server, watch, total, nofile)
    raise NonConformance(summary, exc.evidence, exc.details) from None


def _died_in_crowd(server: Server, watch: DescriptorWatch, total: int, nofile: int) -> str:
    crowd = (
        f"the server {server.exit_status()} when a crowd of {total} clients connected at once, "
        f"more than its {nofile} descriptors"
    )
    if watch.ran_out or watch.said_emfile():
        return f"{crowd}: accept() failed with EMFILE"
    if watch.fullest is None:
        return crowd
    return f"{crowd} (it held at most {watch.fullest[0]} of them)"


def _ran_out(watch: DescriptorWatch) -> str:
    held, limit = watch.fullest or (0, 0)
    return f"EMFILE: a process of the server held {held} descriptors, its limit {limit}"


def _no_emfile(watch: DescriptorWatch, total: int) -> str:
    if watch.fullest is None:
        return "the server's descriptors (/proc/PID/fd) could not be read during the crowd"
    held, limit = watch.fullest
    return (
        f"with a crowd of {total} clients connecting at once, no process of the server held more "
        f"than {held} of its {limit} descriptors (does it serve each client in a process of its "
        "own, or refuse clients beyond a cap of its own?)"
    )
