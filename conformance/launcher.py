"""Start a server under test and end it, with nothing left behind.

The server runs in its own process group (a new session), with a scrubbed environment, stdin from
/dev/null, stdout/stderr to files (never an undrained pipe) and RLIMIT_NOFILE from the spec.
Readiness is a connect that succeeds; teardown is SIGTERM to the group, a grace period, SIGKILL.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from conformance.outcome import NonConformance, RunnerError, UsageError
from conformance.spec import Spec

POLL = 0.02  # seconds between readiness probes
TIME_WAIT = 60.0  # Linux holds a closed connection's port this long (a rare race can leave one)
TAIL_LINES = 12


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


@dataclass
class Server:
    """One server process under test."""

    target: Target
    spec: Spec
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    pacing: bool = True  # clients wait for room in the accept queue (until it once stays full)
    _port_lock: IO[str] | None = None  # held while a fixed-port server is ours
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="echo-conf-")))

    @property
    def address(self) -> tuple[str, int]:
        return (self.target.host, self.port)

    @property
    def command(self) -> str:
        return self.target.display(self.port)

    def start(self) -> None:
        """Start the process and wait until it accepts a connection (`listen`)."""
        assert self.proc is None or self.proc.poll() is not None
        startup = self.spec.timeouts.startup
        if self.target.fixed_port is None:
            if not self.port or not port_is_free(self.target.host, self.port):
                self.port = pick_port(self.target.host)
            self._spawn()
            self._wait_listening(startup)
            return
        # One fixed-port server at a time on this machine, whichever process (xdist worker, or
        # another run) wants it.  And the port can still be held for a while by the connections
        # of the server that had it before (TIME_WAIT): a bind that fails so is retried, not
        # judged.
        self.port = self.target.fixed_port
        self._lock_port()
        give_up = time.monotonic() + TIME_WAIT + startup
        while True:
            self._wait_port_free(give_up - time.monotonic())
            seen = self.err_path.stat().st_size if self.err_path.exists() else 0
            self._spawn()
            try:
                self._wait_listening(startup)
                return
            except NonConformance:
                if time.monotonic() > give_up or not self._bind_conflict(seen):
                    raise
            self.stop()
            time.sleep(0.2)

    def _lock_port(self) -> None:
        if self._port_lock is None:
            path = Path(tempfile.gettempdir()) / f"echo-conformance-port-{self.port}.lock"
            self._port_lock = open(path, "a+")  # noqa: SIM115 - held until close()
            fcntl.flock(self._port_lock, fcntl.LOCK_EX)

    def _bind_conflict(self, offset: int) -> bool:
        """Did the process, since `offset` in its stderr, say that its address was in use?"""
        with open(self.err_path, "rb") as err:
            err.seek(offset)
            said = err.read(65536).lower()
        return b"address already in use" in said or b"eaddrinuse" in said

    def _spawn(self) -> None:
        argv = self.target.render(self.port)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.workdir),
            "TMPDIR": str(self.workdir),
            "PORT": str(self.port),
            "HOST": self.target.host,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        prlimit = shutil.which("prlimit")
        nofile = self.spec.nofile
        if prlimit:
            argv = [prlimit, f"--nofile={nofile}:{nofile}", "--", *argv]
        self.starts += 1
        with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
            try:
                self.proc = subprocess.Popen(
                    argv,
                    cwd=self.target.cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    preexec_fn=None if prlimit else _limit_nofile(nofile),
                )
            except OSError as exc:
                raise UsageError(f"{self.target.name}: cannot start {argv[0]}: {exc}") from None

    def ensure_running(self) -> bool:
        """Restart the server if it has exited; True when it had to."""
        if self.alive():
            return False
        self.stop()
        self.start()
        return True

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _wait_port_free(self, timeout: float) -> None:
        deadline = time.monotonic() + max(0.0, timeout)
        while not port_is_free(self.target.host, self.port):
            if time.monotonic() > deadline:
                raise RunnerError(
                    f"port {self.port} on {self.target.host} is still in use after {timeout:g} s:"
                    " another process holds it, so this fixed-port server cannot be started"
                )
            time.sleep(0.05)

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        family = socket.AF_INET6 if ":" in self.target.host else socket.AF_INET
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise NonConformance(
                    f"the server {self.exit_status()} before accepting a connection "
                    f"on {self.target.host}:{self.port}",
                    self.diagnostics(),
                )
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(max(0.05, min(1.0, deadline - time.monotonic())))
                try:
                    probe.connect(self.address)
                    return  # closed with a FIN: the gentlest probe a server can see
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise NonConformance(
                    f"the server did not accept a connection on {self.target.host}:{self.port} "
                    f"within {timeout:g} s",
                    self.diagnostics(),
                )
            time.sleep(POLL)

    def stop(self) -> None:
        """SIGTERM the process group, wait the grace period, SIGKILL what is left."""
        proc = self.proc
        if proc is None:
            return
        pgid = proc.pid  # start_new_session: the leader's pid is the group id
        _killpg(pgid, signal.SIGTERM)
        try:
            proc.wait(self.spec.timeouts.grace)
        except subprocess.TimeoutExpired:
            pass
        _killpg(pgid, signal.SIGKILL)  # also the leader's children that outlived it
        proc.wait()

    def close(self) -> None:
        self.stop()
        if self._port_lock is not None:
            self._port_lock.close()  # releases the lock
            self._port_lock = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def out_path(self) -> Path:
        return self.workdir / "stdout"

    @property
    def err_path(self) -> Path:
        return self.workdir / "stderr"

    def exit_status(self) -> str:
        code = self.proc.poll() if self.proc else None
        if code is None:
            return "is running"
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with status {code}"

    def stderr_tail(self, lines: int = TAIL_LINES) -> str:
        try:
            data = self.err_path.read_bytes()[-8192:]
        except OSError:
            return ""
        text = data.decode("utf-8", "replace").rstrip()
        return "\n".join(text.splitlines()[-lines:])

    def diagnostics(self) -> str:
        """What the server did, for a person: command, exit, stderr tail."""
        out = [f"server: {self.command}", f"process: {self.exit_status()}"]
        if self.starts > 1:
            out.append(f"started {self.starts} times (restarted after exiting)")
        tail = self.stderr_tail()
        if tail:
            out.append("stderr (last lines):")
            out += ["  | " + line for line in tail.splitlines()]
        return "\n".join(out)

    def accept_queue(self) -> int | None:
        """Connections waiting in the server's accept queue (None when it cannot be read).

        Read from the kernel's socket table (/proc/PID/net/tcp: a LISTEN socket's rx_queue is
        its accept queue), so clients can be paced to what a small listen backlog holds
        instead of having their SYNs dropped and retried a second later."""
        if self.proc is None:
            return None
        suffix = f":{self.port:04X}"
        for table in ("tcp", "tcp6"):
            try:
                with open(f"/proc/{self.proc.pid}/net/{table}") as lines:
                    next(lines)  # the header
                    # Listening sockets come first; stop before the (long) connection table.
                    for fields in map(str.split, lines):
                        if fields[3] != "0A":  # 0A: LISTEN
                            break
                        if fields[1].endswith(suffix):
                            return int(fields[4].split(":")[1], 16)
            except (OSError, StopIteration, IndexError, ValueError):
                return None
        return None

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of every live process in the server's group."""
        if self.proc is None:
            return 0.0
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            # fields[2] is the pgrp, [11] utime, [12] stime (man 5 proc, from field 3 on)
            if int(fields[2]) == self.proc.pid:
                total += int(fields[11]) + int(fields[12])
        return total / tick


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except OSError as exc:
        if exc.errno not in (errno.ESRCH, errno.EPERM):
            raise


def _limit_nofile(n: int):  # type: ignore[no-untyped-def]
    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    return limit
