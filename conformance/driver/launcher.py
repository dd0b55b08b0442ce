"""Start a server under test and end it, with nothing left behind.

The server runs under its supervisor (supervisor.py): in a sandbox of its own where it can have
one (namespaces: its own loopback network, so that every server may bind 8080 at once; its own
PID namespace, so that nothing of it outlives it), with a scrubbed environment, stdin from
/dev/null, stdout/stderr captured to capped files and the spec's resource limits.  Readiness is
the server's port in LISTEN state, as the kernel tells it: no connection is made, so that the
server sees only the checks' clients; teardown is SIGTERM, a grace period, SIGKILL.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from conformance.driver import procfs
from conformance.driver.listeners import Listeners, Queues
from conformance.driver.locks import NameLock, PortLock, claim_uid
from conformance.driver.sandbox import SUPERVISOR, Cgroups, Network, isolation
from conformance.driver.view import own_paths, system_links, view_paths
from conformance.outcome import NonConformance, RunnerError, UsageError
from conformance.spec import Spec

POLL = 0.005  # seconds between readiness readings (sock_diag: tens of microseconds)
TIME_WAIT = 60.0  # Linux holds a closed connection's port this long (a rare race can leave one)
TAIL_LINES = 12


class _Live:
    """The servers this process has started and not yet stopped.  A run whose checks share the
    process (runner.run_in_threads) stops them all at once when it is interrupted, and starts no
    more: only the main thread hears Ctrl-C."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.groups: set[int] = set()  # the supervisors' process groups
        self.stopping = False

    def refuse(self) -> None:
        if self.stopping:
            raise RunnerError("the run was interrupted")


_LIVE = _Live()


def stop_all() -> None:
    """Kill every server this process started (their owners' stop() then finds them ended),
    and let no more start in this process: it is ending (the command line was interrupted)."""
    with _LIVE.lock:
        _LIVE.stopping = True
        for pgid in _LIVE.groups:
            _killpg(pgid, signal.SIGKILL)


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
    """One server process under test, in its sandbox (see supervisor.py)."""

    target: Target
    spec: Spec
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None  # the supervisor
    starts: int = 0
    isolated: str = field(default_factory=lambda: isolation()[0])  # "root", "user" or ""
    network: Network | None = None  # the server's network, isolated
    _init_pid: int | None = None  # the PID 1 of the server's namespaces, as we see it
    _status: IO[str] | None = None  # the supervisor's status pipe
    _said: list[str] = field(default_factory=list)  # what it said on it
    _port_lock: PortLock | None = None  # held while a fixed-port server is ours (no isolation)
    _uid_lock: NameLock | None = None  # held while the sandbox uid is this server's (as root)
    uid: int | None = None  # the uid a server isolated as root runs as
    shared: tuple[str, ...] = ()  # folders it also sees, read-only: a course's shared files
    _cgroups: Cgroups | None = None
    _listeners: Listeners | None = None
    # At most this many connections wait in its accept queue: the last reading plus the client
    # sockets made since.  This bound makes most readings needless.
    queue_bound: int = 0
    settled_at: float = 0.0  # when the last stateless example's settle ends (Session.close)
    connections: int = 0  # client sockets made since it started
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="echo-conf-")))

    @property
    def address(self) -> tuple[str, int]:
        return (self.target.host, self.port)

    @property
    def command(self) -> str:
        return self.target.display(self.port)

    def start(self) -> None:
        """Start the process and wait until it is ready: until its port is in LISTEN state (a
        server that serves a single connection in its life keeps it for the checks)."""
        assert self.proc is None or self.proc.poll() is not None
        _LIVE.refuse()
        self.connections = 0
        startup = self.spec.timeouts.startup
        if self.target.fixed_port is None:
            if not self.port or not port_is_free(self.target.host, self.port):
                self.port = pick_port(self.target.host)
            self._spawn()
            self._wait_listening(startup)
            return
        self.port = self.target.fixed_port
        if self.isolated:  # a network of its own: the port is free
            self._spawn()
            self._wait_listening(startup)
            return
        # One fixed-port server at a time on this machine, whichever process (xdist worker, or
        # another run) wants it.  And the port can still be held for a while by the connections
        # of the server that had it before (TIME_WAIT): a bind that fails so is retried, not
        # judged.
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
            lock = PortLock(self.port)
            lock.acquire()  # as long as another holder (any process, any user) keeps it
            self._port_lock = lock

    def _sandbox_uid(self) -> int:
        """This server's uid (its restarts keep it), claimed when first needed."""
        if self.uid is None:
            self.uid, self._uid_lock = claim_uid()
        return self.uid

    def _view(self, argv: list[str], cwd: Path, search: str, scratch: Path) -> dict[str, object]:
        """What the supervisor builds the server's view from (view.py); as root, its scratch
        made the sandbox uid's (in a user namespace the server's uid is ours)."""
        root = self.workdir / "view"
        root.mkdir(exist_ok=True)
        if self.isolated == "root":
            uid = self._sandbox_uid()
            os.chown(scratch, uid, uid)
        return {
            "root": str(root),
            "binds": view_paths(argv, cwd, search, self.shared),
            "own": own_paths(argv, cwd),
            "links": system_links(),
        }

    def _bind_conflict(self, offset: int) -> bool:
        """Did the process, since `offset` in its stderr, say that its address was in use?"""
        with open(self.err_path, "rb") as err:
            err.seek(offset)
            said = err.read(65536).lower()
        return b"address already in use" in said or b"eaddrinuse" in said

    def _spawn(self) -> None:
        argv = self.target.render(self.port)
        self.target.resolve()  # a command that cannot run is the user's mistake: one line
        scratch = self.workdir / "scratch"
        scratch.mkdir(exist_ok=True)
        limits = self.spec.limits
        if self._cgroups is None and self.isolated:
            self._cgroups = Cgroups(limits.processes, limits.memory_mib)
        status_r, status_w = os.pipe()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cwd = self.target.cwd or Path.cwd()
        search = os.environ.get("PATH", "/usr/bin:/bin")
        view = None
        if self.isolated:  # the view holds folders at their real places, not through links
            cwd = cwd.resolve()
            view = self._view(argv, cwd, search, scratch)
        home = "/tmp" if self.isolated else str(scratch)  # the view's /tmp is the scratch
        config = {
            "isolate": self.isolated,
            "uid": self.uid,
            "view": view,
            "status_fd": status_w,
            "channel_fd": theirs.fileno(),
            "cwd": str(cwd),
            "scratch": str(scratch),
            "stdout": str(self.out_path),
            "stderr": str(self.err_path),
            "output_cap": limits.output_kib * 1024,
            "cgroups": [str(p) for p in self._cgroups.paths] if self._cgroups else [],
            "limits": {
                "nofile": limits.nofile,
                "as": limits.address_space_mib << 20,
                "cpu": limits.cpu_seconds,
                "fsize": limits.file_size_mib << 20,
            },
            "env": {
                "PATH": search,
                "LANG": "C.UTF-8",
                "HOME": home,
                "TMPDIR": home,
                "PORT": str(self.port),
                "HOST": self.target.host,
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONUNBUFFERED": "1",
                # Measuring servers with coverage (tox -e coverage) is the one thing let in.
                **{k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")},
            },
        }
        self.starts += 1
        self._said = []
        self._init_pid = None
        self._close_handles()
        try:
            with _LIVE.lock:  # stop_all() sees it, or it is never started
                _LIVE.refuse()
                self.proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", SUPERVISOR, json.dumps(config), "--", *argv],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    pass_fds=[status_w, theirs.fileno()],
                    start_new_session=True,
                )
                _LIVE.groups.add(self.proc.pid)  # start_new_session: its pid is the group id
        finally:
            os.close(status_w)
            theirs.close()
        os.set_blocking(status_r, False)
        self._status = os.fdopen(status_r)
        if self.isolated:
            self.network = Network(ours)
            self.network.ask_ahead(self._family, socket.SOCK_STREAM, 0)  # for the first clients
        else:
            ours.close()
        self._await_sandbox()

    def _await_sandbox(self) -> None:
        """Wait for the supervisor's "ready" (its "init PID" first, isolated)."""
        deadline = time.monotonic() + self.spec.timeouts.startup
        while not any(line.startswith(("ready", "exit", "signal", "error")) for line in self._said):
            if time.monotonic() > deadline or not self.alive():
                self._read_status()
                break
            time.sleep(0.002)
            self._read_status()
        for line in self._said:
            if line.startswith("error"):
                self.stop()
                raise RunnerError(line.removeprefix("error ").strip())

    def _read_status(self) -> None:
        if self._status is None:
            return
        try:
            while line := self._status.readline():
                self._said.append(line.strip())
                if line.startswith("init "):  # the PID 1 of its namespaces, as we see it
                    self._init_pid = int(line.split()[1])
        except (BlockingIOError, TypeError):
            pass  # TypeError: a non-blocking text read with nothing there (CPython quirk)

    @property
    def _family(self) -> int:
        return socket.AF_INET6 if ":" in self.target.host else socket.AF_INET

    def new_socket(self, family: int) -> socket.socket:
        """A client socket that reaches the server: inside its network namespace, if it has one."""
        self.queue_bound += 1
        self.connections += 1
        return self._socket_inside(family, socket.SOCK_STREAM, 0)

    def await_settled(self) -> None:
        """Until the moment settled_at, which Session.close sets at a stateless example's end."""
        time.sleep(max(0.0, self.settled_at - time.monotonic()))

    def restart(self) -> None:
        """Start it again, once it has ended: to gather evidence, never to turn an ending into
        a pass (endings.py)."""
        self.stop()
        self.start()

    def await_exit(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the server to end; has it?"""
        return _until(lambda: not self.alive(), timeout)

    def alive(self) -> bool:
        """Is the server running?  Isolated: is its PID 1 (the supervisor outlives it)."""
        if self.proc is None or self.proc.poll() is not None:
            return False
        return self._init_pid is None or procfs.alive(self._init_pid)

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
        while True:
            if not self.alive():
                raise NonConformance(
                    f"the server {self.exit_status()} before listening "
                    f"on {self.target.host}:{self.port}",
                    self.diagnostics(),
                    {"server": self.account()},
                )
            if self._listening():
                return
            if time.monotonic() > deadline:
                raise NonConformance(
                    f"the server did not listen on {self.target.host}:{self.port} within "
                    f"{timeout:g} s{self._elsewhere()}",
                    self.diagnostics(),
                    {"server": self.account()},
                )
            time.sleep(POLL)

    def _listening(self) -> bool:
        """Is the server's port in LISTEN state?  In a network of its own, whatever listens on
        it is the server's; in a shared one, only a socket that the server's processes hold."""
        if self.network is not None:
            return self.listeners is not None and self.listeners.find(self.port) is not None
        return self.port in self.listening_ports()

    def await_accepted(self, timeout: float) -> bool | None:
        """Wait until no connection waits in the server's accept queue (the kernel completes
        the handshake of a server that never calls accept()): has it accepted them all?  None
        when the queue cannot be read."""
        deadline = time.monotonic() + timeout
        while (queued := self.accept_queue()) != 0:
            if queued is None:
                return None
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    def accepts_nothing(self) -> bool:
        """Do connections wait in the accept queue while the server holds none it accepted?
        (Then it is not calling accept(), whatever else it does.)"""
        queued = self.accept_queue()
        return bool(queued) and self.held_connections() == 0

    def held_connections(self) -> int | None:
        """Connections to the server's port that it accepted and still holds, from its
        network's socket tables: one still in the accept queue, or closed, has no inode."""
        pids = self.pids()
        if not pids:
            return None
        held = 0
        for table in ("tcp", "tcp6"):
            try:
                with open(f"/proc/{pids[0]}/net/{table}", encoding="ascii") as rows:
                    next(rows, None)
                    for row in rows:
                        f = row.split()
                        local_port = int(f[1].rsplit(":", 1)[1], 16)
                        held += local_port == self.port and f[3] != "0A" and f[9] != "0"
            except (OSError, ValueError, IndexError):
                continue
        return held

    def _elsewhere(self) -> str:
        """Where it listens instead, said so that the user can check it there."""
        ports = sorted(set(self.listening_ports()) - {self.port})
        if not ports:
            return ""
        shown = ", ".join(map(str, ports))
        return (
            f"; it listens on port {shown} instead (a hard-coded port? check it there with "
            f"--fixed-port {ports[0]})"
        )

    def stop(self) -> None:
        """SIGTERM the supervisor's group, wait the grace period, SIGKILL what is left.

        Isolated, the supervisor passes SIGTERM on to every process in the server's namespace,
        and when it ends the kernel ends them all."""
        proc = self.proc
        if proc is None:
            return
        pgid = proc.pid  # start_new_session: the leader's pid is the group id
        if self.alive():
            _killpg(pgid, signal.SIGTERM)
            deadline = time.monotonic() + self.spec.timeouts.grace
            while self.alive() and time.monotonic() < deadline:
                if self._deaf_to_sigterm():
                    break
                time.sleep(0.01)
        _killpg(pgid, signal.SIGKILL)  # also the leader's children that outlived it
        with _LIVE.lock:  # before the wait: until reaped, its pid is nobody else's
            _LIVE.groups.discard(pgid)
        proc.wait()
        self._read_status()
        grace = self.spec.timeouts.grace
        init = self._init_pid
        if init is not None:
            # The kernel ends a PID namespace's other processes before its PID 1 is gone.
            _until(lambda: not procfs.alive(init), grace, 0.005)
        else:  # SIGKILLed, its processes end a moment later: none is to be seen after stop()
            _until(lambda: not any(procfs.alive(pid) for pid in self.pids()), grace, 0.005)

    def _close_handles(self) -> None:
        if self._listeners is not None:
            self._listeners.close()
            self._listeners = None
        if self.network is not None:
            self.network.close()
            self.network = None
        if self._status is not None:
            self._status.close()
            self._status = None

    def close(self) -> None:
        self.stop()
        self._close_handles()
        if self._cgroups is not None:
            self._cgroups.close()
        for lock in (self._port_lock, self._uid_lock):
            if lock is not None:
                lock.release()
        self._port_lock = self._uid_lock = None
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
        if self.proc is None or self.alive():
            return "is running"
        self._read_status()
        for line in reversed(self._said):
            what, _, number = line.partition(" ")
            if what == "exit":
                return f"exited with status {number}"
            if what == "signal":
                return f"was killed by {_signal_name(int(number))}"
        code = self.proc.returncode
        if code is None:  # its PID 1 ended without a word (killed): the supervisor outlives it
            return "ended"
        return f"was killed by {_signal_name(-code)}" if code < 0 else f"ended (status {code})"

    def stderr_tail(self, lines: int = TAIL_LINES) -> str:
        try:
            data = self.err_path.read_bytes()[-8192:]
        except OSError:
            return ""
        text = data.decode("utf-8", "replace").rstrip()
        return "\n".join(text.splitlines()[-lines:])

    def account(self) -> dict[str, str]:
        """What the server did, as data: command, exit, stderr tail."""
        return {
            "command": self.command,
            "process": self.exit_status(),
            "stderr": self.stderr_tail(),
        }

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

    # -- what the kernel tells about the server -------------------------------------------

    @property
    def listeners(self) -> Listeners | None:
        """The listening sockets of the server's network (None before it starts)."""
        if self._listeners is None and self.proc is not None:
            self._listeners = Listeners(self._socket_inside, self.proc.pid)
        return self._listeners

    def _socket_inside(self, family: int, kind: int, proto: int) -> socket.socket:
        """A socket in the server's network namespace, if it has one (else in ours)."""
        if self.network is not None:
            return self.network.socket(family, kind, proto)
        return socket.socket(family, kind, proto)

    def accept_queue(self) -> int | None:
        """Connections waiting in the server's accept queue (None when it cannot be read), so
        that clients can be paced to what a small listen backlog holds instead of having their
        SYNs dropped and retried a second later."""
        listener = self.listeners.find(self.port) if self.listeners else None
        # Unreadable, the queue is read again a few connects later.
        self.queue_bound = listener.queued if listener else 0
        return listener.queued if listener else None

    def queue_full(self, room: int) -> int | None:
        """How many connections wait in the accept queue when `room` or more do; None when
        fewer do (or it cannot be read).  The queue is read only when queue_bound says it may be
        that full."""
        if self.queue_bound < room:
            return None
        queued = self.accept_queue()
        return queued if queued is not None and queued >= room else None

    def connection_queues(self, client_port: int) -> Queues | None:
        """The server's end of the connection from `client_port`, as its kernel holds it: the
        reply bytes it could not send yet, and the client's window as it sees it.  None when it
        cannot be read (or the server's end is gone)."""
        return self.listeners.connection(self.port, client_port) if self.listeners else None

    def listening_ports(self) -> list[int]:
        """The ports the server's own processes listen on."""
        inodes = procfs.socket_inodes(self.pids())
        return [x.port for x in self.listeners.all() if x.inode in inodes] if self.listeners else []

    def pids(self) -> list[int]:
        """Pids (as we see them) of every live process of the server: those in its PID namespace
        when isolated, else those in its process group.  For reading /proc about the server."""
        if self.proc is None:
            return []
        if self._init_pid is not None:
            return procfs.in_pid_namespace_of(self._init_pid)
        return procfs.in_group(self.proc.pid)

    def _deaf_to_sigterm(self) -> bool:
        """Is every live process of the server (its supervisors aside) ignoring SIGTERM?  Then
        the grace period would be wasted.  (When none is left, the supervisor is finishing.)"""
        supervisors = {self.proc.pid if self.proc else 0, self._init_pid}
        deaf = False
        for pid in self.pids():
            if pid in supervisors:
                continue
            ignored = procfs.ignores(pid, signal.SIGTERM)
            if ignored is False:
                return False  # it catches SIGTERM, or is ending by it right now
            deaf = deaf or bool(ignored)
        return deaf

    def descriptors(self) -> tuple[int, int] | None:
        """(held, limit) of the server's process with the fewest descriptors to spare: how many
        it has open (/proc/PID/fd) and its soft RLIMIT_NOFILE.  A process holding `limit` has
        run out: its next accept() fails with EMFILE.  None when no process can be read."""
        return procfs.fullest(self.pids())

    @property
    def exact_cpu(self) -> bool:
        """Is cpu_seconds() counted to the nanosecond (else in clock ticks, 10 ms apiece)?"""
        return self._cgroups is not None and self._cgroups.usage is not None

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the server: of every process ever in its cgroup, else of
        every live process, in clock ticks."""
        if self._cgroups is not None and (exact := self._cgroups.cpu_seconds()) is not None:
            return exact
        return procfs.cpu_seconds(self.pids())


def _until(done: Callable[[], bool], timeout: float, step: float = 0.002) -> bool:
    """Poll `done()` every `step` seconds until it holds or `timeout` seconds pass; does it?"""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
    return True


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except OSError as exc:
        if exc.errno not in (errno.ESRCH, errno.EPERM):
            raise
