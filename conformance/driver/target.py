"""How to start a server: its command as a template, where, and on which port (free ones
picked here, below the ephemeral range)."""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from conformance.outcome import RunnerError, UsageError


@dataclass(frozen=True)
class Target:
    """How to start one server: an argv template, where, and on which port."""

    name: str
    argv: tuple[str, ...]  # with {port}, {host}, {python} placeholders
    cwd: Path | None = None
    fixed_port: int | None = None
    host: str = "127.0.0.1"

    @classmethod
    def from_command(cls, name: str, command: str | list[str], **kw: object) -> Target:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            raise UsageError(f"{name}: empty server command")
        return cls(name, tuple(argv), **kw)  # type: ignore[arg-type]

    def render(self, port: int) -> list[str]:
        subst = {"{port}": str(port), "{host}": self.host, "{python}": sys.executable}
        out = []
        for arg in self.argv:
            for key, value in subst.items():
                arg = arg.replace(key, value)
            out.append(arg)
        return out

    def display(self, port: int | None = None) -> str:
        argv = self.render(port) if port is not None else list(self.argv)
        shown = (a if "{" in a else shlex.quote(a) for a in argv)
        return " ".join(shown).replace(sys.executable, "python3")

    def resolve(self) -> str:
        """The executable, or a UsageError naming what is wrong with it."""
        prog = self.render(0)[0]
        if os.sep in prog:
            path = Path(prog) if os.path.isabs(prog) else Path(self.cwd or ".") / prog
            if not path.exists():
                raise UsageError(f"{self.name}: command not found: {prog}")
            if not path.is_file() or not path.stat().st_mode & 0o111:
                raise UsageError(f"{self.name}: not an executable file: {prog}")
            return str(path)
        found = shutil.which(prog)
        if found is None:
            raise UsageError(f"{self.name}: command not found: {prog}")
        return found


_ports = itertools.count()


def pick_port(host: str) -> int:
    """A free port below the ephemeral range, so no client socket of ours can take it meanwhile.

    Each process walks its own stride of the range (pytest-xdist workers are processes)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    first, span = 10000, max(1000, low - 10000)
    start = (os.getpid() * 7919) % span
    for _ in range(span):
        port = first + (start + next(_ports) * 13) % span
        if port_is_free(host, port):
            return port
    raise RunnerError(f"no free port on {host} in {first}..{first + span}")


def port_is_free(host: str, port: int) -> bool:
    """Could a server without SO_REUSEADDR bind host:port now?"""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
