"""A server that ends around a Hypothesis case: whose property does that show?

A stateless check runs many cases on one server.  When the server ends, the case in which it
ended (or after which it was found ended) is not enough to say why: it may stop after so many
connections whatever they carry, end on one byte value's answer, or end on that case's input.
Experiments on a fresh server tell them apart; restarting gathers evidence, it never turns an
ending into a pass:

- as many plain round trips as the server had made when it ended (since its start, not just in
  that case: the case may only have met a server already on its way out) end it too: it stops
  after that many connections, whatever they send (many-connections' property: not judged);
- the byte values the case sent, answered on one connection, end it: upper's property (the
  answer to a byte value);
- else the case ends it (replayed, it ends it again): this check's fail, the case pinned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from conformance.attribution import MAX_ROUND_TRIPS, ends_after, round_trips
from conformance.outcome import NonConformance, NotJudged
from conformance.session import Session

if TYPE_CHECKING:
    from conformance.driver.launcher import Server
    from conformance.spec import Requirement, Spec

NO_CASE = object()  # no case has passed yet


class Context(Protocol):
    """What judging an ending needs of a check's context (checks.context.Context is one)."""

    server: Server
    spec: Spec
    requirement: Requirement
    watch: CaseWatch | None

    def session(self, stateless: bool = True) -> Session: ...


class Ended(Exception):
    """The server was found ended before a case: that case and every later one pass at once, so
    that Hypothesis ends unshrunk (a smaller case cannot tell more about an earlier one), and
    the ending is judged after it (judge_ended_between)."""


@dataclass(frozen=True)
class Ending:
    """A server found ended when a case failed: its exit status, and the connections made to it
    since it started (not just in that case: it may have met a server already on its way out)."""

    status: str
    connections: int


@dataclass
class CaseWatch:
    """What the Hypothesis cases of one check did: the last that passed, the sessions of the
    current one, and which failures came with the server ended."""

    shrinking: bool = False  # a case failed: a server found ended is started again
    ended_between: bool = False  # found ended before a case: the rest pass at once
    last_passed: Any = NO_CASE
    sessions: list[Session] = field(default_factory=list)
    _endings: dict[int, Ending] = field(default_factory=dict)  # by id of the case's failure

    def begin(self) -> None:
        self.sessions = []

    def opened(self, session: Session) -> None:
        """A session of the current case, on a running server: one found ended raises Ended,
        unless a case failed (smaller ones, being shrunk, need a server: it starts again)."""
        session.in_case = True
        if not session.server.alive():
            if not self.shrinking:
                raise Ended  # judged out of Hypothesis: what ended it?
            session.server.restart()
        self.sessions.append(session)

    def failed(self, exc: NonConformance, server: Server) -> None:
        """A case failed: if the server has ended, how (before a restart forgets it)."""
        self.shrinking = True
        if not server.alive():
            self._endings[id(exc)] = Ending(server.exit_status(), server.connections)

    def ending(self, exc: NonConformance) -> Ending | None:
        """How the server ended in the case that failed with `exc`, if it did."""
        return self._endings.get(id(exc))

    def sent_values(self) -> bytes:
        """Every byte value the current case sent."""
        values: set[int] = set()
        for s in self.sessions:
            for event in s.transcript.events:
                if event.what == "send":
                    values.update(event.data)
        return bytes(sorted(values))


def judge_ended_between(ctx: Context, body: Callable[[Any], None], case: Any) -> NoReturn:
    """The server was found ended after `case` passed: replayed on a fresh server, does `case`
    end it (then the experiments say why), or not (it stops after a number of connections)?"""
    server = ctx.server
    ended = f"the server {server.exit_status()} after {server.connections} connection(s)"
    evidence = server.diagnostics()
    if case is NO_CASE:  # it ended before any case ran: after the check's own connections?
        failure = NonConformance(f"{ended}, before this check's first case", evidence)
        n = min(server.connections, MAX_ROUND_TRIPS)
        if _other(ctx, "many-connections") and _ends(ctx, lambda: _round_trips(ctx, n)):
            why = f"{ended}: it stops after {n} connection(s), whatever they send"
            _not_judged(ctx, "many-connections", why, failure)
        raise failure
    watch = ctx.watch = CaseWatch()
    try:
        replayed = _ends(ctx, lambda: body(case))
    finally:
        ctx.watch = None
    if not replayed:
        why = f"{ended}; on a fresh server, the last case alone did not end it"
        failure = NonConformance(why, evidence)
        _not_judged(ctx, "many-connections", why, failure)
        raise failure
    failure = NonConformance(f"{ended}; on a fresh server, this case ended it again: {case!r}")
    failure.evidence = evidence
    judge_ended_in(ctx, failure, Ending(server.exit_status(), server.connections), watch)
    raise failure


def judge_ended_in(ctx: Context, exc: NonConformance, ending: Ending, watch: CaseWatch) -> None:
    """The server ended (`ending`) in the case that failed with `exc`: not judged if as many
    plain round trips as it had been made since its start, or the case's byte values, end a
    fresh server too; else return (`exc` is this check's fail)."""
    ended = f"the server {ending.status}"
    n, values = min(max(1, ending.connections), MAX_ROUND_TRIPS), watch.sent_values()
    if _other(ctx, "many-connections") and _ends(ctx, lambda: _round_trips(ctx, n)):
        why = f"{ended}: it stops after {n} connection(s), whatever they send"
        _not_judged(ctx, "many-connections", why, exc)
    if values and _other(ctx, "transform") and _ends(ctx, lambda: _round_trips(ctx, 1, values)):
        why = f"{ended}: answering a byte value ends it (one of the {len(values)} this case sent)"
        _not_judged(ctx, "transform", why, exc)


def _other(ctx: Context, check: str) -> bool:
    """Is `check` another requirement's, in this spec?"""
    return ctx.requirement.check != check and ctx.spec.checked_by(check) is not None


def _not_judged(ctx: Context, check: str, why: str, exc: NonConformance) -> None:
    """NotJudged for want of the requirement that `check` judges, if that is another's."""
    needs = ctx.spec.checked_by(check)
    if needs is not None and needs != ctx.requirement.id:
        raise NotJudged((needs,), why, exc.summary, exc.evidence, exc.details) from None


def _round_trips(ctx: Context, n: int, data: bytes = b"hello") -> None:
    with ctx.session(stateless=False) as s:
        round_trips(s, n, data)


def _ends(ctx: Context, step: Callable[[], None]) -> bool:
    """Does `step`, on a fresh server, end it (within the reply timeout)?"""

    def quietly() -> None:
        try:
            step()
        except Ended:  # found ended before a replayed case: that is the answer
            pass

    return ends_after(ctx.server, quietly, ctx.spec.timeouts.reply)
