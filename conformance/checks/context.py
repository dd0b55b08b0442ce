"""What every check works with: the Context (the requirement, its server, the profile, what the
check has shown), payload strategies and a round trip."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from hypothesis import strategies as st

from conformance.attribution import Experiments
from conformance.driver.launcher import Server
from conformance.endings import CaseWatch, Ended, judge_ended_between, judge_ended_in
from conformance.model import Kind, LearnedTransform, Transform
from conformance.outcome import NonConformance, NotJudged
from conformance.payload import block
from conformance.prerequisites import Prerequisites
from conformance.profiles import Profile
from conformance.properties import falsify
from conformance.session import Peer, Session
from conformance.spec import Requirement, Spec

# The checks that judge the byte transform itself; every other check takes a server's
# consistent answer to a byte value as that server's image of it.
JUDGE_THE_TRANSFORM = frozenset({"transform"})

# The checks whose property a deviation shows: seen by another check, that one is not judged.
# (A missing reply or a close is told apart by probe connections: attribution.py.)
DEVIATION_OWNERS: dict[Kind, tuple[str, ...]] = {
    # An inconsistent answer, or bytes lost or moved: the first of these that the server fails
    # is the root cause (each judges it itself).  Both passed, it was another client's bytes
    # (cross-talk), or the situation's: the check's own fail (Report.settle).
    Kind.MISMATCH: ("transform", "stream"),
    Kind.EXTRA: ("stream",),  # bytes added
    Kind.NO_CLOSE: ("close-on-eof",),
}

EXPERIMENTS = Experiments()  # how a session attributes what it sees (attribution.py)


@dataclass
class Context:
    spec: Spec
    requirement: Requirement
    server: Server
    profile: Profile
    seed: int | None = None
    keep_exchanges: bool = False  # a failure keeps its session's exchange (for --pcap)

    @property
    def params(self) -> dict[str, Any]:
        return self.requirement.params

    @cached_property
    def transform(self) -> Transform:
        """The spec's transform for the check that judges it; for every other check, the
        server's own consistent answers, learned as they come (one defect, one failure)."""
        if self.requirement.check in JUDGE_THE_TRANSFORM:
            return Transform.of(self.spec)
        return LearnedTransform.of(self.spec)

    def session(self, stateless: bool = True) -> Session:
        """A fresh session; for stateless examples, on a server still running (or, in a
        Hypothesis case, see endings.py)."""
        s = Session(
            self.server,
            self.spec,
            self.transform,
            stateless,
            self.prerequisites,
            EXPERIMENTS,
            self.keep_exchanges,
        )
        if not stateless:
            return s
        self.server.await_settled()  # what drawing this example left of the last one's
        if self.watch is not None:
            self.watch.opened(s)
        elif not self.server.alive():
            s.fail(
                f"the server {self.server.exit_status()} before this example: it must keep "
                "serving, connection after connection"
            )
        return s

    @cached_property
    def prerequisites(self) -> Prerequisites:
        """What this check sees but leaves to the requirements whose property it is.  (listen
        judges what every connection needs first: it is never not judged for want of another.)"""
        if self.requirement.check == "listen":
            return Prerequisites("listen")
        ids = {r.check: r.id for r in reversed(self.spec.requirements)}
        return Prerequisites(self.requirement.check, ids, DEVIATION_OWNERS)

    def falsify(self, body: Callable[[Any], None], strategy: Any, examples: list[Any]) -> None:
        """Hypothesis runs `body` on cases; a server that ends around one is judged by what
        ended it (endings.py)."""
        watch = CaseWatch()

        def case_of(case: Any) -> None:
            if watch.ended_between:
                return
            watch.begin()
            try:
                body(case)
            except Ended:
                watch.ended_between = True
                return
            except NonConformance as exc:
                watch.failed(exc, self.server)
                raise
            watch.last_passed = case

        self.watch = watch
        try:
            falsify(case_of, strategy, self.profile, examples, self.seed)
            if watch.ended_between:
                self.watch = None
                judge_ended_between(self, body, watch.last_passed)
        except NotJudged:
            raise
        except NonConformance as exc:
            self.watch = None
            if ending := watch.ending(exc):
                judge_ended_in(self, exc, ending, watch)
            raise
        finally:
            self.watch = None

    watch: CaseWatch | None = None  # while Hypothesis runs cases
    shown: str | None = None  # how the check's condition (Check.condition) first occurred

    def show(self, note: str) -> None:
        """The check's condition occurred, as `note` says (the first such note goes with a
        pass into the reports)."""
        if self.shown is None:
            self.shown = note


# -- payloads -------------------------------------------------------------------------------


# Explicit cases run first and are not shrunk, so they go from small to large: a failure shows
# the smallest of them that fails.
EDGES = [
    b"a",
    b"z",
    b"`{@[",  # the bytes just outside a-z and A-Z
    b"\x00",
    b"\x80",
    b"\xff",
    b"hello world",
    "straße ÄÖÜ é ß ﬁ".encode(),  # multi-byte UTF-8: str.upper() changes its length
    b"abcdefghijklmnopqrstuvwxyz",
    bytes(range(256)),
]


def payloads(max_size: int) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(min_size=1, max_size=max_size),
        st.builds(block, st.integers(1, max_size), st.integers(0, 2**16)),
    )


def round_trip(session: Session, data: bytes, name: str | None = None, while_: str = "") -> Peer:
    """A new connection sends `data` and gets its reply (`while_`: for a failure's summary)."""
    peer = session.connect(name)
    peer.write(data)
    session.run([peer], lambda: peer.settled, session.timeouts.reply, while_)
    return peer


def forget(s: Session) -> None:
    """Keep a long check's transcript to what a person can read."""
    s.peers = [p for p in s.peers if p.conn.open]
    s.transcript.events = s.transcript.events[-60:]
