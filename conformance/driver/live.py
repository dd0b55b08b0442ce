"""The servers this process has started and not yet stopped, so that an interrupted run can end
them all at once (launcher.Server registers each supervisor's process group here)."""

from __future__ import annotations

import errno
import os
import signal
import threading

from conformance.outcome import RunnerError


class Live:
    """The servers this process has started and not yet stopped.  A run whose checks share the
    process (runner.run_in_threads) stops them all at once when it is interrupted, and starts no
    more: only the main thread hears Ctrl-C."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.groups: set[int] = set()  # the supervisors' process groups
        self.stopping = False

    def refuse(self) -> None:
        if self.stopping or worker_halted():
            raise RunnerError("the run was interrupted")


LIVE = Live()
_worker = threading.local()  # the run that a thread of runner.run_in_threads checks for


def work_for(halted: threading.Event) -> None:
    """This thread checks for the run that `halted` ends: once it is set, the thread starts no
    server, also after resume(), when the run has returned and left it behind (a check that had
    not noticed its server killed): what it started would outlive the run."""
    _worker.halted = halted


def worker_halted() -> bool:
    halted = getattr(_worker, "halted", None)
    return halted is not None and halted.is_set()


def stop_all() -> None:
    """Kill every server this process started (their owners' stop() then finds them ended),
    and let no more start in this process: it is ending (the command line was interrupted)."""
    with LIVE.lock:
        LIVE.stopping = True
        for pgid in LIVE.groups:
            killpg(pgid, signal.SIGKILL)


def resume() -> None:
    """Let servers start again in this process: a run stopped early (-x), or one of a series
    (--watch), has ended, and the next may begin."""
    with LIVE.lock:
        LIVE.stopping = False


def killpg(pgid: int, sig: int) -> None:
    """Signal a process group that may be gone already (or, as a user, not ours to signal)."""
    try:
        os.killpg(pgid, sig)
    except OSError as exc:
        if exc.errno not in (errno.ESRCH, errno.EPERM):
            raise
