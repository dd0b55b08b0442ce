"""The protocol model, sans-IO: given what a client sent, what may it receive next?

Pure functions and small state machines over bytes; nothing here touches a socket or a clock.
The driver feeds it what happened (sent, received, EOF, reset, a wait that ran out) and it answers
with a Deviation when that was not allowed.
"""

from __future__ import annotations

import bisect
import weakref
from dataclasses import dataclass, field
from enum import Enum

from conformance.spec import ByteRange, Spec


class Transform:
    """The byte transform a spec declares as ranges and offsets, as a 256-entry table."""

    def __init__(self, ranges: tuple[ByteRange, ...]) -> None:
        table = bytearray(range(256))
        for r in ranges:
            for b in range(r.first, r.last + 1):
                table[b] = b + r.offset
        self.table = bytes(table)

    @classmethod
    def of(cls, spec: Spec) -> Transform:
        return cls(spec.transform)

    def __call__(self, data: bytes) -> bytes:
        return data.translate(self.table)

    @property
    def changed(self) -> bytes:
        """The byte values the transform does not echo as they are."""
        return bytes(b for b in range(256) if self.table[b] != b)

    version = 0  # how many times the table changed (a LearnedTransform learns)

    def watch(self, stream: ReplyStream) -> None:
        """A reply stream judged by this transform was opened."""

    def learn(self, sent: int, answer: int) -> bool:
        """The server answered the byte value `sent` with `answer`, not with the table's image:
        may the table take it?  The spec's transform takes no other answer."""
        return False

    def expectation(self, sent: int) -> str:
        """Why the reply to the byte value `sent` is expected to be what the table says."""
        return f"the image of the sent byte {describe_byte(sent)}"


class LearnedTransform(Transform):
    """The spec's transform, except where the server consistently answers a byte value with
    another byte: learned within one check, so that a check other than the mapping's own
    judges its property, not the mapping again (a server that does not uppercase `z` fails
    `upper`, and only `upper`).  Anything lost, added, duplicated or reordered still shows:
    a learned answer is one byte for one byte value, the same every time."""

    def __init__(self, ranges: tuple[ByteRange, ...]) -> None:
        super().__init__(ranges)
        self.learned: dict[int, int] = {}
        self._streams: weakref.WeakSet[ReplyStream] = weakref.WeakSet()

    def watch(self, stream: ReplyStream) -> None:
        self._streams.add(stream)

    def learn(self, sent: int, answer: int) -> bool:
        """Take `answer` as this server's image of `sent`, unless it answered `sent` otherwise
        before (in a reply stream of this check still held)."""
        if sent in self.learned or any(s.answered_contains(sent) for s in self._streams):
            return False
        self.learned[sent] = answer
        table = bytearray(self.table)
        table[sent] = answer
        self.table = bytes(table)
        self.version += 1
        return True

    def expectation(self, sent: int) -> str:
        shown = describe_byte(sent)
        if sent in self.learned:
            return f"this server's own answer to the sent byte {shown}, earlier in this check"
        return (
            f"the image of the sent byte {shown}, as this server answered it earlier in this check"
        )


class Kind(str, Enum):
    """What went wrong, in the protocol's words."""

    MISMATCH = "wrong byte"
    EXTRA = "extra bytes"
    MISSING = "missing reply"
    EARLY_CLOSE = "server closed first"
    UNFLUSHED_CLOSE = "closed without flushing"
    NO_CLOSE = "no close after half-close"
    RESET = "connection reset by server"
    REFUSED = "connection refused"


@dataclass(frozen=True)
class Deviation:
    kind: Kind
    message: str
    offset: int | None = None  # offset in the reply stream of the first wrong byte
    expected: bytes = b""  # a window of the expected stream at `offset`
    received: bytes = b""  # the same window of what was received


WINDOW = 16  # bytes of context shown around a first difference


class State(str, Enum):
    OPEN = "open"  # both directions open
    HALF_CLOSED = "half-closed"  # the client shut down its sending side
    CLOSED = "closed"  # the server closed (EOF seen) or a reset ended it


@dataclass(eq=False)  # compared by identity: held in a WeakSet
class ReplyStream:
    """One connection's request and reply streams, and what the client may observe next.

    The reply stream must be a prefix of transform(request stream) until the client half-closes;
    after that the server owes the rest and then an EOF.
    """

    transform: Transform
    sent: int = 0  # request bytes sent so far
    received: int = 0  # reply bytes so far (each equal to the expected one, until a deviation)
    state: State = State.OPEN
    # transform(request stream), kept as bytes are sent: each reply byte is then compared, not
    # recomputed.  The request stream itself is kept as the sent pieces (no copy), with where
    # each one ends, for naming the sent byte behind a wrong reply.
    _expected: bytearray = field(default_factory=bytearray)
    _pieces: list[bytes] = field(default_factory=list)
    _ends: list[int] = field(default_factory=list)
    _recent: bytes = b""  # the last WINDOW reply bytes, context for a difference that follows
    _matched: int = 0  # reply bytes compared and found right: the first `_matched` sent bytes
    # are answered as the transform's table says
    _version: int = 0  # the transform's version that _expected was translated with

    def __post_init__(self) -> None:
        self._version = self.transform.version
        self.transform.watch(self)

    @property
    def owed(self) -> int:
        """Bytes of reply the server still owes."""
        return self.sent - self.received

    def on_send(self, data: bytes) -> None:
        assert self.state is State.OPEN, "a client sends only while its side is open"
        self.sent += len(data)
        self._pieces.append(data)
        self._ends.append(self.sent)
        self._expected += self.transform(data)

    def on_half_close(self) -> None:
        if self.state is State.OPEN:
            self.state = State.HALF_CLOSED

    def on_receive(self, data: bytes) -> Deviation | None:
        """Reply bytes arrived: they must continue the expected stream."""
        start, recent = self.received, self._recent
        self.received += len(data)
        self._recent = data[-WINDOW:] if len(data) >= WINDOW else (recent + data)[-WINDOW:]
        self._refresh()
        expected = self._expected[start : start + len(data)]
        while data[: len(expected)] != expected:
            first = next(i for i, (w, g) in enumerate(zip(expected, data)) if w != g)
            self._matched = offset = start + first
            if not self.transform.learn(self._sent_byte(offset), data[first]):
                return self._difference(offset, recent + data, start - len(recent))
            self._refresh()
            expected = self._expected[start : start + len(data)]
        self._matched = start + len(expected)
        if len(data) > len(expected):
            offset = start + len(expected)
            extra = len(data) - len(expected)
            return Deviation(
                Kind.EXTRA,
                f"{extra} byte(s) more than were sent to be answered, from offset {offset}",
                offset,
                b"",
                data[len(expected) : len(expected) + WINDOW],
            )
        return None

    def sent_pieces(self) -> list[bytes]:
        """The request stream, as it was sent."""
        return list(self._pieces)

    def sent_values(self) -> bytes:
        """Every byte value sent, once each."""
        return bytes(sorted(set().union(*map(set, self._pieces))))

    def answered_contains(self, value: int) -> bool:
        """Was the byte value `value` sent and answered (as the table says) in this stream?"""
        needle, end = bytes([value]), self._matched
        i = bisect.bisect_right(self._ends, end)
        start = self._ends[i - 1] if i else 0
        whole = any(needle in piece for piece in self._pieces[:i])
        return whole or (i < len(self._pieces) and needle in self._pieces[i][: end - start])

    def _refresh(self) -> None:
        """The transform learned an answer since: what is still owed is expected anew."""
        if self._version != self.transform.version:
            self._version = self.transform.version
            self._expected[self._matched :] = self.transform(self._request_from(self._matched))

    def _request_from(self, offset: int) -> bytes:
        i = bisect.bisect_right(self._ends, offset)
        if i == len(self._pieces):
            return b""
        start = self._ends[i - 1] if i else 0
        return b"".join([self._pieces[i][offset - start :], *self._pieces[i + 1 :]])

    def on_eof(self) -> Deviation | None:
        """The server closed its side."""
        was, self.state = self.state, State.CLOSED
        if was is State.OPEN:
            return Deviation(
                Kind.EARLY_CLOSE,
                f"the server closed the connection while the client's side was open "
                f"({self.received} of {self.sent} reply bytes received)",
                self.received,
            )
        if self.owed:
            return self._owed(Kind.UNFLUSHED_CLOSE, "the server closed its side before sending")
        return None

    def on_reset(self) -> Deviation:
        """The server reset the connection: never allowed."""
        self.state = State.CLOSED
        return self._owed(Kind.RESET, "the server reset the connection", always=True)

    def on_timeout(self, seconds: float) -> Deviation | None:
        """A wait for what is owed ran out.  Owing nothing but an EOF is a deviation only after
        a half-close."""
        if self.owed:
            return self._owed(Kind.MISSING, f"no reply within {seconds:g} s; still waiting for")
        if self.state is State.HALF_CLOSED:
            return Deviation(
                Kind.NO_CLOSE,
                f"every reply arrived but the server did not close its side within "
                f"{seconds:g} s of the client's half-close",
                self.received,
            )
        return None

    @property
    def complete(self) -> bool:
        """Everything owed has arrived (and, after a half-close, the EOF too)."""
        if self.state is State.HALF_CLOSED:
            return False
        return self.owed == 0

    def _owed(self, kind: Kind, what: str, always: bool = False) -> Deviation:
        n = self.owed
        tail = f" {n} owed byte(s) (received {self.received} of {self.sent})"
        if not n and always:
            tail = f" (all {self.sent} reply bytes had arrived)"
        off = self.received
        return Deviation(kind, what + tail, off, bytes(self._expected[off : off + WINDOW]), b"")

    def _sent_byte(self, offset: int) -> int:
        i = bisect.bisect_right(self._ends, offset)
        start = self._ends[i - 1] if i else 0
        return self._pieces[i][offset - start]

    def _difference(self, offset: int, received: bytes, at: int) -> Deviation:
        """The first wrong reply byte is at `offset`; `received` holds the reply bytes from
        offset `at` on, through it."""
        lo = max(at, offset - WINDOW // 2)
        return Deviation(
            Kind.MISMATCH,
            f"reply byte at offset {offset} is {describe_byte(received[offset - at])}, "
            f"expected {describe_byte(self._expected[offset])} "
            f"({self.transform.expectation(self._sent_byte(offset))})",
            offset,
            bytes(self._expected[lo : lo + WINDOW]),
            received[lo - at : lo - at + WINDOW],
        )


def describe_byte(b: int) -> str:
    shown = chr(b) if 0x20 <= b < 0x7F else None
    return f"0x{b:02X} {shown!r}" if shown else f"0x{b:02X}"
