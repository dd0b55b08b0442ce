"""Fixed pool of 4 worker threads: each worker serves one whole connection at a time."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

BUFSIZE = 65536
WORKERS = 4
# Running out of descriptors is transient: wait for some to free instead of spinning or dying.
FD_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


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


@contextlib.contextmanager
def stop_signals_blocked() -> Iterator[None]:
    """Threads inherit their creator's signal mask: create them with the stop signals blocked so
    the kernel delivers those to the main thread only. Python runs handlers in the main thread,
    and a signal caught by a worker would leave it asleep in accept(), ignoring the SIGTERM."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def serve(conn: socket.socket) -> None:
    """Echo until the client half-closes; sendall never drops the tail of a partial send."""
    with conn:
        try:
            while data := conn.recv(BUFSIZE):
                conn.sendall(data.upper())
        except OSError:
            pass  # reset or broken pipe: only this client is lost


class Pool:
    """The executor plus the connections handed to it, so shutdown can unblock the workers."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="echo")
        self.lock = threading.Lock()
        self.conns: set[socket.socket] = set()

    def submit(self, conn: socket.socket) -> None:
        with self.lock:
            self.conns.add(conn)
        with stop_signals_blocked():  # submit() may start a worker thread
            self.executor.submit(self._run, conn)

    def _run(self, conn: socket.socket) -> None:
        try:
            serve(conn)
        finally:
            with self.lock:
                self.conns.discard(conn)

    def shutdown(self) -> None:
        # Workers are non-daemon and joined at exit: wake those blocked in recv/sendall.
        self.executor.shutdown(wait=False, cancel_futures=True)
        with self.lock:
            for conn in self.conns:
                with contextlib.suppress(OSError):  # already closed by its worker
                    conn.shutdown(socket.SHUT_RDWR)


def main(argv: list[str]) -> int:
    host, port = parse_address(argv)
    # Both signals raise KeyboardInterrupt, so they take the same clean exit path (SIGINT too:
    # it may have been ignored at startup, e.g. in a background job of a non-interactive shell).
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.default_int_handler)
    pool = Pool()
    try:
        with make_listener(host, port) as listener:
            print(f"threadpool: listening on {host}:{listener.getsockname()[1]}", flush=True)
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError as exc:
                    if exc.errno in FD_EXHAUSTED:
                        time.sleep(0.1)
                    continue  # e.g. ECONNABORTED: the client gave up before we got to it
                pool.submit(conn)  # queued until one of the 4 workers is free
    except KeyboardInterrupt:
        for signum in STOP_SIGNALS:  # a second signal must not cut the cleanup short
            signal.signal(signum, signal.SIG_IGN)
        pool.shutdown()
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
