"""Planted bug (many-connections): leaks a 4 MiB receive buffer per connection.

Every connection gets an anonymous mmap as its buffer, kept in a list and never unmapped.
The pages are never touched, so little memory is really used, but each buffer takes 4 MiB of
address space: with RLIMIT_AS=4096 MiB, mmap() (or a new thread's stack) fails after some
900 connections, and from then on every new connection is closed without a reply.
Usage: memory_leak.py PORT [HOST]
"""

import mmap
import socket
import sys
import threading

BUF = 4 << 20
buffers = []  # BUG: never emptied


def handle(conn):
    with conn:
        try:
            buf = mmap.mmap(-1, BUF)
            buffers.append(buf)
            view = memoryview(buf)
            while n := conn.recv_into(view, 65536):
                conn.sendall(view[:n].tobytes().upper())
        except OSError:  # reset, broken pipe, or mmap out of address space
            pass


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        try:
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
        except RuntimeError:  # can't start new thread: no address space for its stack
            conn.close()


if __name__ == "__main__":
    main()
