"""Locks on names, machine-wide, whichever process, whichever user holds them: one fixed-port
server at a time without namespaces, and a sandbox uid of its own for each isolated server.

Without namespaces, two servers that both bind 8080 cannot be checked at once: the launcher holds
a lock per fixed port while its server is ours (xdist workers, a grading run and a student's own
check, root and not, all wait for each other).

A lock is an abstract-namespace Unix socket bound to "\\0echo-conformance-port-N" (say): one
binding per name in a network namespace, for every user alike, gone when its holder closes it or
dies (the kernel releases it), and nothing on disk, so no stale file that another user owns can
get in the way.  Its scope is the network namespace, which is exactly the scope of the port.
(Servers are checked on Linux only: platforms.py.)  Stdlib only, so that a test can hold one as
another user.
"""

from __future__ import annotations

import errno
import random
import socket
import time
from types import TracebackType

from conformance.outcome import RunnerError

RETRY = 0.05  # seconds between attempts while another holder has the port


class NameLock:
    """A lock on a name, machine-wide: `acquire()` waits for it; `release()`, or its holder's
    end, frees it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._held: socket.socket | None = None  # the bound socket

    @property
    def held(self) -> bool:
        return self._held is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free now; False if another holder has it."""
        if self._held is None:
            self._held = _abstract_lock(self.name)
        return self._held is not None

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for the lock (with no timeout, as long as it takes: as long as the run takes).
        Polled: a socket's name has no queue of waiters."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.try_acquire():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(RETRY)
        return True

    def release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()

    def __enter__(self) -> NameLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class PortLock(NameLock):
    """A port's lock: one fixed-port server at a time, without namespaces."""

    def __init__(self, port: int) -> None:
        super().__init__(f"echo-conformance-port-{port}")
        self.port = port


# A uid of its own for each isolated server, from a range no account of a usual system has (the
# subordinate ranges of containers start at 100000 and stay far below): owning no file of the
# host, it reads only what every user may, and its processes count against no one else's limits.
SANDBOX_UIDS = range(2_000_000_000, 2_000_065_536)
_UID_PICKER = random.Random()


def claim_uid() -> tuple[int, NameLock]:
    """A sandbox uid no other server of this machine uses now, and the lock that keeps it so."""
    # Runs at once rarely meet on the same slots.  A generator of its own: the module's, drawn
    # from while Hypothesis draws a case in another thread, changes what that thread's draw
    # sees (and Hypothesis warns "Do not use the `random` module inside strategies").
    start = _UID_PICKER.randrange(len(SANDBOX_UIDS))
    for step in range(len(SANDBOX_UIDS)):
        uid = SANDBOX_UIDS[(start + step) % len(SANDBOX_UIDS)]
        lock = NameLock(f"echo-conformance-uid-{uid}")
        if lock.try_acquire():
            return uid, lock
    raise RunnerError(f"every sandbox uid ({len(SANDBOX_UIDS)}) is in use")


def _abstract_lock(name: str) -> socket.socket | None:
    # Python creates sockets close-on-exec, and the launcher starts servers with close_fds: no
    # server (or daemon of one) inherits the lock and holds it past its check.
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind("\0" + name)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return None
        raise RunnerError(f"cannot take the lock of {name}: {exc.strerror or exc}") from None
    return sock
