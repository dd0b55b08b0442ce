"""Hostile (memory): a correct uppercase echo server with a background thread that allocates
memory without end: 10 MB bytearrays, filled with data so the pages are really used, kept in
a list forever. Nothing is caught: under a memory limit the thread dies of MemoryError (the
server goes on), without one the kernel's OOM killer decides. Run it only under a limit.
Usage: hostile_memory_hog.py [PORT] (default 8080).
"""

import socket
import sys
import threading


def hog():
    hoard = []
    while True:  # HOSTILE
        hoard.append(bytearray(b"\xa5") * 10_000_000)


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
        except OSError:  # reset or broken pipe: drop this connection only
            pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    listener = socket.create_server(("127.0.0.1", port), backlog=512)
    threading.Thread(target=hog, daemon=True).start()
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
