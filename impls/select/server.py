"""select() event loop: non-blocking sockets, per-connection output buffers, sleeps when idle."""

from __future__ import annotations

import errno
import os
import resource
import select
import signal
import socket
import sys
import time

BUFSIZE = 65536
# Stop reading from a client owed this much, so one that never reads cannot grow our memory.
HIGH_WATER = 1 << 20
ACCEPTS_PER_WAKEUP = 64
# Running out of descriptors is transient: stop watching the listener for a while, else the
# pending connection keeps it readable and select() spins.
FD_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
ACCEPT_PAUSE = 0.1
FD_SETSIZE = 1024


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


def cap_descriptors() -> None:
    """select() cannot watch fds >= FD_SETSIZE: make accept() fail with EMFILE before that."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft > FD_SETSIZE:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_SETSIZE, hard))


class Server:
    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.conns: dict[socket.socket, Conn] = {}
        self.resume_accept = 0.0  # monotonic time; 0 while accepting

    def run(self) -> None:
        while True:
            readers = [c.sock for c in self.conns.values() if not c.eof and len(c.out) < HIGH_WATER]
            # Writable interest only while output is pending, else select() returns at once.
            writers = [c.sock for c in self.conns.values() if c.out]
            timeout = None  # nothing to do: sleep until a socket is ready
            if self.resume_accept:
                timeout = self.resume_accept - time.monotonic()
                if timeout <= 0:
                    self.resume_accept, timeout = 0.0, None
            if not self.resume_accept:
                readers.append(self.listener)
            readable, writable, _ = select.select(readers, writers, [], timeout)
            for sock in readable:
                if sock is self.listener:
                    self.accept()
                else:  # only its own read() drops a connection
                    self.read(self.conns[sock])
            for sock in writable:
                if sock in self.conns:  # may have been dropped while reading
                    self.write(self.conns[sock])

    def accept(self) -> None:
        for _ in range(ACCEPTS_PER_WAKEUP):
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno in FD_EXHAUSTED:
                    self.resume_accept = time.monotonic() + ACCEPT_PAUSE
                    return
                continue  # e.g. ECONNABORTED: the client gave up before we got to it
            # Linux accepted sockets do not inherit O_NONBLOCK from the listener.
            sock.setblocking(False)
            self.conns[sock] = Conn(sock)

    def read(self, conn: Conn) -> None:
        try:
            data = conn.sock.recv(BUFSIZE)
        except BlockingIOError:
            return
        except OSError:
            self.drop(conn)  # reset: only this client is lost
            return
        if data:
            conn.out += data.upper()
        else:
            conn.eof = True
            if not conn.out:
                self.drop(conn)

    def write(self, conn: Conn) -> None:
        try:
            sent = conn.sock.send(conn.out)
        except BlockingIOError:
            return
        except OSError:
            self.drop(conn)  # reset or broken pipe: only this client is lost
            return
        del conn.out[:sent]  # keep the unsent rest for the next writable event
        if conn.eof and not conn.out:
            self.drop(conn)  # everything owed is flushed: now the close may follow

    def drop(self, conn: Conn) -> None:
        del self.conns[conn.sock]
        conn.sock.close()

    def close_all(self) -> None:
        for sock in self.conns:
            sock.close()
        self.conns.clear()


def main(argv: list[str]) -> int:
    host, port = parse_address(argv)
    # Both signals raise KeyboardInterrupt, so they take the same clean exit path (SIGINT too:
    # it may have been ignored at startup, e.g. in a background job of a non-interactive shell).
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.default_int_handler)
    cap_descriptors()
    with make_listener(host, port) as listener:
        print(f"select: listening on {host}:{listener.getsockname()[1]}", flush=True)
        server = Server(listener)
        try:
            server.run()
        except KeyboardInterrupt:
            server.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
