"""Checks of many clients: one after another (many-connections), at once and independent
(concurrent), idle without spinning (idle-cpu), and many held at once (capacity)."""

from __future__ import annotations

import time
from typing import Any

from conformance.backpressure import await_backpressure, read_slice, unreached
from conformance.checks.context import (
    Context,
    forget,
    round_trip,
)
from conformance.checks.machine import run_clients_machine
from conformance.outcome import NonConformance, NotJudged
from conformance.session import BATCH, Peer, Session


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
                forget(s)
        # The last one served, all were accepted (an accept queue is first in, first out).
        made, nofile = s.server.connections, ctx.spec.limits.nofile
    if made > nofile:
        ctx.show(
            f"{made} connections, more than the server's {nofile} descriptors, each closed in "
            "turn, and the last one served"
        )


# Slices a slow reader takes, each what its receive buffer holds: the first already wakes the
# server to send more than fits (a blocking send() then blocks); the others in case it did not.
SLOW_READS = 4


def check_concurrent(ctx: Context) -> None:
    """Clients connected at once are served independently: one that writes until every buffer
    is full and reads nothing (so the server cannot send it its replies) holds up no other, nor
    does it when it then reads slowly; then a stateful model of many clients."""
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
    before, t0 = server.kernel.cpu_seconds(), time.monotonic()
    time.sleep(p["window"] if server.kernel.exact_cpu else p["tick_window"])
    used, elapsed = server.kernel.cpu_seconds() - before, time.monotonic() - t0
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
            held = s.server.kernel.held_connections()
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
