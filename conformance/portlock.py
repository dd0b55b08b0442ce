"""One fixed-port server at a time on this machine, whichever process, whichever user runs it.

Without namespaces, two servers that both bind 8080 cannot be checked at once: the launcher holds
a lock per fixed port while its server is ours (xdist workers, a grading run and a student's own
check, root and not, all wait for each other).

On Linux the lock is an abstract-namespace Unix socket bound to "\\0echo-conformance-port-N": one
binding per name in a network namespace, for every user alike, gone when its holder closes it or
dies (the kernel releases it), and nothing on disk, so no stale file that another user owns can
get in the way.  Its scope is the network namespace, which is exactly the scope of the port.
(Servers are checked on Linux only: platforms.py.)  Stdlib only, so that a test can hold one as
another user.
"""

from __future__ import annotations

import errno
import socket
import time
from types import TracebackType

from conformance.outcome import RunnerError

RETRY = 0.05  # seconds between attempts while another holder has the port


class PortLock:
    """A port's lock: `acquire()` waits for it; `release()`, or its holder's end, frees it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.name = f"echo-conformance-port-{port}"
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

    def __enter__(self) -> PortLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


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
