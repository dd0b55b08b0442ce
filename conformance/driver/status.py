"""The supervisor's status pipe: what it says of the server it runs, a line at a time.

    init PID       the PID 1 of the server's namespaces, as the runner sees it (isolated)
    ready          the server is started
    exit N         the server exited with status N
    signal N       the server was killed by signal N
    error TEXT     the sandbox could not be made: the runner's failure, not the server's
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from typing import IO

FINAL = ("ready", "exit", "signal", "error")  # what ends the wait for a start


@dataclass
class SupervisorStatus:
    """What one start's supervisor has said so far."""

    said: list[str] = field(default_factory=list)
    init_pid: int | None = None  # the PID 1 of the server's namespaces, as we see it
    _pipe: IO[str] | None = None

    def listen(self, fd: int) -> None:
        """A new start: read its supervisor's pipe `fd` from now on (not blocking)."""
        self.close()
        self.said, self.init_pid = [], None
        os.set_blocking(fd, False)
        self._pipe = os.fdopen(fd)

    def read(self) -> None:
        """Take in what it has said since the last read."""
        if self._pipe is None:
            return
        try:
            while line := self._pipe.readline():
                self.said.append(line.strip())
                if line.startswith("init "):
                    self.init_pid = int(line.split()[1])
        except (BlockingIOError, TypeError):
            pass  # TypeError: a non-blocking text read with nothing there (CPython quirk)

    def started(self) -> bool:
        """Has the start come to an end, one way or another?"""
        return any(line.startswith(FINAL) for line in self.said)

    def error(self) -> str | None:
        """Why the sandbox could not be made, if it could not."""
        for line in self.said:
            if line.startswith("error"):
                return line.removeprefix("error ").strip()
        return None

    def ending(self, returncode: int | None) -> str:
        """How the server ended, for a sentence ("the server ..."), given the supervisor's own
        exit status (None while the supervisor outlives it)."""
        self.read()
        for line in reversed(self.said):
            what, _, number = line.partition(" ")
            if what == "exit":
                return f"exited with status {number}"
            if what == "signal":
                return f"was killed by {signal_name(int(number))}"
        if returncode is None:  # its PID 1 ended without a word (killed); the supervisor lives
            return "ended"
        if returncode < 0:
            return f"was killed by {signal_name(-returncode)}"
        return f"ended (status {returncode})"

    def close(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
