"""The comparison's clients: many non-blocking sockets in one thread, driven by one poll().

This is the comparison's driver (as net.py is the checks'): it moves bytes, verifies every reply
byte against the transform of what was sent, and counts round trips.  It measures nothing and
judges no server: a wrong reply is kept for the workload to report.
"""

from __future__ import annotations

import errno
import select
import socket
import time
from collections.abc import Callable

from conformance.driver.launcher import Server
from conformance.driver.net import READ_SIZE, connect_nowait, disperse
from conformance.model import Transform, describe_byte
from conformance.session import PACE_QUEUE

STEP = 0.05  # longest poll() wait, so that time limits are looked at often enough


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class Pattern:
    """A client's request stream: one block, over and over; and its expected reply stream."""

    def __init__(self, block: bytes, transform: Transform) -> None:
        self.block = block
        self.period = len(block)
        # Long enough that any read (<= READ_SIZE bytes) at any offset is one slice of it.
        self.expected = transform(block) * (READ_SIZE // self.period + 2)

    def wrong(self, offset: int, data: bytes, sent: int) -> str:
        """What is wrong with `data` as the reply stream from `offset`, when `sent` bytes were
        sent in all ("" when nothing)."""
        fits = data[: max(0, sent - offset)]
        start = offset % self.period
        expected = self.expected[start : start + len(fits)]
        if fits != expected:
            i = next(i for i, (a, b) in enumerate(zip(fits, expected)) if a != b)
            return (
                f"wrong byte: reply byte at offset {offset + i} is {describe_byte(fits[i])}, "
                f"expected {describe_byte(expected[i])}"
            )
        if len(fits) < len(data):
            return f"extra bytes: {len(data) - len(fits)} reply byte(s) more than were sent"
        return ""


class Client:
    """One client connection: writes the pattern, verifies every reply byte as it arrives."""

    def __init__(self, sock: socket.socket, pattern: Pattern, name: str) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.pattern = pattern
        self.name = name
        self.outbox = memoryview(b"")
        self.sent = 0  # bytes the kernel took
        self.received = 0  # reply bytes, verified
        self.connected = False
        self.ended = ""  # how the connection ended, when it did: the server closed it, reset...
        self.wrong = ""  # the first wrong reply
        self.awaiting = False  # a request is out and its whole reply not yet in
        self.sent_at = 0.0  # perf_counter() when the request awaited was written
        self.replies = 0  # whole replies (round trips)
        self.mask = 0  # the poll() events it is registered for

    @property
    def done(self) -> bool:
        return bool(self.ended or self.wrong)

    def request(self) -> None:
        """Queue one block of the pattern and try to send it now."""
        if not self.outbox:
            self.outbox = memoryview(self.pattern.block)
            self.awaiting = True
            self.flush()

    def flush(self) -> None:
        if not self.outbox or self.done:
            return
        before = self.sent
        try:
            n = self.sock.send(self.outbox)
        except BlockingIOError:  # also a connect still in progress
            return
        except OSError as exc:
            self._end(exc)
            return
        self.connected = True
        if before == self.received:
            self.sent_at = time.perf_counter()
        self.sent += n
        self.outbox = self.outbox[n:]

    def read(self) -> None:
        if self.done:
            return
        try:
            data = self.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self._end(exc)
            return
        if not data:
            self.ended = "closed by the server"
            return
        self.connected = True
        wrong = self.pattern.wrong(self.received, data, self.sent)
        if wrong:
            self.wrong = f"{self.name}: {wrong}"
            return
        self.received += len(data)

    def reply_complete(self) -> bool:
        """True once, when the whole reply to the awaited request is in."""
        if self.awaiting and not self.outbox and self.received == self.sent and not self.done:
            self.awaiting = False
            self.replies += 1
            return True
        return False

    def _end(self, exc: OSError) -> None:
        if exc.errno == errno.ECONNREFUSED:
            self.ended = "refused"
        elif exc.errno in (errno.ECONNRESET, errno.EPIPE):
            self.ended = "reset by the server"
        else:
            self.ended = exc.strerror or str(exc)


class Crowd:
    """The clients of one workload against one server, driven by one poll() loop."""

    def __init__(self, server: Server, pattern: Pattern, accept_wait: float) -> None:
        self.server = server
        self.pattern = pattern
        self.accept_wait = accept_wait  # a connect waits this long for room in the accept queue
        self.clients: list[Client] = []
        self.poller = select.poll()
        self.by_fd: dict[int, Client] = {}
        self.full_since: float | None = None
        self.retry_at = 0.0
        self.gave_up = False  # the accept queue stayed full: connecting stopped
        self.finished = 0  # clients whose connection ended, or that got a wrong reply

    def add(self) -> Client | None:
        """Connect one more client (its connect runs on) if the server's accept queue has room;
        None if it has none, and after `accept_wait` seconds of none, `gave_up`."""
        now = time.monotonic()
        if now < self.retry_at:
            return None
        if not self._room():
            self.full_since = self.full_since or now
            self.gave_up = now - self.full_since > self.accept_wait
            self.retry_at = now + 0.002  # reading the accept queue costs up to a millisecond
            return None
        self.full_since = None
        sock = connect_nowait(self.server.address, self.server.new_socket)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = Client(sock, self.pattern, f"c{len(self.clients) + 1}")
        self.clients.append(client)
        self.by_fd[client.fd] = client
        client.mask = select.POLLIN | select.POLLOUT
        self.poller.register(client.fd, client.mask)
        return client

    def _room(self) -> bool:
        """Paced as a check's connects are (session.py): a small listen backlog is never overrun
        (a SYN it drops is retried only a second later), and clients are not piled up behind a
        server that has stopped accepting."""
        return self.server.kernel.queue_full(PACE_QUEUE) is None

    def step(self, timeout: float, react: Callable[[Client], None] = lambda c: None) -> None:
        """One poll(): move bytes on the clients that are ready, then let `react` act on each."""
        for fd, events in self.poller.poll(max(0.0, timeout) * 1000):
            client = self.by_fd[fd]
            if events & select.POLLOUT:
                if client.outbox:
                    client.flush()
                elif not events & (select.POLLERR | select.POLLHUP):
                    client.connected = True
            if events & ~select.POLLOUT:  # data, EOF, an error or a hang-up
                client.read()
            react(client)
            self.watch(client)

    def watch(self, client: Client) -> None:
        """Register `client` for what it waits on now."""
        want = 0
        if not client.done:
            # Until its connect completes, POLLOUT is what says so.
            out = client.outbox or not client.connected
            want = select.POLLIN | (select.POLLOUT if out else 0)
        if want == client.mask:
            return
        if not want:
            self.poller.unregister(client.fd)
            del self.by_fd[client.fd]
            self.finished += 1
        else:
            self.poller.modify(client.fd, want)
        client.mask = want

    def drive(
        self,
        clients: int,
        deadline: float,
        enough: Callable[[], bool],
        begin: Callable[[Client], None],
        react: Callable[[Client], None],
    ) -> str:
        """Connect up to `clients` clients (paced; each `begin`s at once) while moving bytes,
        until `enough()`, the deadline, a wrong reply, every client ended or the server exited.
        Returns why it stopped: "enough", "time", "wrong", "ended" or "exited"."""
        next_look = 0.0
        while True:
            now = time.monotonic()
            if self.wrong:
                return "wrong"
            if now >= deadline:
                return "time"
            if now >= next_look:  # every 0.1 s: has the server exited?
                next_look = now + 0.1
                if not self.server.alive():
                    self.step(0, react)  # what it sent before it went
                    return "exited"
            connecting = len(self.clients) < clients and not self.gave_up
            if connecting:
                client = self.add()
                if client is not None:
                    begin(client)
                    self.watch(client)
                    self.step(0, react)
                    continue
            elif enough():
                return "enough"
            elif all(c.done for c in self.clients):
                return "ended"
            self.step(min(0.002 if connecting else STEP, deadline - now), react)

    @property
    def wrong(self) -> str:
        return next((c.wrong for c in self.clients if c.wrong), "")

    def served(self) -> int:
        return sum(c.replies > 0 for c in self.clients)

    def connected(self) -> int:
        return sum(c.connected for c in self.clients)

    def endings(self) -> list[str]:
        """How connections ended, counted: "3 connections closed by the server"."""
        counts: dict[str, int] = {}
        for c in self.clients:
            if c.ended:
                counts[c.ended] = counts.get(c.ended, 0) + 1
        return [f"{plural(n, 'connection')} {what}" for what, n in counts.items()]

    def close(self) -> None:
        disperse(c.sock for c in self.clients)  # resets: no TIME_WAIT left on either side
        self.clients.clear()
