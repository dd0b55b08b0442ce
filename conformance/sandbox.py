"""The runner's side of the sandbox: is isolation available, and how to reach inside it.

The supervisor (supervisor.py, a program of its own) builds the sandbox around each server.  Here
the runner decides whether it can (root, namespaces allowed), makes the server's pids cgroup, and
creates its client sockets inside the server's network namespace: a socket belongs for life to
the namespace of the thread that created it, so the thread enters the namespace (setns), creates
the socket, and comes back.  That costs microseconds, so it is done for every socket.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from conformance.platforms import is_linux

CLONE_NEWNET = 0x40000000
OFF_VALUES = ("0", "off", "no", "false")
ENV = "ECHO_CONFORMANCE_ISOLATION"
CGROUP_ROOT = Path("/sys/fs/cgroup")


@cache
def _libc() -> ctypes.CDLL:
    # Loaded when first needed, not at import: on Windows there is no C library by that name,
    # and the CLI must import there (platforms.py).
    return ctypes.CDLL(None, use_errno=True)


def isolation() -> tuple[bool, str]:
    """(available, why not): servers get namespaces of their own only as root, where the
    kernel allows them, and unless $ECHO_CONFORMANCE_ISOLATION says off."""
    if os.environ.get(ENV, "").strip().lower() in OFF_VALUES:
        return False, f"turned off by {ENV}={os.environ[ENV]}"
    return _namespaces_allowed()


@cache
def _namespaces_allowed() -> tuple[bool, str]:
    if not is_linux():
        return False, "not Linux"
    if os.geteuid() != 0:
        return False, "not root"
    # A thread that leaves the runner's network namespace ends with it: a free probe.
    result: list[int] = []

    def probe() -> None:
        result.append(_libc().unshare(CLONE_NEWNET))
        result.append(ctypes.get_errno())

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    if result[0] != 0:
        return False, f"namespaces are not allowed here ({os.strerror(result[1])})"
    return True, ""


FALLBACK_NOTE = (
    "servers run without isolation ({why}): as your user, they see what you see of the file "
    "system and share this machine's network (fixed-port servers are checked one at a time), "
    "and processes a server detaches from its group may outlive it"
)


class Netns:
    """A handle on a server's network namespace (it lives while the handle is open)."""

    def __init__(self, pid: int) -> None:
        self.fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)

    @contextmanager
    def entered(self) -> Iterator[None]:
        """In the server's network, then back in the one this handle was made in."""
        _setns(self.fd)
        try:
            yield
        finally:
            _setns(self.home)

    def socket(self, family: int, kind: int, proto: int) -> socket.socket:
        with self.entered():
            return socket.socket(family, kind, proto)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            os.close(self.home)
            self.fd = -1


def _setns(fd: int) -> None:
    if _libc().setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


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
