"""Backpressure, brought about and shown: a client that stops reading until the server holds
reply bytes it cannot send, and the kernel's word that it did.

A check that claims backpressure (a server's send() came back short, or would block) connects
that client with a narrow window (Session.connect(backpressure=True), net.narrow_window), stops
reading, and then reads both ends of the connection: the server's send queue holding bytes while
the client's receive window is zero.  That reading goes into the transcript; a check that could
not bring it about ends in an error, never a pass.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from conformance.driver.net import BACKPRESSURE_MSS, Conn, ReceiveQueue
from conformance.outcome import RunnerError
from conformance.session import Peer, Session

POLL = 0.005  # seconds between readings of the queues while waiting for backpressure


class Backpressure(NamedTuple):
    """Both ends of one connection while its client is not reading."""

    unsent: int | None  # reply bytes in the server's send queue (None: it cannot be read)
    window: int | None  # the client's receive window: as the server sees it, else as advertised
    client: ReceiveQueue

    @property
    def held(self) -> bool:
        """Does the server hold reply bytes that it cannot send, the client's buffer full?  (A
        window of less than a segment is closed too: the server waits for it to open.)"""
        if not self.unsent:
            return False
        if self.window is not None:
            return self.window < BACKPRESSURE_MSS
        return self.client.unread * 2 >= self.client.rcvbuf

    def __str__(self) -> str:
        unsent = "unreadable" if self.unsent is None else f"{self.unsent} bytes"
        window = "unknown" if self.window is None else str(self.window)
        return (
            f"server send queue {unsent}, client window {window} ({self.client.unread} bytes "
            f"unread in the client's {self.client.rcvbuf}-byte receive buffer)"
        )


def observe(session: Session, conn: Conn) -> Backpressure:
    """Read both ends of `conn` now."""
    client = conn.receive_queue()
    server = session.server.kernel.connection_queues(conn.port)
    if server is None:
        return Backpressure(None, client.window, client)
    window = server.window if server.window is not None else client.window
    return Backpressure(server.unsent, window, client)


def await_backpressure(session: Session, peer: Peer, limit: float) -> Backpressure | None:
    """Go on writing what is queued to `peer`, reading nothing, until the server holds reply
    bytes it cannot send (for at most `limit` seconds: a slow server gets there late), and note
    the reading in the transcript.  None if it never came about: the caller, once it has judged
    what it could, raises `unreached`'s error."""
    peer.conn.reading = False
    deadline = time.monotonic() + limit
    while True:
        seen = observe(session, peer.conn)
        if seen.held or not peer.conn.open or time.monotonic() >= deadline:
            break
        if not session.server.alive():  # a client that reads nothing would not see it end
            break
        session.quiet([peer], POLL)
    what = "backpressure" if seen.held else "no backpressure"
    session.transcript.add(peer.name, what, str(seen).encode())
    return seen if seen.held else None


def read_slice(session: Session, peer: Peer, count: int) -> None:
    """`peer` reads `count` more reply bytes, then stops reading again: a slow reader, which
    wakes the server to send it more than it then takes."""
    peer.conn.reading = True
    until = peer.stream.received + count
    done = lambda: peer.stream.received >= until or peer.settled  # noqa: E731
    session.run([peer], done, session.timeouts.reply, "reading a slice of its replies")
    peer.conn.reading = False


def unreached(session: Session, peer: Peer, when: str) -> RunnerError:
    """The error of a check whose client `peer` could not bring about backpressure `when`,
    with the last reading of its connection (an error carries no transcript)."""
    readings = [
        e.data
        for e in session.transcript.events
        if e.conn == peer.name and e.what in ("backpressure", "no backpressure")
    ]
    last = readings[-1].decode() if readings else "none"
    return RunnerError(
        f"it could not bring about backpressure {when}: {peer.name} stopped reading, but the "
        f"server never held reply bytes it could not send (last reading: {last}); where the "
        "server's send queue cannot be read (no sock_diag, no /proc/PID/net/tcp), run the check "
        "where it can"
    )
