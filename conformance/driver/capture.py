"""The server's loopback, captured (--pcap): every frame on `lo` in the server's own network
namespace, read by a packet socket the supervisor makes there, while a check runs.

Passive: a packet socket receives copies of frames, so the server sees nothing of it.  Only an
isolated server has a loopback of its own; elsewhere (and where the kernel refuses a packet
socket) there is no capture, and the report's capture is synthesized from the transcript.
"""

from __future__ import annotations

import collections
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.driver.launcher import Server

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # the sender's copy of a frame on lo: the receiver's is kept
SOL_PACKET = 263
PACKET_STATISTICS = 6
KEEP_BYTES = 32 << 20  # the most recent frames kept: the failing case is the last one run
RCVBUF = 8 << 20  # the kernel's queue for the socket, against drops in a burst
ETHERNET = 14  # lo's frames carry an all-zero Ethernet header

Frame = tuple[float, bytes]  # (epoch seconds, the frame)


class LoopbackCapture:
    """Frames on the server's loopback, from start() to stop(), the most recent KEEP_BYTES."""

    def __init__(self, server: Server) -> None:
        self.frames: collections.deque[Frame] = collections.deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        if server.network is None:
            return  # not isolated: the loopback is everyone's
        try:
            sock = server.network.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            sock.bind(("lo", 0))
        except OSError:
            return  # no packet socket here (no CAP_NET_RAW in its namespace): synthesized
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        except OSError:
            pass
        sock.settimeout(0.1)
        self._sock = sock
        self._thread = threading.Thread(target=self._read, name="capture", daemon=True)
        self._thread.start()

    @property
    def capturing(self) -> bool:
        return self._sock is not None

    def _read(self) -> None:
        sock = self._sock
        assert sock is not None
        while True:
            try:
                frame, address = sock.recvfrom(65600)
            except TimeoutError:
                continue
            except OSError:
                return  # closed: stop()
            if address[2] == PACKET_OUTGOING:
                continue
            with self._lock:
                self.frames.append((time.time(), frame))
                self._bytes += len(frame)
                while self._bytes > KEEP_BYTES:
                    self._bytes -= len(self.frames.popleft()[1])

    def dropped(self) -> int:
        """Frames the kernel dropped for want of room in the socket's queue (so far)."""
        if self._sock is None:
            return 0
        try:
            stats = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        except OSError:
            return 0
        return int(struct.unpack("II", stats)[1])

    def of(self, ports: set[int]) -> list[Frame]:
        """The frames of TCP connections from these client ports (to the server)."""
        with self._lock:
            frames = list(self.frames)
        return [f for f in frames if _ports(f[1]) & ports]

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        if self._thread is not None:
            self._thread.join(1.0)


def _ports(frame: bytes) -> set[int]:
    """The TCP ports of an Ethernet frame carrying IPv4 or IPv6 (none for anything else)."""
    kind = frame[12:14]
    if kind == b"\x08\x00" and len(frame) >= ETHERNET + 20 and frame[ETHERNET + 9] == 6:
        start = ETHERNET + (frame[ETHERNET] & 0x0F) * 4
    elif kind == b"\x86\xdd" and len(frame) >= ETHERNET + 40 and frame[ETHERNET + 6] == 6:
        start = ETHERNET + 40
    else:
        return set()
    if len(frame) < start + 4:
        return set()
    return set(struct.unpack("!HH", frame[start : start + 4]))
