"""The runner's side of the sandbox: can it be had, and how to reach inside it.

The supervisor (supervisor/, a program of its own) builds the sandbox around each server.  Here
the runner decides whether it can: as root, or as any user where the kernel lets one make user
namespaces (most current distributions do); makes the server's control groups (root only); and
gets its client sockets from inside the server's network namespace: the supervisor, which lives
there, makes them and hands them over a Unix socket pair (an unprivileged runner cannot enter a
namespace that a user namespace owns; one way for both modes).  A handed socket keeps the
namespace it was made in; each request brings a batch, so that a socket costs microseconds.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct
import subprocess
import sys
import threading
import uuid
from collections import deque
from functools import cache
from pathlib import Path

from conformance.driver.platforms import is_linux

CLONE_NEWNET = 0x40000000
OFF_VALUES = ("0", "off", "no", "false")
ENV = "ECHO_CONFORMANCE_ISOLATION"
CGROUP_ROOT = Path("/sys/fs/cgroup")
# Its __main__.py, run as a file: a folder would be run by runpy, imported first.
SUPERVISOR = str(Path(__file__).with_name("supervisor") / "__main__.py")
MODES = {"root": "namespaces", "user": "user namespaces"}  # a mode, as reports name it


@cache
def _libc() -> ctypes.CDLL:
    # Loaded when first needed, not at import: on Windows there is no C library by that name,
    # and the CLI must import there (platforms.py).
    return ctypes.CDLL(None, use_errno=True)


def isolation() -> tuple[str, str]:
    """(mode, why not): "root" (namespaces, a sandbox uid, control groups), "user" (user
    namespaces, the runner's own uid) or "" with the reason, the fallback.  Off when
    $ECHO_CONFORMANCE_ISOLATION says so."""
    if os.environ.get(ENV, "").strip().lower() in OFF_VALUES:
        return "", f"turned off by {ENV}={os.environ[ENV]}"
    return _namespaces_allowed()


@cache
def _namespaces_allowed() -> tuple[str, str]:
    if not is_linux():
        return "", "not Linux"
    if os.geteuid() != 0:
        return _user_namespaces_allowed()
    # A thread that leaves the runner's network namespace ends with it: a free probe.
    result: list[int] = []

    def probe() -> None:
        result.append(_libc().unshare(CLONE_NEWNET))
        result.append(ctypes.get_errno())

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    if result[0] != 0:
        return "", f"namespaces are not allowed here ({os.strerror(result[1])})"
    return "root", ""


def _user_namespaces_allowed() -> tuple[str, str]:
    """Asked of the supervisor (a process of one thread, as unshare(CLONE_NEWUSER) wants): it
    makes the namespaces and mounts a /proc in them, as it will for a server."""
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", SUPERVISOR, "--probe"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"not root, and the user namespace probe failed: {exc}"
    if done.returncode != 0:
        said = done.stdout.strip() or done.stderr.strip() or f"status {done.returncode}"
        return "", f"not root, and user namespaces are not allowed here ({said.splitlines()[-1]})"
    return "user", ""


FALLBACK_NOTE = (
    "servers run without isolation ({why}): as your user, they see what you see of the file "
    "system and share this machine's network (fixed-port servers are checked one at a time), "
    "and processes a server detaches from its group may outlive it"
)

REQUEST = struct.Struct("=iiiI")  # supervisor.channel.REQUEST: family, type, protocol, how many
BATCH = 64  # sockets per request at most (supervisor.channel.MAX_FDS)
Socket = socket.socket  # named apart: Network.socket is a method
Key = tuple[int, int, int]  # family, type, protocol


class Network:
    """A server's network namespace, reached through its supervisor's channel: sockets made
    there, asked for in batches that grow with use (1, 2, 4 ... 64), the next batch asked for
    while half of the last is still spare, so that the runner seldom waits for the supervisor to
    be scheduled: a server checked with a few connections gets a few sockets, and a crowd costs
    one request per 64."""

    def __init__(self, channel: Socket) -> None:
        self.channel = channel
        self.spare: dict[Key, list[Socket]] = {}
        self.batch: dict[Key, int] = {}  # how many the next request asks for
        self.asked: deque[Key] = deque()  # requests whose answers are not read yet, in order
        self.refused: dict[Key, OSError] = {}  # an answer that was an error

    def socket(self, family: int, kind: int, proto: int) -> Socket:
        key = (family, kind, proto)
        spare = self.spare.setdefault(key, [])
        while not spare:
            if key in self.refused:
                raise self.refused.pop(key)
            if key not in self.asked:
                self._ask(key)
            self._receive()
        sock = spare.pop()
        if len(spare) * 4 < self.batch[key] and key not in self.asked:
            self._ask(key)
        return sock

    def ask_ahead(self, family: int, kind: int, proto: int) -> None:
        """Ask for sockets of this kind now, to be answered while the runner does other things
        (waits for the server to be ready)."""
        key = (family, kind, proto)
        if not self.spare.get(key) and key not in self.asked:
            self._ask(key)

    def _ask(self, key: Key) -> None:
        count = self.batch.get(key, 1)
        self.batch[key] = min(BATCH, count * 2)
        try:
            self.channel.sendall(REQUEST.pack(*key, count))
        except OSError:
            raise _gone() from None
        self.asked.append(key)

    def _receive(self) -> None:
        """Read the next answer (waiting for it), and file it under its request."""
        try:
            answer, fds, _, _ = socket.recv_fds(self.channel, 4, BATCH)
        except OSError:
            answer, fds = b"", []
        if not answer:  # the supervisor has ended (stop()): so has the server's network
            self.asked.clear()
            raise _gone()
        key = self.asked.popleft()
        if fds:
            self.spare.setdefault(key, []).extend(reversed([Socket(fileno=fd) for fd in fds]))
        else:
            err = struct.unpack("=i", answer)[0]
            self.refused[key] = OSError(err, os.strerror(err))

    def close(self) -> None:
        for spare in self.spare.values():
            for sock in spare:
                sock.close()
        self.spare = {}
        self.channel.close()


def _gone() -> ConnectionRefusedError:
    return ConnectionRefusedError(errno.ECONNREFUSED, "the server's network is gone")


class Cgroups:
    """Control groups that cap a server's processes and memory, and count its CPU time to the
    nanosecond, where they can be made: one per cgroup v1 controller, under the runner's own (so
    its limits still apply)."""

    def __init__(self, processes: int, memory_mib: int) -> None:
        self.paths: list[Path] = []
        self.usage: Path | None = None  # cpuacct.usage: nanoseconds
        memory = str(memory_mib << 20)
        settings = {
            "pids": [("pids.max", str(processes), True)],
            # memsw (memory + swap) exists only with swap accounting: optional.
            "memory": [
                ("memory.limit_in_bytes", memory, True),
                ("memory.memsw.limit_in_bytes", memory, False),
            ],
            "cpuacct": [],
        }
        own = _own_cgroups()
        name = f"echo-conformance-{uuid.uuid4().hex[:12]}"
        for controller, files in settings.items():
            base = CGROUP_ROOT / controller / own.get(controller, "").lstrip("/")
            if not (base / "cgroup.procs").exists():
                continue
            path = base / name
            try:
                path.mkdir()
                for file, value, required in files:
                    try:
                        (path / file).write_text(value)
                    except OSError:
                        if required:
                            raise
            except OSError:
                _remove(path)
                continue
            self.paths.append(path)
            if controller == "cpuacct":
                self.usage = path / "cpuacct.usage"

    def cpu_seconds(self) -> float | None:
        """CPU time of every process that was ever in the group (None without cpuacct)."""
        if self.usage is None:
            return None
        try:
            return int(self.usage.read_text()) / 1e9
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        for path in self.paths:
            _remove(path)  # empty once every process in it has ended
        self.paths = []


def _own_cgroups() -> dict[str, str]:
    """controller -> this process's cgroup path (cgroup v1 lines of /proc/self/cgroup)."""
    found = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(","):
                if controller:
                    found[controller] = path
    except (OSError, ValueError):
        pass
    return found


def _remove(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass
