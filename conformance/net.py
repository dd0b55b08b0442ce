"""Client sockets for the checks: connect, write, read, half-close, reset.

This is the driver: it moves bytes and reports what happened (data, EOF, reset, a wait that ran
out) to whoever owns the connection.  It never decides what is correct.
"""

from __future__ import annotations

import errno
import selectors
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

READ_SIZE = 65536
QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class Refused(Exception):
    """connect() failed: nobody listens, or the connect timed out."""


@dataclass
class Event:
    """One thing that happened on one connection, for transcripts."""

    t: float
    conn: str
    what: str  # connect, send, recv, shutdown, eof, reset-by-server, reset, close, timeout
    data: bytes = b""


@dataclass
class Transcript:
    started: float = field(default_factory=time.monotonic)
    events: list[Event] = field(default_factory=list)

    def add(self, conn: str, what: str, data: bytes = b"") -> None:
        self.events.append(Event(time.monotonic() - self.started, conn, what, data))


class Conn:
    """A non-blocking client connection with a write queue.

    `on_data`, `on_eof` and `on_reset` are called as things arrive; `reading` gates reads so a
    check can stop reading for a while (backpressure).
    """

    def __init__(self, sock: socket.socket, name: str, transcript: Transcript) -> None:
        self.sock = sock
        self.name = name
        self.transcript = transcript
        self.outbox: list[memoryview] = []  # each item is one send() the client makes
        self.reading = True
        self.read_size = READ_SIZE
        self._fd = -1  # the descriptor pump registered (the socket may be closed since)
        self.open = True  # neither EOF nor reset seen yet
        self.on_sent: Callable[[bytes], None] = lambda data: None
        self.on_data: Callable[[bytes], None] = lambda data: None
        self.on_eof: Callable[[], None] = lambda: None
        self.on_reset: Callable[[], None] = lambda: None

    @classmethod
    def connect(
        cls,
        address: tuple[str, int],
        name: str,
        transcript: Transcript,
        timeout: float,
        new_socket: Callable[[int], socket.socket],
    ) -> Conn:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        sock = new_socket(family)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
            transcript.add(name, "refused", reason.encode())
            raise Refused(f"connect to {address[0]}:{address[1]} failed: {reason}") from None
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transcript.add(name, "connect")
        return cls(sock, name, transcript)

    @property
    def pending(self) -> int:
        return sum(map(len, self.outbox))

    def write(self, data: bytes) -> None:
        """Queue one client write; `pump` hands it to the kernel."""
        if data:
            self.outbox.append(memoryview(data))

    def half_close(self) -> None:
        """shutdown(SHUT_WR): the client will send nothing more."""
        self.transcript.add(self.name, "shutdown")
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def reset(self) -> None:
        """Abort with an RST (SO_LINGER 0), as a crashing or impatient client does."""
        if self.sock.fileno() < 0:
            return
        self.transcript.add(self.name, "reset")
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
        self.open = False

    def close(self) -> None:
        """End as a polite client does, with a FIN.  If the server closed first, end with an RST
        instead: that spares its side the TIME_WAIT that would hold a fixed port for a minute."""
        if self.sock.fileno() >= 0:
            if not self.open or self._eof_pending():
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        self.open = False

    def _eof_pending(self) -> bool:
        """Has the server closed, unread by us?"""
        try:
            return self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    # -- called by pump -------------------------------------------------------------------

    def _flush(self) -> bool:
        moved = False
        while self.outbox:
            chunk = self.outbox[0]
            try:
                n = self.sock.send(chunk)
            except BlockingIOError:
                break
            except OSError as exc:
                self.outbox.clear()
                self._broken(exc)
                return True
            moved = True
            sent = bytes(chunk[:n])
            self.transcript.add(self.name, "send", sent)
            self.on_sent(sent)
            if n < len(chunk):
                self.outbox[0] = chunk[n:]
                break
            self.outbox.pop(0)
        return moved

    def _read(self) -> bool:
        """Read what is there (a few reads at most, to stay fair to other connections)."""
        moved = False
        for _ in range(16):
            if not self.open or not self.reading:
                break
            if not self._read_once():
                break
            moved = True
        return moved

    def _read_once(self) -> bool:
        try:
            data = self.sock.recv(self.read_size)
        except BlockingIOError:
            return False
        except OSError as exc:
            self._broken(exc)
            return True
        if not data:
            self.open = False
            self.outbox.clear()
            self.transcript.add(self.name, "eof")
            self.on_eof()
            return True
        self.transcript.add(self.name, "recv", data)
        self.on_data(data)
        # ACK at once: a delayed ACK would hold a server's next small reply behind Nagle's
        # algorithm for ~40 ms, which makes a correct server look slow.  Linux resets this
        # flag by itself, hence after every read.
        if QUICKACK is not None:
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
            except OSError:
                pass
        return True

    def _broken(self, exc: OSError) -> None:
        self.open = False
        if exc.errno in (errno.ECONNRESET, errno.EPIPE):
            self.transcript.add(self.name, "reset-by-server")
            self.on_reset()
        else:
            raise exc


def connect_nowait(
    address: tuple[str, int], new_socket: Callable[[int], socket.socket]
) -> socket.socket:
    """A connect started and not waited for (a server out of descriptors may leave it pending)."""
    sock = new_socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
    sock.setblocking(False)
    sock.connect_ex(address)
    return sock


def disperse(socks: Iterable[socket.socket]) -> None:
    """Reset every socket (no TIME_WAIT left behind on either side)."""
    for sock in socks:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


class Stalled(Exception):
    """No byte moved on any connection for the given time, and the goal was not reached."""


def pump(
    conns: Iterable[Conn],
    done: Callable[[], bool],
    idle_timeout: float,
    until: float | None = None,
) -> None:
    """Move bytes on `conns` until `done()` or the monotonic time `until`; raise Stalled after
    `idle_timeout` without progress.

    Reads and writes are interleaved, so a client that writes a lot never deadlocks a correct
    server that blocks on sending while the client is not reading.
    """
    conns = list(conns)
    sel = selectors.DefaultSelector()
    masks: dict[int, int] = {}
    stop = float("inf") if until is None else until
    try:
        last_progress = time.monotonic()
        while not done():
            for c in conns:
                fd = c.sock.fileno()
                want = 0
                if c.open and fd >= 0:
                    want = (selectors.EVENT_WRITE if c.outbox else 0) | (
                        selectors.EVENT_READ if c.reading else 0
                    )
                _watch(sel, masks, c, fd, want)
            now = time.monotonic()
            if now >= stop:
                return
            wait = last_progress + idle_timeout - now
            if wait <= 0:
                raise Stalled(f"no progress within {idle_timeout:g} s")
            wait = min(wait, stop - now, 0.05)
            if not masks:
                # Nothing to move: only time can make `done()` true.
                time.sleep(min(wait, 0.01))
                continue
            for key, mask in sel.select(wait):
                c = key.data
                if mask & selectors.EVENT_WRITE and c.open and c._flush():
                    last_progress = time.monotonic()
                if mask & selectors.EVENT_READ and c.open and c._read():
                    last_progress = time.monotonic()
    finally:
        sel.close()


def _watch(sel: selectors.BaseSelector, masks: dict[int, int], c: Conn, fd: int, want: int) -> None:
    """Keep `sel` watching `fd` for `want` (0: not at all), touching it only on a change."""
    key = id(c)
    have = masks.get(key, 0)
    if want == have:
        return
    if have:
        try:
            sel.unregister(c._fd)
        except (KeyError, ValueError):
            pass
        del masks[key]
    if want:
        c._fd = fd
        sel.register(fd, want, c)
        masks[key] = want
