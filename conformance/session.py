"""A check's view of a server: client connections judged by the model, and the evidence.

A Peer is one client connection (driver) paired with its ReplyStream (model).  A Session opens
peers, moves bytes until a goal is reached, and turns the first deviation, stall or refused
connect into a NonConformance that carries the transcript and the server's own account.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable, Sequence
from typing import NoReturn, Protocol

from conformance.driver.launcher import Server
from conformance.driver.net import (
    Conn,
    Refused,
    Stalled,
    Transcript,
    connect_nowait,
    disperse,
    pump,
)
from conformance.model import Deviation, Kind, ReplyStream, State, Transform
from conformance.outcome import Cause, NonConformance, NotJudged
from conformance.payload import block
from conformance.prerequisites import NotJudgedFor, Prerequisites
from conformance.reports.evidence import describe_deviation, details, render_transcript
from conformance.spec import Spec

PACE_QUEUE = 4  # connections queued unaccepted before a new connect waits (backlog 5 holds 6)
BATCH = 8  # clients a check connects together before waiting for their replies
EXIT_SETTLE = 0.005  # seconds after a stateless example before the next one starts
FILL_CHUNK = 1 << 20  # bytes per client write while filling the buffers to a server


class Peer:
    def __init__(self, conn: Conn, transform: Transform) -> None:
        self.conn = conn
        self.name = conn.name
        self.stream = ReplyStream(transform)
        self.deviation: Deviation | None = None
        self.half_closed = False
        conn.on_sent = self.stream.on_send
        conn.on_data = lambda data: self._note(self.stream.on_receive(data))
        conn.on_eof = lambda: self._note(self.stream.on_eof())
        conn.on_reset = lambda: self._note(self.stream.on_reset())

    def _note(self, deviation: Deviation | None) -> None:
        if deviation is not None and self.deviation is None:
            self.deviation = deviation

    def write(self, data: bytes) -> None:
        self.conn.write(data)

    def half_close(self) -> None:
        """Send what is queued, then shut down the sending side (done by Session.half_close)."""
        self.conn.half_close()
        self.stream.on_half_close()
        self.half_closed = True

    def reset(self) -> None:
        self.conn.reset()
        self.stream.state = State.CLOSED

    @property
    def settled(self) -> bool:
        """Nothing queued, nothing owed."""
        return not self.conn.outbox and self.stream.owed == 0


class Attribution(Protocol):
    """Whose property what a session saw shows, when it is not its check's own: the
    requirements (of its prerequisites) the server fails first, and why; None when it is the
    check's own (attribution.Experiments finds out, by experiment)."""

    def prerequisite(self, s: Session, peer: Peer) -> NotJudgedFor | None: ...

    def accepts_none(self, s: Session, what: str) -> NotJudgedFor | None: ...

    def refused_by(self, s: Session) -> NotJudgedFor | None: ...

    def ended_by(self, s: Session) -> NotJudgedFor | None: ...

    def out_of_descriptors(self, s: Session) -> NotJudgedFor | None: ...


class Unattributed:
    """Everything a session sees is its check's own (a session outside a check: benchmarks)."""

    def prerequisite(self, s: Session, peer: Peer) -> None:
        return None

    def accepts_none(self, s: Session, what: str) -> None:
        return None

    def refused_by(self, s: Session) -> None:
        return None

    def ended_by(self, s: Session) -> None:
        return None

    def out_of_descriptors(self, s: Session) -> None:
        return None


class Session:
    """One check (or one Hypothesis example) against one server."""

    def __init__(
        self,
        server: Server,
        spec: Spec,
        transform: Transform,
        stateless: bool = False,
        prerequisites: Prerequisites | None = None,
        attribution: Attribution | None = None,
        keep_exchange: bool = False,
    ) -> None:
        self.server = server
        self.spec = spec
        self.timeouts = spec.timeouts
        self.transform = transform
        self.transcript = Transcript()
        self.peers: list[Peer] = []
        self.stateless = stateless  # a Hypothesis example of a stateless check
        self.prerequisites = prerequisites or Prerequisites()
        self.attribution = attribution or Unattributed()
        # A failure takes the transcript along (for --pcap): kept only when asked for, as a
        # failing Hypothesis example's exception, and all it holds, outlives its session.
        self.keep_exchange = keep_exchange
        # A Hypothesis case: a server that ends in it is judged with the case (Context.falsify).
        self.in_case = False
        self.experimenting = False  # attribution's experiment: a server that ends is the answer

    # -- connections ----------------------------------------------------------------------

    def connect(
        self, name: str | None = None, backpressure: bool = False, patience: float | None = None
    ) -> Peer:
        """A new client; `backpressure`: one that will stop reading, with a narrow window so
        that the server's send() comes back short after kilobytes (net.narrow_window);
        `patience`: seconds the accept queue may stay full first (see pace)."""
        name = name or f"c{len(self.peers) + 1}"
        try:
            conn = self.dial(name, backpressure, patience)
        except Refused as exc:
            self._settle_exit()
            refused = f"{name}: {exc} ({self._server_state()})"
            self.fail(refused, not_judged=self.attribution.refused_by(self), cause=Kind.REFUSED)
        peer = Peer(conn, self.transform)
        self.peers.append(peer)
        return peer

    def dial(self, name: str, backpressure: bool = False, patience: float | None = None) -> Conn:
        """A client connection, once the accept queue has room (see pace), not yet judged by
        the model (connect makes it a Peer); raises Refused."""
        self.pace(name, patience)
        return Conn.connect(
            self.server.address,
            name,
            self.transcript,
            self.timeouts.connect,
            self.server.new_socket,
            backpressure,
        )

    def pace(self, name: str, patience: float | None = None) -> None:
        """Wait for room in the server's accept queue.  A server with a small listen backlog is
        correct, but a connect beyond it loses its SYN and retries only seconds later; pacing
        keeps checks fast.  A server that leaves its queue full for `patience` seconds (the
        reply timeout unless said) while clients wait has stopped accepting: that is the
        verdict, not a connect timeout later."""
        patience = self.timeouts.reply if patience is None else patience
        queued = self._wait_for_room(patience)
        if queued is not None:
            self.fail(
                f"{name}: cannot connect: the server accepted no connection within "
                f"{patience:g} s while {queued} waited in its accept queue "
                f"({self._server_state()}; does it serve one client at a time?)",
                not_judged=self.attribution.accepts_none(
                    self, f"{queued} connections wait in the accept queue"
                ),
                cause=Cause.STOPPED_ACCEPTING,
            )

    def _wait_for_room(self, seconds: float, watched: Sequence[Peer] = ()) -> int | None:
        """None once fewer than PACE_QUEUE connections wait in the accept queue; their number
        if as many waited for `seconds`.  The `watched` clients are watched meanwhile (quiet)."""
        deadline = time.monotonic() + seconds
        while (queued := self.server.kernel.queue_full(PACE_QUEUE)) is not None:
            if time.monotonic() > deadline:
                return queued
            if watched:
                soon = time.monotonic() + 0.001
                self.run(watched, lambda: False, seconds + 1.0, "watching", soon)
            else:
                time.sleep(0.001)
        return None

    def close(self) -> None:
        for p in self.peers:
            p.conn.close()
        self.peers.clear()
        if self.stateless:
            # A server that exits because a client left mostly does so now, not during the
            # next example (which then finds it dead and restarts it).  The next example waits
            # out what is left of it (Context.session): drawing that example took some time.
            self.server.settled_at = time.monotonic() + EXIT_SETTLE

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- moving bytes ---------------------------------------------------------------------

    def run(
        self,
        peers: Iterable[Peer],
        done: Callable[[], bool],
        idle_timeout: float,
        what: str,
        until: float | None = None,
    ) -> None:
        """Move bytes on `peers` until `done()` (or the time `until`), failing on the first
        deviation or a stall."""
        peers = list(peers)

        def finished() -> bool:
            return any(p.deviation for p in peers) or done()

        try:
            pump([p.conn for p in peers], finished, idle_timeout, until)
        except Stalled:
            waiting = [p for p in peers if p.stream.owed or p.conn.outbox]
            for p in waiting or peers:
                p._note(p.stream.on_timeout(idle_timeout))
            if not any(p.deviation for p in peers):
                self.fail(f"nothing happened within {idle_timeout:g} s ({what or 'waiting'})")
            self.check(peers, while_=what)
        self.check(peers)

    def check(self, peers: Iterable[Peer], while_: str = "") -> None:
        """Fail on the first deviation any of `peers` saw (`while_`: what we were waiting for)."""
        for p in peers:
            if p.deviation is not None:
                self._settle_exit()
                context = f", {while_}" if while_ else ""
                if not self.server.alive():
                    context += f" ({self._server_state()})"
                deviation = p.deviation
                summary = f"{p.name}: {deviation.kind.value}: {deviation.message}{context}"
                detail = describe_deviation(deviation)
                not_judged = self.attribution.prerequisite(self, p)
                self.fail(summary, detail, (p.name, deviation), not_judged)

    def replies(self, *peers: Peer, idle_timeout: float | None = None) -> None:
        """Send what is queued and wait for every owed reply byte."""
        targets = peers or tuple(self.peers)
        self.run(
            targets,
            lambda: all(p.settled for p in targets),
            idle_timeout or self.timeouts.reply,
            "",  # the deviation says it all: no reply within the timeout
        )

    def push(self, peer: Peer, seconds: float) -> None:
        """Send what is queued for up to `seconds`, judging only what arrives meanwhile: a server
        may rightly stop reading while the client is not reading its replies."""
        try:
            pump([peer.conn], lambda: not peer.conn.outbox, seconds, time.monotonic() + seconds)
        except Stalled:
            pass
        self.check([peer])

    def fill(self, peer: Peer, limit: int, still: float) -> None:
        """Write without reading until no byte moves for `still` seconds (every buffer between
        the client and the server is full: the server has stopped reading, or is blocked sending
        to this client) or `limit` bytes are out; judge what happens meanwhile."""
        peer.conn.reading = False
        written = 0
        while written < limit:
            chunk = block(min(FILL_CHUNK, limit - written), written)
            peer.write(chunk)
            written += len(chunk)
            try:
                pump([peer.conn], lambda: not peer.conn.outbox, still)
            except Stalled:
                break
        self.check([peer])

    def crowd(self, count: int, seconds: float) -> None:
        """Up to `count` more clients connect, unjudged, until the server stops accepting for
        `seconds` (out of descriptors: the point), the other clients watched meanwhile; or, all
        connected, they stay `seconds` so watched.  Then they reset."""
        socks: list[socket.socket] = []
        stopped = None
        try:
            try:
                while len(socks) < count and self.server.alive():
                    # Paced as every connect is (pace), but a queue that stays full only ends
                    # the crowd: a server out of descriptors stops accepting, what is tested.
                    if (stopped := self._wait_for_room(seconds, self.peers)) is not None:
                        break
                    socks.append(connect_nowait(self.server.address, self.server.new_socket))
            finally:
                self.transcript.add(f"{len(socks)} more", "connect")
            if stopped is None:
                self.quiet(self.peers, seconds)
        finally:
            disperse(socks)
            self.transcript.add(f"{len(socks)} more", "reset")

    def half_close(self, peer: Peer) -> None:
        self.run([peer], lambda: not peer.conn.outbox, self.timeouts.stall, "while sending")
        peer.half_close()

    def eof(self, peer: Peer, timeout: float | None = None) -> None:
        """After a half-close: every owed byte, then the server's EOF."""
        self.run(
            [peer],
            lambda: peer.stream.state is State.CLOSED,
            timeout or self.timeouts.close,
            "",
        )

    def trailing(self, peer: Peer) -> None:
        """Half-close once every reply is in, and watch until the server's EOF (at most the
        reply timeout): a byte after the reply stream is a deviation.  How and whether the
        server closes is close-on-eof's business, not judged here."""
        self.half_close(peer)
        try:
            pump(
                [peer.conn],
                lambda: peer.stream.state is State.CLOSED or peer.deviation is not None,
                self.timeouts.reply,
                time.monotonic() + self.timeouts.reply,
            )
        except Stalled:
            pass
        if peer.deviation is not None and peer.deviation.kind in (Kind.EXTRA, Kind.MISMATCH):
            self.check([peer], while_="after the client's half-close")

    def quiet(self, peers: Iterable[Peer], seconds: float | None = None) -> None:
        """Watch for `seconds` for bytes nobody asked for (extra replies, an early close)."""
        seconds = self.timeouts.settle if seconds is None else seconds
        self.run(peers, lambda: False, seconds + 1.0, "watching", time.monotonic() + seconds)

    # -- failing --------------------------------------------------------------------------

    def fail(
        self,
        summary: str,
        detail: str = "",
        deviation: tuple[str, Deviation] | None = None,
        not_judged: NotJudgedFor | None = None,
        cause: Cause | Kind | None = None,
    ) -> NoReturn:
        """Raise the verdict, with the evidence as text and as data (`deviation`: whose);
        `not_judged`: (the requirements, one of which the server fails first, why) for a check
        that cannot judge its own property; `cause`: what failed, where no deviation says so
        (the key of the failure's hint)."""
        parts = [detail, render_transcript(self.transcript), self.server.diagnostics()]
        streams = {p.name: p.stream for p in self.peers}
        data = details(self.transcript, streams, deviation, self.server.account())
        if cause is not None:
            data["cause"] = cause.value
        evidence = "\n".join(p for p in parts if p)
        ending = not (self.in_case or self.experimenting or self.server.alive())
        if not_judged is None and ending:
            not_judged = self.attribution.ended_by(self)
        if not_judged is None:
            not_judged = self.attribution.out_of_descriptors(self)
        if not_judged is not None and not_judged[0]:
            exc: NonConformance = NotJudged(*not_judged, summary, evidence, data)
        else:
            exc = NonConformance(summary, evidence, data)
        if self.keep_exchange:
            exc.exchange = (list(self.transcript.events), self.server.port)
        raise exc

    def _settle_exit(self) -> None:
        """A server that is crashing right now gets a moment to finish, so that its exit status
        and traceback make it into the evidence."""
        self.server.await_exit(0.2)

    def _server_state(self) -> str:
        return f"the server {self.server.exit_status()}"
