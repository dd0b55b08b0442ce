"""The check of a crowd beyond the server's descriptors: EMFILE on accept() handled
(survive-fd-limit), watched from the server's /proc."""

from __future__ import annotations

import threading
import time
from typing import NoReturn

from conformance.checks.context import (
    Context,
)
from conformance.driver.launcher import Server
from conformance.outcome import NonConformance, NotJudged, RunnerError
from conformance.session import Peer, Session

WATCH_PERIOD = 0.005  # seconds between readings of the server's descriptors during a crowd
# Seconds between readings of its connections (its network's whole socket table, so dearer),
# until a process is seen out of descriptors: a process per client holds each for the crowd's
# `hold`, many readings long.
CONNECTIONS_PERIOD = 0.02


class DescriptorWatch:
    """Reads, in a thread of its own while a crowd is connected, how close the server's
    processes come to their descriptor limit: the evidence that accept() failed with EMFILE."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.fullest: tuple[int, int] | None = None  # (held, limit) with the least to spare
        # The most connections the server held at once, in all its processes (until one ran out)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="descriptor-watch", daemon=True)

    def _watch(self) -> None:
        counted = float("-inf")  # when the connections were last read
        while not self._stop.is_set():
            seen = self.server.kernel.descriptors()
            if seen is not None and (
                self.fullest is None or seen[1] - seen[0] < self.fullest[1] - self.fullest[0]
            ):
                self.fullest = seen
            if not self.ran_out and time.monotonic() - counted >= CONNECTIONS_PERIOD:
                counted = time.monotonic()
                held = self.server.kernel.held_connections() or 0
                self.connections = max(self.connections, held)
            self._stop.wait(WATCH_PERIOD)

    def __enter__(self) -> DescriptorWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def ran_out(self) -> bool:
        """Did a process of the server hold every descriptor its limit allows?"""
        return self.fullest is not None and self.fullest[0] >= self.fullest[1]

    def said_emfile(self) -> bool:
        """Did the server say so on stderr (it may exit before a reading sees it full)?"""
        said = self.server.stderr_tail().lower()
        return "too many open files" in said or "emfile" in said


def check_survive_fd_limit(ctx: Context) -> None:
    """A few clients are held, each served; then a crowd brings the clients connected at once
    beyond the server's descriptor limit, so that accept() fails with EMFILE, and stays a moment.
    The server must live through it, the clients it holds must see nothing amiss meanwhile, and
    once the crowd has left they and a newcomer are served.  The check shows that the server did
    run out (a process of it held every descriptor its limit allows), or held more clients at once
    than a process may (a process per client): a crowd it refuses below that proves nothing, and
    is an error, never a pass."""
    p = ctx.params
    nofile = ctx.spec.limits.nofile
    total = nofile + p["beyond"]
    with ctx.session(stateless=False) as s:
        held = _hold(s, p["clients"], ctx.spec.checked_by("capacity"))
        with DescriptorWatch(s.server) as watch:
            try:
                s.crowd(total - len(held), p["hold"])
            except NotJudged:
                raise
            except NonConformance as exc:
                _crowd_failed(s, exc, watch, total, nofile)
        if not s.server.alive():
            s.fail(_died_in_crowd(s.server, watch, total, nofile))
        if watch.ran_out:
            ctx.show(_ran_out(watch))
        elif watch.connections <= nofile:
            raise RunnerError(f"it could not bring about EMFILE: {_no_emfile(watch, total)}")
        else:  # a process per client: more clients at once than a process may hold, none short
            note = f"{watch.connections} connections held at once, no process out of descriptors"
            s.transcript.add("crowd", "held", note.encode())
            ctx.show(note)
        for peer in held:
            peer.write(b"still served after the crowd")
        # Generous: a server may pause accepting for a while after running out.
        s.replies(*held, idle_timeout=s.timeouts.stall)
        try:  # its accept queue may still hold the crowd's dead connections meanwhile
            newcomer = s.connect("after-crowd", patience=s.timeouts.stall)
        except NotJudged:
            raise
        except NonConformance as exc:
            raise NonConformance(
                "after the crowd left, the server accepted no new client: accept() failed with "
                f"EMFILE and it stopped accepting for good ({exc.summary})",
                exc.evidence,
                exc.details,
            ) from None
        newcomer.write(b"and a newcomer")
        s.replies(newcomer, idle_timeout=s.timeouts.stall)


def _hold(s: Session, clients: int, capacity: str | None) -> list[Peer]:
    """`clients` connected at once, each answered: those the crowd must not disturb.  Serving
    them all at once is capacity's property: a server that cannot is not judged here."""
    try:
        held = [s.connect(f"h{i + 1}") for i in range(clients)]
        for peer in held:
            peer.write(b"held through the crowd")
        s.replies(*held)
    except NotJudged:
        raise
    except NonConformance as exc:
        why = f"the {clients} clients to hold through the crowd were not all served"
        if capacity is None or not s.server.alive():
            raise NonConformance(f"{why}: {exc.summary}", exc.evidence, exc.details) from None
        raise NotJudged((capacity,), why, exc.summary, exc.evidence, exc.details) from None
    return held


def _crowd_failed(
    s: Session, exc: NonConformance, watch: DescriptorWatch, total: int, nofile: int
) -> NoReturn:
    """A held client saw something amiss during the crowd: say that the crowd was the cause
    (and, when the server died of it, that it ran out of descriptors)."""
    s.server.await_exit(0.2)  # a server that is dying: its exit status and stderr
    if s.server.alive():
        summary = f"{exc.summary}, while a crowd of {total} clients was connected at once"
    else:
        summary = _died_in_crowd(s.server, watch, total, nofile)
    raise NonConformance(summary, exc.evidence, exc.details) from None


def _died_in_crowd(server: Server, watch: DescriptorWatch, total: int, nofile: int) -> str:
    crowd = (
        f"the server {server.exit_status()} when a crowd of {total} clients connected at once, "
        f"more than its {nofile} descriptors"
    )
    if watch.ran_out or watch.said_emfile():
        return f"{crowd}: accept() failed with EMFILE"
    if watch.fullest is None:
        return crowd
    return f"{crowd} (it held at most {watch.fullest[0]} of them)"


def _ran_out(watch: DescriptorWatch) -> str:
    held, limit = watch.fullest or (0, 0)
    return f"EMFILE: a process of the server held {held} descriptors, its limit {limit}"


def _no_emfile(watch: DescriptorWatch, total: int) -> str:
    if watch.fullest is None:
        return "the server's descriptors (/proc/PID/fd) could not be read during the crowd"
    held, limit = watch.fullest
    return (
        f"with a crowd of {total} clients connecting at once, no process of the server held more "
        f"than {held} of its {limit} descriptors (does it serve each client in a process of its "
        "own, or refuse clients beyond a cap of its own?)"
    )
