"""The exchange benchmark's measuring loops, each side of each workload: through the suite's
driver (Session, Peer, pump: what the checks use), and with a bare socket doing the same
exchanges, each reply compared with the transform of what was sent, as the driver does."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from conformance.checks.context import round_trip
from conformance.driver.launcher import Server
from conformance.driver.net import READ_SIZE
from conformance.model import Transform
from conformance.payload import block
from conformance.session import Session
from conformance.spec import Spec

MIB = 1 << 20
Address = tuple[str, int]


class BenchError(Exception):
    """The server could not be used, or a bare loop saw a wrong reply."""


@dataclass
class Rate:
    """Exchanges (round trips or connections) and reply bytes over seconds."""

    exchanges: int
    reply_bytes: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.exchanges / self.seconds if self.seconds > 0 else 0.0

    @property
    def mib_per_second(self) -> float:
        return self.reply_bytes / MIB / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Workload:
    name: str
    unit: str  # what `Rate.exchanges` counts, per second
    size: int  # bytes per message (small) or per write (stream)
    count: int  # round trips, connections, or writes
    seconds: float  # at most this long, whatever the count
    goal: bool = True  # held to the harness/bare goal


def timed(w: Workload, exchange: Callable[[int], None]) -> Rate:
    """`exchange(n)` for n = 0, 1, ... until `w.count` of them or `w.seconds`: the rate."""
    n, start = 0, time.perf_counter()
    deadline = start + w.seconds
    while n < w.count and time.perf_counter() < deadline:
        exchange(n)
        n += 1
    return Rate(n, n * w.size, time.perf_counter() - start)


def bare_connection(address: Address) -> socket.socket:
    sock = socket.create_connection(address, timeout=5.0)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the driver does
    return sock


def bare_round_trip(
    sock: socket.socket, message: bytes, expected: bytes, what: str, n: int
) -> None:
    """sendall, then recv until the whole reply is in; a wrong one is a BenchError (of the
    `n`th `what`: formatted only then, not to slow the loop)."""
    sock.sendall(message)
    reply = bytearray()
    while len(reply) < len(expected):
        data = sock.recv(READ_SIZE)
        if not data:
            raise BenchError("the server closed the connection")
        reply += data
    if reply != expected:
        raise BenchError(f"{what} {n}: wrong reply")


def harness_round_trips(server: Server, spec: Spec, w: Workload) -> Rate:
    """One connection, `w.count` sequential round trips of `w.size` bytes through the driver and
    the model: write, then wait for every owed byte (Session.replies), as `persist` does."""
    message = block(w.size, 1)
    with Session(server, spec, Transform.of(spec)) as s:
        peer = s.connect("bench")

        def exchange(n: int) -> None:
            peer.write(message)
            s.replies(peer)

        return timed(w, exchange)


def bare_round_trips(address: Address, transform: Transform, w: Workload) -> Rate:
    """The same exchanges with a blocking socket: sendall, recv until the reply is in."""
    message = block(w.size, 1)
    expected = transform(message)
    with bare_connection(address) as sock:
        return timed(w, lambda n: bare_round_trip(sock, message, expected, "bare round trip", n))


def harness_examples(server: Server, spec: Spec, w: Workload) -> Rate:
    """Connect, one round trip of `w.size` bytes, close: one stateless example of `upper`, as
    check_transform runs it (a fresh stateless Session each, round_trip)."""
    message = block(w.size, 2)
    transform = Transform.of(spec)

    def exchange(n: int) -> None:
        server.await_settled()  # what ctx.session() does before each example
        if not server.alive():
            raise BenchError(f"the server {server.exit_status()}")
        with Session(server, spec, transform, stateless=True) as s:
            round_trip(s, message)

    return timed(w, exchange)


def bare_examples(address: Address, transform: Transform, w: Workload) -> Rate:
    """The same with a blocking socket: connect, sendall, recv the reply, close."""
    message = block(w.size, 2)
    expected = transform(message)

    def exchange(n: int) -> None:
        with bare_connection(address) as sock:
            bare_round_trip(sock, message, expected, "bare example", n)

    return timed(w, exchange)


def harness_stream(server: Server, spec: Spec, w: Workload) -> Rate:
    """`w.count` writes of `w.size` bytes queued at once, and the replies read as they come
    (pump interleaves sends and receives), as `stream` does with a large write."""
    chunk = block(w.size, 3)
    with Session(server, spec, Transform.of(spec)) as s:
        peer = s.connect("bench")
        for _ in range(w.count):
            peer.write(chunk)
        start = time.perf_counter()
        s.run(
            [peer],
            lambda: peer.settled,
            s.timeouts.stall,
            "streaming",
            until=time.monotonic() + w.seconds,
        )
        elapsed = time.perf_counter() - start
        received = peer.stream.received
    return Rate(received // w.size, received, elapsed)


def bare_stream(address: Address, transform: Transform, w: Workload) -> Rate:
    """The same with a bare non-blocking socket in one thread, as the driver works: poll(),
    send what fits, read what is there, and compare each piece with the transform of the bytes
    sent at its offset (the driver's model does that work too)."""
    chunk = block(w.size, 3)
    total = w.size * w.count
    sent = bytearray()
    with bare_connection(address) as sock:
        sock.setblocking(False)
        poller = select.poll()
        start = time.perf_counter()
        deadline = start + w.seconds
        received = 0
        out = memoryview(chunk)
        while received < total and time.perf_counter() < deadline:
            sending = len(sent) < total
            poller.register(sock, select.POLLIN | (select.POLLOUT if sending else 0))
            for _, events in poller.poll(100):
                if events & select.POLLOUT:
                    n = sock.send(out)
                    sent += out[:n]
                    out = out[n:] or memoryview(chunk)
                if events & select.POLLIN:
                    data = sock.recv(READ_SIZE)
                    if not data:
                        raise BenchError("the server closed the stream")
                    if data != transform(bytes(sent[received : received + len(data)])):
                        raise BenchError(f"bare stream: wrong reply at offset {received}")
                    received += len(data)
        elapsed = time.perf_counter() - start
    return Rate(received // w.size, received, elapsed)
