"""Checks of what comes back for what is sent: listen, the byte transform, the stream, prompt
replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.backpressure import Backpressure, await_backpressure, unreached
from conformance.checks.context import (
    EDGES,
    Context,
    payloads,
    round_trip,
)
from conformance.outcome import Cause, RunnerError
from conformance.payload import block

# -- the checks ------------------------------------------------------------------------------


def check_listen(ctx: Context) -> None:
    """A client's connection is accepted (it leaves the accept queue: the kernel completes the
    handshake of a server that never calls accept()), and is not closed at once."""
    with ctx.session(stateless=False) as s:
        s.connect()
        accepted = s.server.kernel.await_accepted(s.timeouts.reply)
        if accepted is None:  # no listening socket to read: is the server ending?
            if not s.server.await_exit(0.2):
                raise RunnerError(
                    "cannot read the server's accept queue, so cannot tell if it accepts"
                )
            s.fail(f"the server {s.server.exit_status()} when a client connected")
        if not accepted:
            s.fail(
                f"the connection was never accepted: it waited {s.timeouts.reply:g} s in the "
                "listen backlog (is accept() called?)",
                cause=Cause.NEVER_ACCEPTED,
            )
        ctx.show("accepted: the connection left the server's accept queue")
        s.quiet(s.peers)


def check_transform(ctx: Context) -> None:
    """Every byte comes back as its image under the transform."""
    answered: set[int] = set()  # byte values sent and answered as the transform says

    def body(data: bytes) -> None:
        with ctx.session() as s:
            round_trip(s, data)
        answered.update(data)

    ctx.falsify(body, payloads(ctx.params["max_size"]), EDGES)
    if len(answered) == 256:
        ctx.show("every byte value, 0 to 255, answered with its image")


@dataclass(frozen=True)
class StreamCase:
    writes: tuple[bytes, ...]  # one client send() each
    read_size: int  # bytes per client recv()
    pause_reading: bool  # write everything before reading anything
    half_close: bool = False  # end by half-closing: nothing may follow the replies
    # Pause with a narrow window until the kernel shows backpressure (instead of for `pause`):
    # shown, or an error.  Megabytes only: a narrow window holds a few hundred KB.
    backpressure: bool = False


def _writes(p: dict[str, Any]) -> st.SearchStrategy[list[bytes]]:
    one = st.one_of(
        st.binary(min_size=1, max_size=64).map(lambda b: [b]),
        st.builds(block, st.integers(1, p["max_write"]), st.integers(0, 2**16)).map(lambda b: [b]),
        st.binary(min_size=2, max_size=64).map(lambda b: [b[i : i + 1] for i in range(len(b))]),
    )
    return st.lists(one, min_size=1, max_size=p["max_writes"]).map(
        lambda groups: [w for g in groups for w in g]
    )


def check_stream(ctx: Context) -> None:
    """The reply stream is exactly the transformed request stream, whatever the fragmentation of
    writes, the size of reads, and pauses in reading.  The multi-MiB write, written while not
    reading, is an explicit case (echoed through a slow correct server, one is slow enough): it
    goes on not reading until the kernel shows backpressure (the server's send() comes back
    short: a server that drops the unsent rest fails), and is an error if it never does."""
    p = ctx.params
    strategy = st.builds(
        StreamCase,
        _writes(p).map(tuple),
        st.sampled_from([65536, 4096, 500]),  # tiny reads change nothing the server sees
        st.booleans(),
        st.booleans(),
    )

    def body(case: StreamCase) -> None:
        with ctx.session() as s:
            peer = s.connect(backpressure=case.backpressure)
            peer.conn.read_size = case.read_size
            for w in case.writes:
                peer.write(w)
            held: Backpressure | None = None
            if case.backpressure:
                held = await_backpressure(s, peer, s.timeouts.stall)
            elif case.pause_reading:
                peer.conn.reading = False
                s.push(peer, p["pause"])
            peer.conn.reading = True
            s.replies(peer, idle_timeout=s.timeouts.stall)
            if case.half_close:
                s.trailing(peer)
            else:
                s.quiet([peer])
            if case.backpressure:
                if held is None:
                    raise unreached(s, peer, f"with a {len(case.writes[0])}-byte write, unread")
                ctx.show(f"a short send(): {held}")

    examples = [
        StreamCase((b"hello ", b"world"), 65536, False),
        StreamCase((b"hello ", b"world"), 65536, False, half_close=True),
        StreamCase(tuple(bytes([b]) for b in b"abcxyz{}"), 500, False),
        StreamCase((block(p["big_write"], 1),), 65536, True, backpressure=True),
        StreamCase(tuple(block(1000, i) for i in range(20)), 500, False),
    ]
    ctx.falsify(body, strategy, examples)


def check_prompt(ctx: Context) -> None:
    """Bytes are answered as they arrive: no waiting for a newline or a full buffer."""
    no_newline = st.binary(min_size=1, max_size=ctx.params["max_size"]).map(
        lambda b: b.replace(b"\n", b".").replace(b"\r", b".")
    )
    answered: list[int] = []  # sizes of the requests answered (the client never half-closes)

    def body(data: bytes) -> None:
        with ctx.session() as s:
            round_trip(s, data)
        answered.append(len(data))

    ctx.falsify(body, no_newline, [b"x", b"hello", b"no newline here"])
    if answered and min(answered) == 1:  # no buffer a server might wait to fill is that small
        ctx.show(
            f"{len(answered)} requests with no newline answered, the client's side open; the "
            "smallest was 1 byte"
        )
