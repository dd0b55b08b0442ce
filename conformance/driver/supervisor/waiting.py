"""What the supervisors' loops wait with: poll() on descriptors, the signal wake-up pipe drained,
and kill() for signal handlers."""

from __future__ import annotations

import os
import select


def readable(fds: list[int]) -> list[int]:
    """Those of `fds` with something to read, or closed: waits until one has.  poll(), not
    select(): descriptors passed from the runner keep their numbers, which pass select()'s
    1024 in a runner holding a crowd's sockets."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return [fd for fd, _ in poller.poll()]


def send(pid: int, sig: int) -> None:
    """kill(), for a signal handler: whoever it was for may be gone already."""
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass
