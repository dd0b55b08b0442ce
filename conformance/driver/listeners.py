"""The TCP sockets of a network, as the kernel tells them: listeners (port, accept queue, inode),
and the queues of the server's end of one connection (the evidence of backpressure).

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
TCP_LISTEN, TCP_TIME_WAIT, TCP_SYN_RECV, TCP_CLOSE_WAIT = 10, 6, 3, 8
# A connection's server end, in any state where it may hold bytes: established, or closed by
# the server with replies still queued (FIN_WAIT1, CLOSING, LAST_ACK, CLOSE_WAIT ...).
CONNECTED = 0xFFF & ~(1 << TCP_LISTEN | 1 << TCP_TIME_WAIT | 1 << TCP_SYN_RECV)
INET_DIAG_INFO = 2  # the attribute that carries struct tcp_info
HEADER = struct.Struct("=IHHII")  # struct nlmsghdr
# struct inet_diag_req_v2: family, protocol, extensions, pad, states; then an inet_diag_sockid
# (ports, addresses, interface, cookie) that a dump ignores.
REQUEST = struct.Struct("=BBBBI48x")
# struct inet_diag_msg, past the header: family, state, timer, retrans, sport (network order) ...
# rqueue (a listener's accept queue) at 56, inode at 68.
MESSAGE_STATE, MESSAGE_PORT, MESSAGE_PEER_PORT, MESSAGE_QUEUE, MESSAGE_INODE = 1, 4, 6, 56, 68
MESSAGE_WQUEUE, MESSAGE_SIZE = 60, 72  # wqueue: bytes written, not yet acknowledged
ATTRIBUTE = struct.Struct("=HH")  # struct rtattr: length, type
# struct tcp_info: tcpi_notsent_bytes (bytes not yet sent at all), tcpi_snd_wnd (the window the
# peer advertised; Linux 5.4 and later).
INFO_NOTSENT, INFO_SND_WND = 144, 228
FAMILIES = (socket.AF_INET, socket.AF_INET6)
AF_NETLINK: int | None = getattr(socket, "AF_NETLINK", None)  # Linux's: else /proc, or nothing


class Listener(NamedTuple):
    port: int
    queued: int  # connections waiting in its accept queue
    inode: int


class Queues(NamedTuple):
    """The server's end of one connection."""

    unsent: int  # reply bytes the server wrote that the client has not acknowledged
    notsent: int | None  # of those, bytes not even sent yet (None: the kernel does not say)
    window: int | None  # the client's receive window as the server sees it (None: unknown)
    state: int = 0  # its TCP state (TCP_CLOSE_WAIT: the server has read the client's FIN)


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
        found = []
        for body, _ in self._dump(family, 1 << TCP_LISTEN, 0):
            (port,) = struct.unpack_from("!H", body, MESSAGE_PORT)
            (queued,) = struct.unpack_from("=I", body, MESSAGE_QUEUE)
            (inode,) = struct.unpack_from("=I", body, MESSAGE_INODE)
            found.append(Listener(port, queued, inode))
        return found

    def connection(self, port: int, peer_port: int) -> Queues | None:
        """The queues of the socket on `port` connected to `peer_port` (the server's end of a
        client's connection); None when it is not there or cannot be read."""
        for family in self.order:
            if self.diag is not None:
                try:
                    found = self._connection(family, port, peer_port)
                except OSError:
                    self.close()
                    found = None
            else:
                table = "tcp" if family == socket.AF_INET else "tcp6"
                found = _proc_connection(f"/proc/{self.proc_pid}/net/{table}", port, peer_port)
            if found is not None:
                return found
        return None

    def _connection(self, family: int, port: int, peer_port: int) -> Queues | None:
        found = None
        for body, info in self._dump(family, CONNECTED, 1 << (INET_DIAG_INFO - 1)):
            ports = struct.unpack_from("!HH", body, MESSAGE_PORT)
            if ports == (port, peer_port):
                (unsent,) = struct.unpack_from("=I", body, MESSAGE_WQUEUE)
                notsent, window = _info(info, INFO_NOTSENT), _info(info, INFO_SND_WND)
                found = Queues(unsent, notsent, window, body[MESSAGE_STATE])
        return found  # the dump is read to its end: the next request must not find it

    def _dump(self, family: int, states: int, extensions: int) -> Iterator[tuple[bytes, bytes]]:
        """Each socket of `family` in `states`: its inet_diag_msg, and its tcp_info (empty when
        not asked for, in `extensions`)."""
        assert self.diag is not None
        request = REQUEST.pack(family, socket.IPPROTO_TCP, extensions, 0, states)
        header = HEADER.pack(
            HEADER.size + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0
        )
        self.diag.send(header + request)
        while True:
            data = self.diag.recv(65536)
            offset = 0
            while offset + HEADER.size <= len(data):
                length, kind, _, _, _ = HEADER.unpack_from(data, offset)
                if length < HEADER.size:
                    raise OSError(errno.EPROTO, "a malformed sock_diag message")
                body = offset + HEADER.size
                if kind == NLMSG_DONE:
                    return
                if kind == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", data, body)[0]
                    if family == socket.AF_INET6 and code == errno.ENOENT:
                        return  # a kernel without IPv6
                    raise OSError(code, os.strerror(code))
                message = data[body : offset + length]
                yield message, _attribute(message, INET_DIAG_INFO)
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


def _attribute(message: bytes, kind: int) -> bytes:
    """The payload of the attribute `kind` that follows an inet_diag_msg (b"" when absent)."""
    offset = MESSAGE_SIZE
    while offset + ATTRIBUTE.size <= len(message):
        length, found = ATTRIBUTE.unpack_from(message, offset)
        if length < ATTRIBUTE.size:
            break
        if found == kind:
            return message[offset + ATTRIBUTE.size : offset + length]
        offset += (length + 3) & ~3
    return b""


def _info(info: bytes, offset: int) -> int | None:
    """One __u32 of a struct tcp_info, if this kernel's is long enough to hold it."""
    return struct.unpack_from("=I", info, offset)[0] if len(info) >= offset + 4 else None


def _proc_connection(path: str, port: int, peer_port: int) -> Queues | None:
    """The row of one connection in a /proc socket table: its tx_queue (bytes written, not yet
    acknowledged).  Reads the whole table (about a millisecond)."""
    try:
        with open(path, encoding="ascii", errors="replace") as table:
            next(table, None)
            for line in table:
                fields = line.split()
                local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
                if (int(local, 16), int(remote, 16)) == (port, peer_port) and fields[3] != "0A":
                    unsent = int(fields[4].split(":")[0], 16)
                    return Queues(unsent, None, None, int(fields[3], 16))
    except (OSError, ValueError, IndexError):
        return None
    return None
