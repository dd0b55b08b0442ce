"""Whose property a deviation shows: one defect, one failed requirement.

A check judges its own property and nothing else it can avoid judging.  When it sees a
deviation that shows another requirement's property (bytes added: stream's; a connection that
waits in the accept queue of a server holding none: listen's), it is *not judged*, for want of
that requirement; the reports keep, of the requirements named, those the server did fail, and
turn the rest back into this check's fail (report.Report.settle).  Where the deviation alone does
not tell, new probe connections do, each in the transcript:

- a missing reply: a new connection sent b"hello" unanswered too: no connection is (prompt's,
  or many-connections'); the half-close brings the reply: held for more input (prompt's);
- a missing reply or a close: the same request stream replayed on a new connection, read at
  once.  Answered (or left open), the deviation came from the situation (other clients, not
  reading): the check's own, or persist's for a server that closed first.  Lost or closed
  again: a connection sent b"hello" (closed too: many-connections' or persist's) and one sent
  the byte values of the request stream (a byte value's answer: upper's) tell; else its volume
  or order does it (stream's for a loss, persist's for a close);
- a close on a half-close that a replay, never half-closed, does not see: close-on-eof's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conformance.driver.net import Refused, Stalled, pump
from conformance.model import Kind, State
from conformance.outcome import NonConformance
from conformance.prerequisites import NotJudgedFor
from conformance.session import Peer, Session

if TYPE_CHECKING:
    from conformance.driver.launcher import Server

PROBE_QUIET = 0.1  # seconds a probe connection is watched after its replies, for a close
MAX_ROUND_TRIPS = 64  # plain round trips, at most, to see if a server ends after so many
# The checks that hold many clients at once: a server that ends or runs out of descriptors
# there does so in their own situation.
CROWDING = ("capacity", "survive-fd-limit")

def prerequisite(s: Session, peer: Peer) -> NotJudgedFor | None:
    """The requirements whose property `peer`'s deviation shows, if not this check's own.  A
    server that has ended is judged apart (ended_by; endings.py)."""
    pre, deviation = s.prerequisites, peer.deviation
    if deviation is None or not s.server.alive():
        return None
    kind, why = deviation.kind, f"{peer.name}: {deviation.kind.value}"
    if kind is Kind.MISSING:
        if stuck := accepts_none(s, f"{peer.name} waits in the accept queue"):
            return stuck
        if not probe(s, "hello", [b"hello"]).answered:  # no connection is answered, now
            how = "a new connection sent b'hello' is not answered either"
            return pre.needs("prompt", "many-connections"), f"{why}: {how}"
        if pre.needs("prompt") and answered_at_half_close(s, peer):
            return pre.needs("prompt"), f"{peer.name}'s replies came only at its half-close"
    if kind is Kind.RESET:  # an abortive close: first, or on half-close without flushing
        kind = Kind.UNFLUSHED_CLOSE if peer.half_closed else Kind.EARLY_CLOSE
    if kind in (Kind.MISSING, Kind.EARLY_CLOSE, Kind.UNFLUSHED_CLOSE):
        by, how = _replayed(s, peer, kind)
        needs = pre.needs(*by)
        return (needs, f"{why}: {how}") if needs else None
    needs = pre.owning(kind)
    return (needs, why) if needs else None


def accepts_none(s: Session, what: str) -> NotJudgedFor | None:
    """Connections wait in the accept queue of a live server that holds none it accepted: it
    does not accept (out of descriptors, leaked: out_of_descriptors; never: listen's property;
    no more: many-connections')."""
    if leak := out_of_descriptors(s):
        return leak
    needs = s.prerequisites.needs("listen", "many-connections")
    if needs and s.server.alive() and s.server.kernel.accepts_nothing():
        return needs, f"{what}: the server accepts none"
    return None


def refused_by(s: Session) -> NotJudgedFor | None:
    """A connect refused by a server still running: it closed its listening socket, after a
    client's reset or after so many connections."""
    if not s.server.alive():
        return None  # it ended: ended_by
    if _reset_seen(s):
        return s.prerequisites.needs("survive-reset"), "it stopped listening after a client reset"
    return s.prerequisites.needs("many-connections"), "it stopped listening"


def ended_by(s: Session) -> NotJudgedFor:
    """The requirements a server that ended during a stateful session fails, by experiment on
    the server started again: serving connection after connection, if as many plain round trips
    end it; answering a byte value, if the byte values the session sent end it.  Else surviving
    a client's reset, if one reset (in a crowd: the crowd's own situation); else serving
    connection after connection.  (A Hypothesis case is judged by whether it ends a fresh
    server: endings.py.)"""
    ended = f"the server {s.server.exit_status()}"
    n = min(s.server.connections, MAX_ROUND_TRIPS)
    values = bytes(sorted(set().union(*(p.stream.sent_values() for p in s.peers))))
    if ends_after(s.server, lambda: round_trips(s, n), s.timeouts.reply):
        how = f"{ended}; started again, it ends after {n} plain round trips too"
        return s.prerequisites.needs("many-connections"), how
    if values and ends_after(s.server, lambda: round_trips(s, 1, values), s.timeouts.reply):
        how = f"{ended}; started again, answering the {len(values)} byte values sent ends it"
        return s.prerequisites.needs("transform"), how
    if s.prerequisites.own in CROWDING:  # many clients at once: its own situation
        return (), ended
    if _reset_seen(s):
        return s.prerequisites.needs("survive-reset"), f"{ended} after a client reset"
    connections = s.server.connections
    return s.prerequisites.needs("many-connections"), f"{ended} after {connections} connections"


def out_of_descriptors(s: Session) -> NotJudgedFor | None:
    """A live server holding every descriptor it may while our clients hold few: it leaks them
    (per connection: many-connections'; per reset: survive-reset's)."""
    if s.prerequisites.own in CROWDING or not s.server.alive():
        return None  # those bring it about on purpose
    fullest = s.server.kernel.descriptors()
    clients = sum(p.conn.open for p in s.peers)
    if fullest is None or fullest[0] < fullest[1] or clients * 2 > fullest[1]:
        return None
    how = f"it holds all its {fullest[1]} descriptors, with {clients} clients connected"
    checks = ("survive-reset", "many-connections") if _reset_seen(s) else ("many-connections",)
    return s.prerequisites.needs(*checks), how


def answered_at_half_close(s: Session, peer: Peer) -> bool:
    """Does the reply owed to `peer`, which is not coming, come once it half-closes?  Then the
    server waits for more input before answering: it is not prompt."""
    missing = peer.deviation
    if missing is None or peer.conn.outbox or peer.stream.state is not State.OPEN:
        return False
    peer.deviation = None
    peer.half_close()
    seconds = s.timeouts.reply
    try:
        pump([peer.conn], lambda: peer.settled or peer.deviation is not None, seconds)
    except Stalled:
        pass
    answered = peer.deviation is None and peer.settled
    peer.deviation = missing
    return answered


@dataclass
class Probe:
    """What a probe connection saw: every reply, and whether the server closed it."""

    answered: bool = False
    closed: bool = False


def _replayed(s: Session, peer: Peer, kind: Kind) -> tuple[tuple[str, ...], str]:
    """(the check procedures whose property it is, root cause first, none for this check's
    own; how we know) for a reply missing or a connection closed, replaying `peer`'s request
    stream on a new connection."""
    closing = kind is not Kind.MISSING
    replay = probe(s, "replay", peer.stream.sent_pieces())
    if not closing and replay.answered:
        return (), "replayed on a new connection, it is answered"
    if closing and not replay.closed:
        if kind is Kind.EARLY_CLOSE:
            return ("persist",), "closed first (a replay stays open)"
        if replay.answered:
            return ("close-on-eof",), "replayed, never half-closed, it stays open and is answered"
        closing = False  # the replies it owed are lost, half-close or not

    def fails(p: Probe) -> bool:
        return p.closed if closing else not p.answered

    if closing and fails(probe(s, "hello", [b"hello"])):  # every connection: none kept open
        return ("many-connections", "persist"), "a new connection sent b'hello' is closed too"
    if fails(probe(s, "values", [peer.stream.sent_values()])):
        return ("transform",), "answering a byte value it sent does it, on any connection"
    if closing:
        return ("persist",), "a replay is closed too, and a connection sent b'hello' is not"
    return ("stream",), "replies to this request stream are lost, replayed on a new connection too"


def probe(s: Session, name: str, pieces: list[bytes]) -> Probe:
    """A new connection, sent `pieces` and reading every reply (by the reply timeout of no
    progress), watched a moment longer for a close.  Not judged: only what it saw."""
    seen = Probe()
    try:
        conn = s.dial(name)
    except (NonConformance, Refused):
        return seen
    owed = sum(map(len, pieces))

    def on_data(reply: bytes) -> None:
        nonlocal owed
        owed -= len(reply)
        seen.answered = owed <= 0

    def on_close() -> None:
        seen.closed = True

    def watch(done: Callable[[], bool], seconds: float, until: float | None = None) -> None:
        try:
            pump([conn], done, seconds, until)
        except Stalled:
            pass

    conn.on_data, conn.on_eof, conn.on_reset = on_data, on_close, on_close
    for piece in pieces:
        conn.write(piece)
    watch(lambda: seen.closed or seen.answered, s.timeouts.reply)
    watch(lambda: seen.closed, PROBE_QUIET, time.monotonic() + PROBE_QUIET)
    conn.close()
    return seen


def ends_after(server: Server, step: Callable[[], None], wait: float) -> bool:
    """Started again, does the server end after `step` (within `wait` seconds)?  What the step
    saw is not the question, only whether the server ends."""
    server.restart()
    try:
        step()
    except NonConformance:
        pass
    return server.await_exit(wait)


def round_trips(s: Session, n: int, data: bytes = b"hello") -> None:
    """`n` plain round trips, a connection each: an experiment, whose failure is only data (it
    starts no experiment of its own)."""
    was, s.experimenting = s.experimenting, True
    try:
        for i in range(n):
            peer = s.connect(f"again{i + 1}")
            peer.write(data)
            s.replies(peer)
            peer.conn.close()
    finally:
        s.experimenting = was


def _reset_seen(s: Session) -> bool:
    return any(event.what == "reset" for event in s.transcript.events)


class Experiments:
    """The Session's attribution (session.Attribution): by probe connections and experiments
    on the server started again, as above."""

    def prerequisite(self, s: Session, peer: Peer) -> NotJudgedFor | None:
        return prerequisite(s, peer)

    def accepts_none(self, s: Session, what: str) -> NotJudgedFor | None:
        return accepts_none(s, what)

    def refused_by(self, s: Session) -> NotJudgedFor | None:
        return refused_by(s)

    def ended_by(self, s: Session) -> NotJudgedFor | None:
        return ended_by(s)

    def out_of_descriptors(self, s: Session) -> NotJudgedFor | None:
        return out_of_descriptors(s)
