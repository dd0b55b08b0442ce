"""The server's parent (PID 1 of its namespace, isolated): starts the server, copies its output
(capped), reaps every child, and reports how the server ended on the status pipe."""

from __future__ import annotations

import os
import signal

from conformance.driver.supervisor.output import Sink
from conformance.driver.supervisor.server import exec_server
from conformance.driver.supervisor.waiting import drain, readable, send

TYPE_CHECKING = False  # typing is not imported at run time: a server start saves 8 ms
if TYPE_CHECKING:
    from typing import IO, Any


def supervise(
    config: dict[str, Any], argv: list[str], sinks: tuple[Sink, Sink], status: IO[str], pid1: bool
) -> int:
    """Start the server, copy its output (capped), reap every child; report how it ended."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w, out_r, err_r):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    if pid1:
        # PID 1 gets only the signals it handles: pass SIGTERM on to everyone in the namespace,
        # daemons included.
        signal.signal(signal.SIGTERM, lambda *_: send(-1, signal.SIGTERM))
    server = os.fork()
    if server == 0:
        exec_server(config, argv, out_w, err_w)
    os.close(out_w)
    os.close(err_w)
    open_sinks = dict(zip((out_r, err_r), sinks))
    ended: int | None = None
    while ended is None:
        try:
            ready = readable([*open_sinks, wake_r])
        except InterruptedError:
            continue
        for fd in ready:
            if fd == wake_r:
                drain(wake_r)
            elif not open_sinks[fd].copy(fd):
                del open_sinks[fd]
        ended = reap(server)
    # What the server wrote last (bounded: its children may hold the pipes and go on writing).
    for fd, sink in open_sinks.items():
        sink.copy(fd, reads=16)
    for sink in sinks:
        sink.close()
    if os.WIFSIGNALED(ended):
        status.write(f"signal {os.WTERMSIG(ended)}\n")
    else:
        status.write(f"exit {os.WEXITSTATUS(ended)}\n")
    return 0


def reap(server: int) -> int | None:
    """Reap every child that ended (orphans too, when PID 1); the server's wait status if it did."""
    found = None
    while True:
        try:
            pid, code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return found
        if pid == 0:
            return found
        if pid == server:
            found = code
