"""Hostile (CPU): a correct uppercase echo server with a background thread that spins at
100% of a CPU forever (a pure Python loop, so it also competes for the GIL with the threads
that serve). Usage: hostile_spin.py [PORT] (default 8080).
"""

import socket
import sys
import threading


def spin():
    n = 0
    while True:  # HOSTILE
        n += 1


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
    threading.Thread(target=spin, daemon=True).start()
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
