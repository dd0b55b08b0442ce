"""Busy-polling server: every socket non-blocking, one loop that never sleeps polls them all."""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
import time

BUFSIZE = 65536
# Stop reading from a client owed this much, so one that never reads cannot grow our memory.
HIGH_WATER = 1 << 20
ACCEPTS_PER_PASS = 64
# Running out of descriptors is transient: stop accepting for a while instead of dying.
FD_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
ACCEPT_PAUSE = 0.1


class Conn:
    __slots__ = ("eof", "out", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.out = bytearray()  # replies not yet accepted by the kernel
        self.eof = False  # client half-closed: flush `out`, then close


def parse_address(argv: list[str]) -> tuple[str, int]:
    port = argv[1] if len(argv) > 1 else os.environ["PORT"]
    host = argv[2] if len(argv) > 2 else os.environ.get("HOST", "127.0.0.1")
    return host, int(port)


def make_listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Restarts must not fail on connections of a previous run still in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(socket.SOMAXCONN)
    sock.setblocking(False)
    return sock


def accept_some(listener: socket.socket, conns: list[Conn]) -> bool:
    """Accept pending clients; False when out of descriptors."""
    for _ in range(ACCEPTS_PER_PASS):
        try:
            sock, _ = listener.accept()
        except BlockingIOError:
            return True
        except OSError as exc:
            if exc.errno in FD_EXHAUSTED:
                return False
            continue  # e.g. ECONNABORTED: the client gave up before we got to it
        # Linux accepted sockets do not inherit O_NONBLOCK from the listener.
        sock.setblocking(False)
        conns.append(Conn(sock))
    return True


def poll(conn: Conn) -> bool:
    """One non-blocking read and write attempt; False once the connection is finished."""
    try:
        if not conn.eof and len(conn.out) < HIGH_WATER:
            try:
                data = conn.sock.recv(BUFSIZE)
            except BlockingIOError:
                pass
            else:
                if data:
                    conn.out += data.upper()
                else:
                    conn.eof = True
        if conn.out:
            try:
                sent = conn.sock.send(conn.out)
            except BlockingIOError:
                pass
            else:
                del conn.out[:sent]  # keep the unsent rest for the next pass
    except OSError:
        return False  # reset or broken pipe: drop only this client
    return not (conn.eof and not conn.out)


def main(argv: list[str]) -> int:
    host, port = parse_address(argv)
    # Both signals raise KeyboardInterrupt, so they take the same clean exit path (SIGINT too:
    # it may have been ignored at startup, e.g. in a background job of a non-interactive shell).
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.default_int_handler)
    conns: list[Conn] = []
    try:
        with make_listener(host, port) as listener:
            print(f"nonblocking: listening on {host}:{listener.getsockname()[1]}", flush=True)
            resume_accept = 0.0
            while True:  # never sleeps or blocks: that is the model (and its CPU cost)
                if not resume_accept or time.monotonic() >= resume_accept:
                    ok = accept_some(listener, conns)
                    resume_accept = 0.0 if ok else time.monotonic() + ACCEPT_PAUSE
                finished = [conn for conn in conns if not poll(conn)]
                if finished:
                    for conn in finished:
                        conn.sock.close()
                    conns = [conn for conn in conns if conn.sock.fileno() != -1]
    except KeyboardInterrupt:
        for conn in conns:
            conn.sock.close()
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
