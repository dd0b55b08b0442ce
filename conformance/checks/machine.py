"""A stateful model of many clients (Hypothesis RuleBasedStateMachine) for `concurrent`.

All clients connect first and stay connected; then generated interleavings of writes, reads,
half-closes, resets and idle moments.  Waiting for one client's reply moves bytes for everyone,
so a reply that lands on the wrong client, or a client that is served only when another one
leaves, is a deviation at the step where it happens.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from hypothesis import seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from conformance.model import State
from conformance.payload import block
from conformance.properties import ShrinkBudget, hypothesis_settings, run_hypothesis
from conformance.session import BATCH, Peer, Session

if TYPE_CHECKING:
    from conformance.checks.context import Context

F = TypeVar("F", bound=Callable[..., None])
IDLE = 0.01  # seconds an `idle` step lets pass (bytes that arrive meanwhile are still judged)


def run_clients_machine(ctx: Context) -> None:
    n = ctx.params["clients"]
    budget = ShrinkBudget(ctx.profile.shrink_seconds)
    client = st.integers(0, n - 1)
    # Mostly short messages; now and then one that needs several reads from the server.
    message = st.one_of(
        st.binary(min_size=1, max_size=48),
        st.builds(block, st.integers(1000, 5000), st.integers(0, 99)),
    )

    def step(fn: F) -> F:
        """Run the step unless the shrink budget is spent; note failures for the budget."""

        @wraps(fn)
        def wrapper(self: Clients, **kw: Any) -> None:
            if self.skipping or budget.stopped:
                return
            if not budget.admits():
                # Past the shrink budget: keep drawing steps as before (Hypothesis requires
                # it) but do nothing, so this candidate passes and the shrinker drops it.
                self.skipping = True
                return
            with budget.judging():
                fn(self, **kw)

        return wrapper  # type: ignore[return-value]

    class Clients(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.clients: list[Peer] = []
            self.session: Session | None = None
            self.skipping = bool(budget.stopped)
            if self.skipping:
                return
            if budget.first is not None and not ctx.server.alive():
                ctx.server.restart()  # a case failed: smaller ones, being shrunk, need a server
            with budget.judging():
                self.session = ctx.session()
            self.skipping = self.session is None  # not judged: the server ended before it

        @property
        def s(self) -> Session:
            assert self.session is not None, "steps skip without a session"
            return self.session

        def _others(self) -> list[Peer]:
            return [p for p in self.clients if p.conn.open]

        @initialize()
        @step
        def connect_all(self) -> None:
            """Clients arrive a few at a time; each batch is served while the earlier clients
            stay connected and idle."""
            while len(self.clients) < n:
                batch = [self.s.connect() for _ in range(min(BATCH, n - len(self.clients)))]
                for peer in batch:
                    peer.write(b"hello from " + peer.name.encode())
                idle = len(self.clients)
                self.clients += batch
                self.s.run(
                    self._others(),
                    lambda: all(p.settled for p in batch),  # noqa: B023 - used at once
                    self.s.timeouts.reply,
                    f"with {len(batch)} clients connecting together"
                    + (f" and {idle} more already connected and idle" if idle else ""),
                )

        @rule(i=client, data=message)
        @step
        def write(self, i: int, data: bytes) -> None:
            peer = self.clients[i]
            peer.write(data)
            self.s.run(
                self._others(),
                lambda: not peer.conn.outbox,
                self.s.timeouts.stall,
                "while sending",
            )

        @rule(i=client)
        @step
        def read(self, i: int) -> None:
            """Wait for client i's replies only; the others stay idle but are watched."""
            peer = self.clients[i]
            self.s.run(
                self._others(),
                lambda: peer.settled,
                self.s.timeouts.reply,
                f"while the other {len(self._others()) - 1} client(s) were connected",
            )

        @rule(i=client)
        @step
        def half_close(self, i: int) -> None:
            peer = self.clients[i]
            self.s.half_close(peer)
            # Being served promptly is the point here: the reply timeout, not the close one.
            self.s.eof(peer, self.s.timeouts.reply)
            self._replace(i)

        @rule(i=client)
        @step
        def reset(self, i: int) -> None:
            self.clients[i].reset()
            self._replace(i)

        @rule()
        @step
        def idle(self) -> None:
            self.s.quiet(self._others(), IDLE)

        def _replace(self, i: int) -> None:
            peer = self.clients[i]
            if peer.stream.state is State.CLOSED:
                peer.conn.close()
            self.clients[i] = self.s.connect()

        @invariant()
        @step
        def no_deviation(self) -> None:
            self.s.check(self.clients)

        def teardown(self) -> None:
            if self.session is not None:
                self.session.close()

    machine: type[Clients] = Clients if ctx.seed is None else seed(ctx.seed)(Clients)
    config = hypothesis_settings(ctx.profile, derandomize=ctx.seed is None)
    run_hypothesis(lambda: run_state_machine_as_test(machine, settings=config), budget)
