"""Hostile (SIGTERM): a correct uppercase echo server that ignores SIGTERM (SIG_IGN).

A runner that stops servers with SIGTERM alone, and waits for them to exit, waits forever;
only SIGKILL ends this one. Usage: hostile_ignore_sigterm.py [PORT] (default 8080).
"""

import signal
import socket
import sys
import threading


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
        except OSError:  # reset or broken pipe: drop this connection only
            pass


def main():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # HOSTILE
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    listener = socket.create_server(("127.0.0.1", port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
