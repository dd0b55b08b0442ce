"""The check catalog: every check the runner has, by the name a spec's `check` names it, in one
registration each: its function, its parameters (typed, with units and defaults), the condition
it must bring about, what it costs, and its hints: advice for a failure, by its cause.

Data only: the command line, a parallel run's controller and spec loading read it without
importing a check (Hypothesis, the driver).  A check's function is named as "module:function" and
imported when the check runs (`function`).  Where is requirement X checked?  Its spec entry says
`check = "NAME"`; CATALOG["NAME"].run says where.

Checks from outside: a package adds one through the entry-point group `echo_conformance.checks`,
the entry point's name being the check's and its object a `Check` (in a module as light as this
one: its `run` names the function, imported only when the check runs).  `checks()` has them all.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from conformance.outcome import UsageError

__all__ = ["CATALOG", "ENTRY_POINTS", "HINTS", "Check", "Param", "checks", "function", "hint"]


@dataclass(frozen=True)
class Param:
    """A check's parameter, as a spec's `params` table gives it (always > 0)."""

    kind: type[int] | type[float]
    unit: str
    default: int | float


@dataclass(frozen=True)
class Check:
    run: str  # "module:function", the function taking a checks.Context
    # What the check must bring about, and show that it did (Context.show), to judge anything:
    # without it a pass would claim what was never tried.
    condition: str
    # Rough seconds it takes on a correct server, for scheduling: the slow ones start first, so
    # that no long check is left to run alone at the end.
    cost: float
    params: Mapping[str, Param] = field(default_factory=dict)
    # A parameter in seconds that the profile scales (Profile.idle_scale) and the check spends
    # waiting: it adds to the cost.
    scaled_wait: str | None = None
    # Advice for a failure of this check, by its cause (see HINTS), before the general advice;
    # "" for any failure of it that has no advice of its own.
    hints: Mapping[str, str] = field(default_factory=dict)
    # Cheap beside starting its server: it may run on the server of the check before it, when
    # that one passed (runner.Handoff); a check that does not pass there runs again on a
    # server of its own, and that run is its verdict.
    shares_server: bool = False


def _check(
    run: str,
    condition: str,
    cost: float,
    scaled_wait: str | None = None,
    hints: Mapping[str, str] | None = None,
    shares_server: bool = False,
    **params: Param,
) -> Check:
    module = f"conformance.checks.{run}"
    return Check(module, condition, cost, params, scaled_wait, hints or {}, shares_server)


def _bytes(default: int) -> Param:
    return Param(int, "bytes", default)


def _seconds(default: float) -> Param:
    return Param(float, "seconds", default)


def _count(unit: str, default: int) -> Param:
    return Param(int, unit, default)


EMFILE_HINT = (
    "accept() failed with EMFILE: catch OSError around accept() and keep serving (and stop "
    "accepting until a connection closes)"
)

CATALOG: dict[str, Check] = {
    "listen": _check(
        "exchange:check_listen",
        "a connection accepted (not left in the accept queue)",
        0.2,
        shares_server=True,
    ),
    "transform": _check(
        "exchange:check_transform",
        "every byte value, 0 to 255, sent and answered",
        0.5,
        shares_server=True,
        max_size=_bytes(300),
    ),
    "stream": _check(
        "exchange:check_stream",
        "a short send(): reply bytes the server holds, unsent",
        1.0,
        max_writes=_count("writes", 8),
        max_write=_bytes(20000),
        big_write=_bytes(4194304),
        pause=_seconds(0.3),
    ),
    "prompt": _check(
        "exchange:check_prompt",
        "a 1-byte request answered, no newline, no EOF",
        0.5,
        hints={
            "missing reply": "the server waits for more before answering (a newline? a full "
            "buffer? the client's EOF?): send back what each recv() returned, at once",
        },
        shares_server=True,
        max_size=_bytes(64),
    ),
    "persist": _check(
        "lifetime:check_persist",
        "a connection idle for the spec's window, then served",
        0.5,  # and its idle window: the examples overlap it
        scaled_wait="idle",
        writes=_count("writes", 50),
        idle=_seconds(5.0),
        long_haul=_bytes(2097152),
    ),
    "close-on-eof": _check(
        "lifetime:check_close_on_eof",
        "the client's EOF read while replies are owed",
        0.8,
        max_size=_bytes(200000),
        owed=_bytes(4194304),
        pause=_seconds(0.1),
    ),
    "survive-reset": _check(
        "lifetime:check_survive_reset",
        "a reset while the server holds unsent replies",
        1.3,
        big_reply=_bytes(2097152),
        rounds=_count("examples", 3),
        burst=_count("resets", 1200),
    ),
    "many-connections": _check(
        "clients:check_many_connections",
        "more connections, in turn, than the server has descriptors",
        0.4,
        connections=_count("connections", 2000),
        parallel=_count("connections", 4),
        checkpoint=_count("connections", 100),
    ),
    "concurrent": _check(
        "clients:check_concurrent",
        "a client served while another's replies are held up",
        1.7,
        hints={
            "missing reply": "a client went unanswered while others were connected: serve them "
            "at once (threads, select()), and let none hold up the others: an accepted socket "
            "left blocking (accept() does not make it non-blocking) stalls the whole server on a "
            "client that reads its replies slowly; call setblocking(False) on each accepted "
            "socket, and keep what send() did not take for later",
        },
        clients=_count("clients", 16),
        steps=_count("steps", 30),
        unread=_bytes(33554432),
        still=_seconds(0.1),
    ),
    "idle-cpu": _check(
        "clients:check_idle_cpu",
        "idle after a reset with replies the server could not send",
        1.0,
        hints={"": "the server spins while waiting: block in select()/recv() instead of polling"},
        shares_server=True,
        clients=_count("clients", 4),
        window=_seconds(0.25),
        tick_window=_seconds(0.5),
        max_share=Param(float, "of a core", 0.05),
        unread=_bytes(33554432),
        still=_seconds(0.1),
    ),
    "capacity": _check(
        "clients:check_capacity",
        "the spec's number of clients connected at once, answered",
        0.5,
        shares_server=True,
        connections=_count("connections", 256),
    ),
    "survive-fd-limit": _check(
        "descriptors:check_survive_fd_limit",
        "EMFILE: a crowd beyond the descriptors a process may hold",
        1.0,
        hints={
            "": EMFILE_HINT,
            "stopped accepting": EMFILE_HINT,
        },
        clients=_count("clients", 8),
        beyond=_count("connections", 64),
        hold=_seconds(0.3),
    ),
}


# Advice for a failure of any check, by its cause: the kind of the deviation a client saw
# (model.Kind's values) or, where none did, outcome.Cause's.
HINTS: Mapping[str, str] = {
    "not listening": "the server is not listening on this host/port: check the address it "
    "binds and that it calls listen()",
    "address in use": "another process holds the address; stop it, or set SO_REUSEADDR before "
    "bind()",
    "never accepted": "the server listens but does not accept(): call accept() as connections "
    "come (in a loop, or when select()/poll() says the listening socket is readable)",
    "stopped accepting": "the server stops accepting while it serves a client: serve clients "
    "concurrently (threads, select(), or non-blocking sockets)",
    "connection refused": "nothing listens any more: the server exited or closed its listening "
    "socket",
    "connection reset by server": "the server crashed or closed with unread data: see its "
    "stderr and exit status below",
    "server closed first": "the server closes the connection on its own (after the first "
    "reply?): keep it open until recv() returns b''",
    "closed without flushing": "on recv() == b'' the server closed before sending every reply "
    "it owed: send what is pending (sendall) first, then close",
    "no close after half-close": "when recv() returns b'' the server must close the connection",
    "missing reply": "no reply in time: does the server wait for a newline or a full buffer, or "
    "stop reading while it has replies to send? Answer what recv() returned at once",
    "wrong byte": "the reply differs from bytes.upper(): uppercase bytes, not decoded text, and "
    "only a-z; everything else comes back unchanged",
    "extra bytes": "the server sent bytes nobody asked for (a newline? a prompt? twice?)",
}


def hint(check: str, cause: str | None) -> str:
    """Advice for a failure of `check` whose cause is `cause` (none known: ""): the check's
    own, else the general advice for that cause, else the check's advice for any failure."""
    own = checks()[check].hints if check in checks() else {}
    if cause is not None and (advice := own.get(cause) or HINTS.get(cause)):
        return advice
    return own.get("", "")


ENTRY_POINTS = "echo_conformance.checks"


@cache
def checks() -> Mapping[str, Check]:
    """The suite's checks and those that installed packages add (ENTRY_POINTS)."""
    found = dict(CATALOG)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINTS):
        where = f"the check {entry.name!r} from {entry.value} ({ENTRY_POINTS} entry point)"
        if entry.name in found:
            raise UsageError(f"{where}: the suite has a check of that name; rename it")
        try:
            check = entry.load()
        except Exception as exc:  # whatever a package's import raises: one line, not ours
            raise UsageError(f"{where}: cannot be loaded: {exc!r}") from None
        if not isinstance(check, Check):
            raise UsageError(f"{where}: is a {type(check).__name__}, not a catalog.Check")
        found[entry.name] = check
    return found


def function(name: str) -> Callable[[Any], None]:
    """The check's function, imported now."""
    module, _, attr = checks()[name].run.partition(":")
    run: Callable[[Any], None] = getattr(importlib.import_module(module), attr)
    return run
