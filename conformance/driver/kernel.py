"""A running server as its kernel tells it: its processes, its listening socket and accept queue,
its connections' queues, its descriptors, its CPU time.  Read only: nothing here is sent to the
server, so that reading it changes nothing the server sees."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from typing import Protocol

from conformance.driver import procfs
from conformance.driver.listeners import Listeners, Queues
from conformance.driver.sandbox import Cgroups, Network
from conformance.driver.status import SupervisorStatus


class Running(Protocol):
    """What the kernel is asked about: a started server (launcher.Server is one)."""

    port: int
    proc: subprocess.Popen[bytes] | None  # its supervisor
    status: SupervisorStatus  # what the supervisor said: the PID 1 of its namespaces
    network: Network | None  # its network namespace, isolated
    cgroups: Cgroups | None


@dataclass
class KernelView:
    """What the kernel and /proc say about one server (Server.kernel), across its restarts."""

    server: Running
    # At most this many connections wait in its accept queue: the last reading plus the client
    # sockets made since (Server.new_socket).  This bound makes most readings needless.
    queue_bound: int = 0
    _listeners: Listeners | None = None

    @property
    def listeners(self) -> Listeners | None:
        """The listening sockets of the server's network (None before it starts)."""
        proc = self.server.proc
        if self._listeners is None and proc is not None:
            self._listeners = Listeners(self.socket_inside, proc.pid)
        return self._listeners

    def forget(self) -> None:
        """The server is starting again, in a new network: what was read of the old one goes."""
        if self._listeners is not None:
            self._listeners.close()
            self._listeners = None

    def socket_inside(self, family: int, kind: int, proto: int) -> socket.socket:
        """A socket in the server's network namespace, if it has one (else in ours)."""
        network = self.server.network
        if network is not None:
            return network.socket(family, kind, proto)
        return socket.socket(family, kind, proto)

    def listening(self) -> bool:
        """Is the server's port in LISTEN state?  In a network of its own, whatever listens on
        it is the server's; in a shared one, only a socket that the server's processes hold."""
        if self.server.network is not None:
            return self.listeners is not None and self.listeners.find(self.server.port) is not None
        return self.server.port in self.listening_ports()

    def accept_queue(self) -> int | None:
        """Connections waiting in the server's accept queue (None when it cannot be read), so
        that clients can be paced to what a small listen backlog holds instead of having their
        SYNs dropped and retried a second later."""
        listener = self.listeners.find(self.server.port) if self.listeners else None
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
                        held += local_port == self.server.port and f[3] != "0A" and f[9] != "0"
            except (OSError, ValueError, IndexError):
                continue
        return held

    def connection_queues(self, client_port: int) -> Queues | None:
        """The server's end of the connection from `client_port`, as its kernel holds it: the
        reply bytes it could not send yet, and the client's window as it sees it.  None when it
        cannot be read (or the server's end is gone)."""
        listeners = self.listeners
        return listeners.connection(self.server.port, client_port) if listeners else None

    def listening_ports(self) -> list[int]:
        """The ports the server's own processes listen on."""
        inodes = procfs.socket_inodes(self.pids())
        return [x.port for x in self.listeners.all() if x.inode in inodes] if self.listeners else []

    def pids(self) -> list[int]:
        """Pids (as we see them) of every live process of the server: those in its PID namespace
        when isolated, else those in its process group.  For reading /proc about the server."""
        proc, init = self.server.proc, self.server.status.init_pid
        if proc is None:
            return []
        if init is not None:
            return procfs.in_pid_namespace_of(init)
        return procfs.in_group(proc.pid)

    def deaf_to_sigterm(self) -> bool:
        """Is every live process of the server (its supervisors aside) ignoring SIGTERM?  Then
        the grace period would be wasted.  (When none is left, the supervisor is finishing.)"""
        proc = self.server.proc
        supervisors = {proc.pid if proc else 0, self.server.status.init_pid}
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
        cgroups = self.server.cgroups
        return cgroups is not None and cgroups.usage is not None

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the server: of every process ever in its cgroup, else of
        every live process, in clock ticks."""
        cgroups = self.server.cgroups
        if cgroups is not None and (exact := cgroups.cpu_seconds()) is not None:
            return exact
        return procfs.cpu_seconds(self.pids())
