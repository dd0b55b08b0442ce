"""Iterative blocking server: one client at a time, served until it closes, then the next."""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
import time

BUFSIZE = 65536
# Running out of descriptors is transient: wait for some to free instead of spinning or dying.
FD_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


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
    return sock


def serve(conn: socket.socket) -> None:
    """Echo until the client half-closes; sendall never drops the tail of a partial send."""
    with conn:
        try:
            while data := conn.recv(BUFSIZE):
                conn.sendall(data.upper())
        except OSError:
            pass  # reset or broken pipe: only this client is lost


def main(argv: list[str]) -> int:
    host, port = parse_address(argv)
    # Both signals raise KeyboardInterrupt, so they take the same clean exit path (SIGINT too:
    # it may have been ignored at startup, e.g. in a background job of a non-interactive shell).
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.default_int_handler)
    try:
        with make_listener(host, port) as listener:
            print(f"blocking: listening on {host}:{listener.getsockname()[1]}", flush=True)
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError as exc:
                    if exc.errno in FD_EXHAUSTED:
                        time.sleep(0.1)
                    continue  # e.g. ECONNABORTED: the client gave up before we got to it
                serve(conn)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
