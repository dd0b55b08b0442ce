"""Helpers for the runner's own tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from conformance.impls import Implementation, adhoc

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SERVERS = TESTS / "servers"


def server(file: str, *args: str) -> Implementation:
    """An implementation for one of tests/servers, run with this interpreter."""
    return adhoc([sys.executable, str(SERVERS / file), "{port}", "{host}", *args], name=file)


def script(tmp_path: Path, source: str, name: str = "server.py") -> Implementation:
    """A throwaway server written for one test."""
    path = tmp_path / name
    path.write_text(source)
    return adhoc([sys.executable, str(path), "{port}", "{host}"], name=name)


def processes_with(token: str) -> list[int]:
    """The live processes whose command line holds `token`."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes()
                status = Path(entry.path, "status").read_text()
                if token.encode() in cmdline and "State:\tZ" not in status:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found
