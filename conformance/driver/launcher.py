"""Start a server under test and end it, with nothing left behind.

The server runs under its supervisor (supervisor/): in a sandbox of its own where it can have
one (namespaces: its own loopback network, so that every server may bind 8080 at once; its own
PID namespace, so that nothing of it outlives it), with a scrubbed environment, stdin from
/dev/null, stdout/stderr captured to capped files and the spec's resource limits.  Readiness is
the server's port in LISTEN state, as the kernel tells it: no connection is made, so that the
server sees only the checks' clients; teardown is SIGTERM, a grace period, SIGKILL.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from conformance.driver import procfs
from conformance.driver.kernel import KernelView
from conformance.driver.live import LIVE, killpg
from conformance.driver.locks import NameLock, PortLock, claim_uid
from conformance.driver.sandbox import SUPERVISOR, Cgroups, Network, isolation
from conformance.driver.status import SupervisorStatus
from conformance.driver.target import Target, pick_port, port_is_free
from conformance.driver.view import own_paths, system_links, view_paths
from conformance.outcome import Cause, NonConformance, RunnerError
from conformance.spec import Spec

POLL = 0.005  # seconds between readiness readings (sock_diag: tens of microseconds)
TIME_WAIT = 60.0  # Linux holds a closed connection's port this long (a rare race can leave one)
TAIL_LINES = 12


@dataclass
class Server:
    """One server process under test, in its sandbox (see supervisor/)."""

    target: Target
    spec: Spec
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None  # the supervisor
    starts: int = 0
    isolated: str = field(default_factory=lambda: isolation()[0])  # "root", "user" or ""
    network: Network | None = None  # the server's network, isolated
    status: SupervisorStatus = field(default_factory=SupervisorStatus)
    _port_lock: PortLock | None = None  # held while a fixed-port server is ours (no isolation)
    _uid_lock: NameLock | None = None  # held while the sandbox uid is this server's (as root)
    uid: int | None = None  # the uid a server isolated as root runs as
    shared: tuple[str, ...] = ()  # folders it also sees, read-only: a course's shared files
    cgroups: Cgroups | None = None
    settled_at: float = 0.0  # when the last stateless example's settle ends (Session.close)
    connections: int = 0  # client sockets made since it started
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="echo-conf-")))
    kernel: KernelView = field(init=False)  # what the kernel tells about it

    def __post_init__(self) -> None:
        self.kernel = KernelView(self)

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
        LIVE.refuse()
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
        if self.cgroups is None and self.isolated:
            self.cgroups = Cgroups(limits.processes, limits.memory_mib)
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
            "cgroups": [str(p) for p in self.cgroups.paths] if self.cgroups else [],
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
        self._close_handles()
        try:
            with LIVE.lock:  # stop_all() sees it, or it is never started
                LIVE.refuse()
                self.proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", SUPERVISOR, json.dumps(config), "--", *argv],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    pass_fds=[status_w, theirs.fileno()],
                    start_new_session=True,
                )
                LIVE.groups.add(self.proc.pid)  # start_new_session: its pid is the group id
        finally:
            os.close(status_w)
            theirs.close()
        self.status.listen(status_r)
        if self.isolated:
            self.network = Network(ours)
            self.network.ask_ahead(self._family, socket.SOCK_STREAM, 0)  # for the first clients
        else:
            ours.close()
        self._await_sandbox()

    def _await_sandbox(self) -> None:
        """Wait for the supervisor's "ready" (its "init PID" first, isolated)."""
        deadline = time.monotonic() + self.spec.timeouts.startup
        while not self.status.started():
            if time.monotonic() > deadline or not self.alive():
                self.status.read()
                break
            time.sleep(0.002)
            self.status.read()
        if (error := self.status.error()) is not None:
            self.stop()
            raise RunnerError(error)

    @property
    def _family(self) -> int:
        return socket.AF_INET6 if ":" in self.target.host else socket.AF_INET

    def new_socket(self, family: int) -> socket.socket:
        """A client socket that reaches the server: inside its network namespace, if it has one."""
        self.kernel.queue_bound += 1
        self.connections += 1
        return self.kernel.socket_inside(family, socket.SOCK_STREAM, 0)

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
        init = self.status.init_pid
        return init is None or procfs.alive(init)

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
                data: dict[str, object] = {"server": self.account()}
                if self._bind_conflict(0):
                    data["cause"] = Cause.ADDRESS_IN_USE.value
                raise NonConformance(
                    f"the server {self.exit_status()} before listening "
                    f"on {self.target.host}:{self.port}",
                    self.diagnostics(),
                    data,
                )
            if self.kernel.listening():
                return
            if time.monotonic() > deadline:
                raise NonConformance(
                    f"the server did not listen on {self.target.host}:{self.port} within "
                    f"{timeout:g} s{self._elsewhere()}",
                    self.diagnostics(),
                    {"server": self.account(), "cause": Cause.NOT_LISTENING.value},
                )
            time.sleep(POLL)

    def _elsewhere(self) -> str:
        """Where it listens instead, said so that the user can check it there."""
        ports = sorted(set(self.kernel.listening_ports()) - {self.port})
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
            killpg(pgid, signal.SIGTERM)
            deadline = time.monotonic() + self.spec.timeouts.grace
            while self.alive() and time.monotonic() < deadline:
                if self.kernel.deaf_to_sigterm():
                    break
                time.sleep(0.01)
        killpg(pgid, signal.SIGKILL)  # also the leader's children that outlived it
        with LIVE.lock:  # before the wait: until reaped, its pid is nobody else's
            LIVE.groups.discard(pgid)
        proc.wait()
        self.status.read()
        grace = self.spec.timeouts.grace
        init = self.status.init_pid
        if init is not None:
            # The kernel ends a PID namespace's other processes before its PID 1 is gone.
            _until(lambda: not procfs.alive(init), grace, 0.005)
        else:  # SIGKILLed, its processes end a moment later: none is to be seen after stop()
            _until(lambda: not any(procfs.alive(pid) for pid in self.kernel.pids()), grace, 0.005)

    def _close_handles(self) -> None:
        self.kernel.forget()
        if self.network is not None:
            self.network.close()
            self.network = None
        self.status.close()

    def close(self) -> None:
        self.stop()
        self._close_handles()
        if self.cgroups is not None:
            self.cgroups.close()
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
        return self.status.ending(self.proc.returncode)

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

def _until(done: Callable[[], bool], timeout: float, step: float = 0.002) -> bool:
    """Poll `done()` every `step` seconds until it holds or `timeout` seconds pass; does it?"""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
    return True
