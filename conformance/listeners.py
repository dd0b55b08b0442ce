"""The listening TCP sockets of a network, as the kernel tells them: port, accept queue, inode.

Asked over sock_diag netlink, which walks only the kernel's table of listening sockets (tens of
microseconds).  Where the kernel has no TCP sock_diag, read from /proc/PID/net/tcp{,6}, which
also walks the whole connection hash on every read (about a millisecond).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Callable, Iterator
from typing import NamedTuple

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCP_LISTEN = 10
HEADER = struct.Struct("=IHHII")  # struct nlmsghdr
# struct inet_diag_req_v2: family, protocol, extensions, pad, states; then an inet_diag_sockid
# (ports, addresses, interface, cookie) that a dump ignores.
REQUEST = struct.Struct("=BBBBI48x")
# struct inet_diag_msg, past the header: family, state, timer, retrans, sport (network order) ...
# rqueue (a listener's accept queue) at 56, inode at 68.
MESSAGE_PORT, MESSAGE_QUEUE, MESSAGE_INODE = 4, 56, 68
FAMILIES = (socket.AF_INET, socket.AF_INET6)
AF_NETLINK: int | None = getattr(socket, "AF_NETLINK", None)  # Linux's: else /proc, or nothing


class Listener(NamedTuple):
    port: int
    queued: int  # connections waiting in its accept queue
    inode: int


class Listeners:
    """Reads the listening sockets of one network namespace: `make_socket(family, type, proto)`
    creates sockets in it, and `proc_pid` is a process in it (for /proc)."""

    def __init__(self, make_socket: Callable[[int, int, int], socket.socket], proc_pid: int):
        self.proc_pid = proc_pid
        # The family where the port was last seen is asked first (a dual-stack server listens
        # on IPv6 for IPv4 clients too).
        self.order = list(FAMILIES)
        self.diag: socket.socket | None = None
        try:
            if AF_NETLINK is not None:
                self.diag = make_socket(AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
                self.diag.settimeout(1.0)  # the kernel answers at once; never hang on it
        except OSError:
            pass

    def find(self, port: int) -> Listener | None:
        for family in self.order:
            for listener in self._read(family):
                if listener.port == port:
                    if family != self.order[0]:
                        self.order.reverse()
                    return listener
        return None

    def all(self) -> list[Listener]:
        return [listener for family in FAMILIES for listener in self._read(family)]

    def _read(self, family: int) -> list[Listener]:
        if self.diag is not None:
            try:
                return self._ask(family)
            except OSError:
                self.close()  # no TCP sock_diag in this kernel: /proc from now on
        table = "tcp" if family == socket.AF_INET else "tcp6"
        return list(_proc_listeners(f"/proc/{self.proc_pid}/net/{table}"))

    def _ask(self, family: int) -> list[Listener]:
        assert self.diag is not None
        request = REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, 1 << TCP_LISTEN)
        header = HEADER.pack(
            HEADER.size + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0
        )
        self.diag.send(header + request)
        found: list[Listener] = []
        while True:
            data = self.diag.recv(65536)
            offset = 0
            while offset + HEADER.size <= len(data):
                length, kind, _, _, _ = HEADER.unpack_from(data, offset)
                if length < HEADER.size:
                    raise OSError(errno.EPROTO, "a malformed sock_diag message")
                body = offset + HEADER.size
                if kind == NLMSG_DONE:
                    return found
                if kind == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", data, body)[0]
                    if family == socket.AF_INET6 and code == errno.ENOENT:
                        return found  # a kernel without IPv6
                    raise OSError(code, os.strerror(code))
                (port,) = struct.unpack_from("!H", data, body + MESSAGE_PORT)
                (queued,) = struct.unpack_from("=I", data, body + MESSAGE_QUEUE)
                (inode,) = struct.unpack_from("=I", data, body + MESSAGE_INODE)
                found.append(Listener(port, queued, inode))
                offset += (length + 3) & ~3

    def close(self) -> None:
        if self.diag is not None:
            self.diag.close()
            self.diag = None


def _proc_listeners(path: str) -> Iterator[Listener]:
    """The LISTEN rows of one /proc socket table.  Listening sockets come first, and the kernel
    formats about as many rows as a read asks for, so small reads stop soon after them."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        pending, header = b"", True
        while chunk := os.read(fd, 256):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                fields = line.decode("ascii", "replace").split()
                if header:
                    header = False
                elif len(fields) < 10 or fields[3] != "0A":  # 0A: LISTEN
                    return
                else:
                    queued = int(fields[4].split(":")[1], 16)  # tx_queue:rx_queue
                    yield Listener(int(fields[1].rsplit(":", 1)[1], 16), queued, int(fields[9]))
    except (OSError, ValueError, IndexError):
        return
    finally:
        os.close(fd)
