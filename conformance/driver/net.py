"""Client sockets for the checks: connect, write, read, half-close, reset.

This is the driver: it moves bytes and reports what happened (data, EOF, reset, a wait that ran
out) to whoever owns the connection.  It never decides what is correct.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

READ_SIZE = 65536
QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
CORK: int | None = getattr(socket, "TCP_CORK", None)  # Linux's (macOS: TCP_NOPUSH)
# A client that will stop reading, to bring about backpressure: its receive buffer (Linux
# doubles what is asked) bounds the window it advertises, and its segment size, announced in
# its SYN, bounds the send buffer the server's kernel sizes from the server's segments.
BACKPRESSURE_RCVBUF = 16384
BACKPRESSURE_MSS = 1024
TCP_INFO_RCV_WND = 232  # offset of tcpi_rcv_wnd in struct tcp_info (Linux 6.2 and later)


class Refused(Exception):
    """connect() failed: nobody listens, or the connect timed out."""


@dataclass
class Event:
    """One thing that happened on one connection, for transcripts."""

    t: float
    conn: str
    what: str  # connect, send, recv, shutdown, eof, reset-by-server, reset, close, timeout
    data: bytes = b""


def client_ports(events: Iterable[Event]) -> dict[str, int]:
    """Each connection's client port, as its connect event says."""
    ports = {}
    for ev in events:
        if ev.what == "connect" and ev.data.startswith(b"port "):
            ports[ev.conn] = int(ev.data.split()[1])
    return ports


@dataclass
class Transcript:
    started: float = field(default_factory=time.monotonic)
    events: list[Event] = field(default_factory=list)

    def add(self, conn: str, what: str, data: bytes = b"") -> None:
        self.events.append(Event(time.monotonic() - self.started, conn, what, data))


class ReceiveQueue(NamedTuple):
    """The client's side of a connection, as its kernel holds it."""

    unread: int  # reply bytes received, not yet read (SIOCINQ)
    rcvbuf: int  # the size of its receive buffer (SO_RCVBUF)
    window: int | None  # the receive window it last advertised (None: the kernel does not say)


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
        backpressure: bool = False,
    ) -> Conn:
        """Connect; `backpressure`: as a client that will stop reading (see narrow_window)."""
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        sock = new_socket(family)
        if backpressure:
            narrow_window(sock)
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
        # Its port, as a capture of the exchange shows it (and reports/pcap.py writes it).
        transcript.add(name, "connect", b"port %d" % sock.getsockname()[1])
        return cls(sock, name, transcript)

    @property
    def port(self) -> int:
        """The client's port: how the server's end of this connection is found."""
        return int(self.sock.getsockname()[1])

    def receive_queue(self) -> ReceiveQueue:
        """How full the client's receive buffer is: full, the server cannot send to it."""
        import fcntl  # Unix only, and checks run on Linux only: reports load this module too
        import termios

        unread = struct.unpack("i", fcntl.ioctl(self.sock, termios.FIONREAD, b"\0" * 4))[0]
        rcvbuf = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 512)
        window = None
        if len(info) >= TCP_INFO_RCV_WND + 4:
            (window,) = struct.unpack_from("=I", info, TCP_INFO_RCV_WND)
        return ReceiveQueue(unread, rcvbuf, window)

    @property
    def pending(self) -> int:
        return sum(map(len, self.outbox))

    def write(self, data: bytes) -> None:
        """Queue one client write; `pump` hands it to the kernel."""
        if data:
            self.outbox.append(memoryview(data))

    def cork(self) -> None:
        """Hold back partial segments (TCP_CORK) until the half-close, which then leaves with the
        last bytes in one segment: the server finds the EOF right behind them."""
        if CORK is not None:
            self.sock.setsockopt(socket.IPPROTO_TCP, CORK, 1)

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
            got = self._read_once()
            if got == 0:
                break
            moved = True
            if got < self.read_size:
                break  # a short read emptied the queue: no need to hear EAGAIN say so
        return moved

    def _read_once(self) -> int:
        """Bytes read (an EOF or a reset counts as one; 0: nothing there)."""
        try:
            data = self.sock.recv(self.read_size)
        except BlockingIOError:
            return 0
        except OSError as exc:
            self._broken(exc)
            return 1
        if not data:
            self.open = False
            self.outbox.clear()
            self.transcript.add(self.name, "eof")
            self.on_eof()
            return 1
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
        return len(data)

    def _broken(self, exc: OSError) -> None:
        self.open = False
        if exc.errno in (errno.ECONNRESET, errno.EPIPE):
            self.transcript.add(self.name, "reset-by-server")
            self.on_reset()
        else:
            raise exc


def narrow_window(sock: socket.socket) -> None:
    """Before connect: make this client's backpressure come after kilobytes, not megabytes.

    On loopback, autotuned buffers absorb megabytes: the client's receive buffer grows to
    tcp_rmem's maximum, and the server's kernel sizes its send buffer from its segments (about
    30 of them: 4 MiB of loopback's 64 KiB segments).  A fixed SO_RCVBUF keeps the window the
    client advertises at a few KiB, and a small TCP_MAXSEG, announced in the SYN, keeps the
    server's segments, and so its send buffer, to a few hundred KiB.  A correct server sees
    nothing but a slow reader; one that drops the rest of a short send() loses bytes."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BACKPRESSURE_RCVBUF)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, BACKPRESSURE_MSS)


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
    # poll(): no kernel object to make per call, no system call to (un)register a socket: a
    # round trip on one connection is a handful of system calls in all.
    poller = select.poll()
    watched: list[tuple[int, int]] = [(-1, 0)] * len(conns)  # per conn: (fd, events)
    by_fd: dict[int, Conn] = {}
    stop = float("inf") if until is None else until
    last_progress = time.monotonic()
    while not done():
        for i, c in enumerate(conns):
            fd = c.sock.fileno()
            want = 0
            if c.open and fd >= 0:
                want = (select.POLLOUT if c.outbox else 0) | (select.POLLIN if c.reading else 0)
            if watched[i] != (fd, want):
                _rewatch(poller, by_fd, watched[i][0], fd, want, c)
                watched[i] = (fd, want)
        now = time.monotonic()
        if now >= stop:
            return
        wait = last_progress + idle_timeout - now
        if wait <= 0:
            raise Stalled(f"no progress within {idle_timeout:g} s")
        wait = min(wait, stop - now, 0.05)
        if not by_fd:
            # Nothing to move: only time can make `done()` true.
            time.sleep(min(wait, 0.01))
            continue
        for fd, events in poller.poll(wait * 1000):
            c = by_fd[fd]
            # An error or a hang-up is news for both directions (what selectors does).
            if events & ~select.POLLIN and c.open and c.outbox and c._flush():
                last_progress = time.monotonic()
            if events & ~select.POLLOUT and c.open and c._read():
                last_progress = time.monotonic()


def _rewatch(
    poller: select.poll, by_fd: dict[int, Conn], old: int, fd: int, want: int, c: Conn
) -> None:
    if old >= 0 and by_fd.get(old) is c:
        poller.unregister(old)
        del by_fd[old]
    if want:
        poller.register(fd, want)
        by_fd[fd] = c


def raise_nofile(need: int) -> int:
    """The runner holds every client socket: raise its own descriptor limit towards `need`, as
    far as allowed (what a server may hold is the spec's, set apart).  The limit now."""
    import resource  # not on Windows, where the CLI must still import (platforms.py)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        soft = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return need if soft == resource.RLIM_INFINITY else soft
