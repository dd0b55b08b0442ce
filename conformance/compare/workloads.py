"""The comparison's workloads on one running server: latency, throughput and idle CPU (the max
clients workload is max_clients.py), each bounded in count and in time by the Budget.

This is the measurement layer: it times what the clients (crowd.py) do and reads the server's
CPU use from the kernel.  A wrong reply makes the workload an error instead of a figure; what
kept a workload from its goal (unserved clients, a server that exited) is said in its notes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from conformance.compare.crowd import Client, Crowd, Pattern, plural
from conformance.driver.launcher import Server

MESSAGE = b"echo me, please: abcxyz 0123456!"  # the latency request: 32 bytes, lowercase in it


@dataclass(frozen=True)
class Budget:
    """What each workload may spend: every loop stops at its count or its time, whichever first."""

    message: int = len(MESSAGE)
    latency_clients: tuple[int, ...] = (1, 16, 128)
    latency_round_trips: int = 10000  # per client count, all clients together
    latency_seconds: float = 1.5
    throughput_clients: tuple[int, ...] = (1, 16)
    throughput_seconds: float = 1.5
    write_size: int = 65536
    window: int = 2 << 20  # bytes a streaming client has in flight at most
    idle_clients: int = 100
    idle_window: float = 1.0
    max_clients: int = 1000
    max_clients_seconds: float = 6.0
    reply_timeout: float = 1.0  # a client not answered within this is not served
    accept_wait: float = 0.5  # a connect waits this long for room in a full accept queue

    @classmethod
    def quick(cls, max_clients: int = 64) -> Budget:
        """Short budgets, for tests and a first look."""
        return cls(
            latency_clients=(1, 16),
            latency_round_trips=400,
            latency_seconds=0.5,
            throughput_seconds=0.3,
            idle_clients=20,
            idle_window=0.5,
            max_clients=max_clients,
            max_clients_seconds=2.0,
            reply_timeout=0.5,
            accept_wait=0.3,
        )


@dataclass(kw_only=True)
class Measurement:
    """What every workload's result says besides its figures."""

    error: str = ""  # a wrong reply, or the server could not be started: no figures then
    notes: list[str] = field(default_factory=list)


@dataclass
class Latency(Measurement):
    clients: int
    connected: int = 0  # clients whose connect completed
    served: int = 0  # clients that got at least one whole reply
    round_trips: int = 0  # timed ones: after every client's first (or the wait for it) ended
    seconds: float = 0.0  # timed
    # Percentiles of the steady state: each client's first round trip (which also waits for
    # the server to accept the connection) is left out.
    p50_ms: float | None = None
    p99_ms: float | None = None
    per_second: float | None = None


@dataclass
class Throughput(Measurement):
    clients: int
    connected: int = 0
    served: int = 0  # clients that got reply bytes
    reply_bytes: int = 0  # verified
    seconds: float = 0.0
    mib_per_s: float | None = None


@dataclass
class IdleCpu(Measurement):
    clients: int
    connected: int = 0
    served: int = 0
    no_client_pct: float | None = None  # % of one core, no client connected
    pct: float | None = None  # % of one core, `clients` silent clients connected
    window: float = 0.0


@dataclass
class MaxClients(Measurement):
    bound: int
    served: int = 0  # clients connected at once that each got their reply
    reason: str = ""  # what stopped the count, in words
    seconds: float = 0.0


def measure_latency(server: Server, clients: int, budget: Budget, pattern: Pattern) -> Latency:
    """K clients, each: a small request, wait for its whole reply, the next request.

    First every client connects and makes its first round trip (which also waits for the
    server to accept it), until all have or no new client was served for the reply timeout;
    then round trips are timed, up to the count or the time budget."""
    result = Latency(clients)
    crowd = Crowd(server, pattern, budget.accept_wait)
    samples: list[float] = []
    timing = False
    round_trips = 0  # while timing
    first_served = 0
    last_first = time.monotonic()

    def react(c: Client) -> None:
        nonlocal round_trips, first_served, last_first
        if c.reply_complete():
            if c.replies == 1:
                first_served += 1
                last_first = time.monotonic()
            elif timing:
                samples.append(time.perf_counter() - c.sent_at)
            round_trips += timing
            c.request()

    try:
        start = time.monotonic()
        stop = crowd.drive(
            clients,
            start + budget.accept_wait + budget.reply_timeout * 2,
            lambda: first_served == clients or time.monotonic() - last_first > budget.reply_timeout,
            Client.request,
            react,
        )
        if stop in ("enough", "time"):
            timing, start = True, time.monotonic()
            stop = crowd.drive(
                clients,
                start + budget.latency_seconds,
                lambda: round_trips >= budget.latency_round_trips,
                Client.request,
                react,
            )
        result.seconds = time.monotonic() - start
        result.connected, result.served = crowd.connected(), crowd.served()
        result.round_trips = round_trips
        if crowd.wrong:
            result.error = crowd.wrong
            return result
        if samples:
            samples.sort()
            result.p50_ms = _percentile(samples, 50) * 1000
            result.p99_ms = _percentile(samples, 99) * 1000
            result.per_second = round_trips / result.seconds
        else:
            result.notes.append(
                f"{plural(first_served, 'first round trip')} and no other: no figure"
            )
        result.notes += shortfall(crowd, clients, stop)
    finally:
        crowd.close()
    return result


def measure_throughput(
    server: Server, clients: int, budget: Budget, pattern: Pattern
) -> Throughput:
    """K clients write large blocks (at most `window` bytes unanswered each) and read the
    replies, for a fixed time: verified reply bytes per second."""
    result = Throughput(clients)
    crowd = Crowd(server, pattern, budget.accept_wait)
    start = time.monotonic()

    def feed(c: Client) -> None:
        c.reply_complete()  # a streaming client awaits no reply in particular
        if not c.outbox and c.sent - c.received < budget.window:
            c.request()

    try:
        stop = crowd.drive(clients, start + budget.throughput_seconds, lambda: False, feed, feed)
        result.seconds = time.monotonic() - start
        result.connected = crowd.connected()
        result.served = sum(c.received > 0 for c in crowd.clients)
        if crowd.wrong:
            result.error = crowd.wrong
            return result
        result.reply_bytes = sum(c.received for c in crowd.clients)
        seconds = result.seconds
        if stop in ("ended", "exited"):  # the server cut the streams short: over the full time
            seconds = max(seconds, budget.throughput_seconds)
            result.notes.append(
                f"every stream ended after {_size(result.reply_bytes)} of replies "
                f"({result.seconds:.3f} s): the rate is over the full {seconds:g} s"
            )
        result.mib_per_s = result.reply_bytes / seconds / (1 << 20)
        # Time is how a stream ends: not a shortfall.
        stop = "" if stop == "time" else stop
        result.notes += shortfall(crowd, clients, stop, served=result.served)
    finally:
        crowd.close()
    return result


def measure_idle_cpu(server: Server, budget: Budget, pattern: Pattern) -> IdleCpu:
    """CPU with no client; then with `idle_clients` connected, each served once if it can be,
    and all silent."""
    result = IdleCpu(budget.idle_clients, window=budget.idle_window)
    result.no_client_pct = cpu_share(server, budget.idle_window)
    crowd = Crowd(server, pattern, budget.accept_wait)
    try:
        # Every client's one round trip: done when all are answered, or nothing moved for the
        # reply timeout (a server that serves some clients only).
        answered = 0
        quiet_until = time.monotonic() + budget.reply_timeout

        def react(c: Client) -> None:
            nonlocal answered, quiet_until
            if c.reply_complete():
                answered += 1
                quiet_until = time.monotonic() + budget.reply_timeout

        stop = crowd.drive(
            budget.idle_clients,
            time.monotonic() + budget.accept_wait + 2 * budget.reply_timeout + 1.0,
            lambda: answered >= budget.idle_clients or time.monotonic() > quiet_until,
            Client.request,
            react,
        )
        result.connected, result.served = crowd.connected(), crowd.served()
        if crowd.wrong:
            result.error = crowd.wrong
            return result
        result.notes += shortfall(crowd, budget.idle_clients, stop)
        time.sleep(0.05)  # let the last replies' work end before the window
        result.pct = cpu_share(server, budget.idle_window)
        state = server_state(server)
        if state and state not in result.notes:
            result.notes.append(state)
    finally:
        crowd.close()
    return result


def cpu_share(server: Server, window: float) -> float | None:
    """The server's CPU use over `window` seconds, in % of one core (None if it exited).

    Server.cpu_seconds() counts clock ticks (usually 100 a second): +-1 tick in the window."""
    if not server.alive():
        return None
    before, t0 = server.kernel.cpu_seconds(), time.monotonic()
    time.sleep(window)
    after, t1 = server.kernel.cpu_seconds(), time.monotonic()
    if not server.alive():
        return None
    return max(0.0, after - before) / (t1 - t0) * 100


def shortfall(crowd: Crowd, clients: int, stop: str, served: int | None = None) -> list[str]:
    """Notes on what kept a workload from its goal: unserved clients, and why."""
    notes = []
    served = crowd.served() if served is None else served
    if served < clients:
        notes.append(f"{served} of {clients} clients served")
    if crowd.gave_up:
        notes.append(
            f"connects stopped at {len(crowd.clients)}: the server accepted no connection for "
            f"{crowd.accept_wait:g} s"
        )
    if stop == "time" and served < clients:
        notes.append("the time budget ran out")
    notes += crowd.endings()
    state = server_state(crowd.server, settle=0.2 if stop in ("ended", "exited") else 0.0)
    if state:
        notes.append(state)
    return notes


def server_state(server: Server, settle: float = 0.0) -> str:
    """What became of the server, with its last stderr line ("the server exited with status 1:
    KeyError: ..."), or "" while it runs.  `settle`: how long to give it to exit (a server that
    closed every connection may be on its way out)."""
    deadline = time.monotonic() + settle
    while server.alive():
        if time.monotonic() >= deadline:
            return ""
        time.sleep(0.005)
    tail = server.stderr_tail(1)
    return f"the server {server.exit_status()}" + (f": {tail}" if tail else "")


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil
    return sorted_values[int(rank) - 1]
