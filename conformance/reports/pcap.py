"""A failing exchange as a packet capture (pcap), for Wireshark.

Captured (driver/capture.py): the frames the server's loopback carried, as they were.  Else
synthesized from the transcript, which holds every byte each client sent and received, in order,
and each connect, half-close, EOF and reset: here they become the TCP segments that carried them,
on IPv4 between the clients' ports and the server's, with correct sequence numbers and checksums.
That is what the clients saw, not the wire: segment boundaries are the reads' and writes', and
there are no retransmissions or window updates (README: "Captures").
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass

from conformance.driver.net import Event, client_ports

LINKTYPE_ETHERNET = 1  # a captured frame of lo: an all-zero Ethernet header, then IP
LINKTYPE_RAW = 101  # each record is an IP packet
SNAPLEN = 65535
MSS = 65495  # the most payload an IPv4 packet of 64 KiB carries after its two headers
CLIENT_PORTS = 40000  # the first client's port when the transcript does not say
SYNTHESIZED = "synthesized from the transcript"
CAPTURED = "captured on the server's loopback, in its network namespace"

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


@dataclass
class _Flow:
    """One client connection: its port and both directions' next sequence numbers."""

    port: int
    client_seq: int = 1000
    server_seq: int = 5000


def pcap_file(records: Iterable[tuple[float, bytes]], linktype: int) -> bytes:
    """A pcap file of (epoch seconds, packet) records."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, linktype)]
    for seconds, packet in records:
        usec = int(seconds % 1 * 1e6)
        out += [struct.pack("<IIII", int(seconds), usec, len(packet), len(packet)), packet]
    return b"".join(out)


def captured(frames: Iterable[tuple[float, bytes]]) -> bytes:
    """Frames of the server's loopback, as they were captured."""
    return pcap_file(frames, LINKTYPE_ETHERNET)


def synthesized(events: Iterable[Event], server_port: int, started: float | None = None) -> bytes:
    """`events` (a transcript's) as packets, timed from `started` (epoch seconds; now, by
    default)."""
    events = list(events)
    base = time.time() if started is None else started
    ports = client_ports(events)
    flows: dict[str, _Flow] = {}
    records = []
    for ev in events:
        flow = flows.get(ev.conn)
        if flow is None:
            if ev.what != "connect":
                continue  # not a connection (a note: a crowd, an idle wait)
            port = ports.get(ev.conn, CLIENT_PORTS + len(flows) + 1)
            flow = flows[ev.conn] = _Flow(port)
        for to_server, flags, payload in _segments(ev, flow):
            records.append((base + ev.t, _packet(flow, server_port, to_server, flags, payload)))
    return pcap_file(records, LINKTYPE_RAW)


def _segments(ev: Event, flow: _Flow) -> list[tuple[bool, int, bytes]]:
    """(to the server?, TCP flags, payload) of what the event carried.  Sequence numbers
    advance as each is sent (in _packet)."""
    what = ev.what
    if what == "connect":
        return [(True, SYN, b""), (False, SYN | ACK, b""), (True, ACK, b"")]
    if what in ("send", "recv"):
        to_server = what == "send"
        data = ev.data
        return [(to_server, PSH | ACK, data[i : i + MSS]) for i in range(0, len(data), MSS)]
    if what in ("shutdown", "close"):
        return [(True, FIN | ACK, b"")]
    if what == "eof":
        return [(False, FIN | ACK, b"")]
    if what == "reset":
        return [(True, RST | ACK, b"")]
    if what == "reset-by-server":
        return [(False, RST | ACK, b"")]
    return []


def _packet(flow: _Flow, server_port: int, to_server: bool, flags: int, payload: bytes) -> bytes:
    if to_server:
        sport, dport, seq, ack = flow.port, server_port, flow.client_seq, flow.server_seq
    else:
        sport, dport, seq, ack = server_port, flow.port, flow.server_seq, flow.client_seq
    advance = len(payload) + (1 if flags & (SYN | FIN) else 0)
    if to_server:
        flow.client_seq += advance
    else:
        flow.server_seq += advance
    ack_flag = flags & ACK
    tcp = struct.pack(
        "!HHIIBBHHH", sport, dport, seq, ack if ack_flag else 0, 5 << 4, flags, 65535, 0, 0
    )
    src = b"\x7f\x00\x00\x01"
    pseudo = src + src + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp + payload)) + tcp[18:]
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, src, src)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return ip + tcp + payload


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
