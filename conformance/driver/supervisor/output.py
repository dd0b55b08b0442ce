"""The server's stdout and stderr, each into a file capped in size: the rest is counted and
dropped, so that a flood neither blocks the server nor fills the disk."""

from __future__ import annotations

import os

TRUNCATED = b"\n[... output truncated by echo-conformance: %d more bytes dropped]\n"


class Sink:
    """One output file that stops growing at `cap` bytes and says how much it dropped."""

    def __init__(self, path: str, cap: int) -> None:
        self.file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
        self.room = cap
        self.dropped = 0

    def copy(self, fd: int, reads: int = 1 << 30) -> bool:
        """Copy what is readable from `fd` (at most `reads` reads); False at EOF."""
        for _ in range(reads):
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return True
            if not data:
                return False
            kept = data[: self.room]
            if kept:
                self.file.write(kept)
                self.room -= len(kept)
            self.dropped += len(data) - len(kept)
        return True

    def close(self) -> None:
        if self.dropped:
            self.file.write(TRUNCATED % self.dropped)
        self.file.close()
