"""Hostile (stdout): a correct uppercase echo server with a background thread that writes
lines to stdout as fast as it can, forever. A runner that captures stdout into memory or a
file without a bound fills it; one that pipes stdout and never reads it blocks only that
thread. Usage: hostile_flood_stdout.py [PORT] (default 8080).
"""

import socket
import sys
import threading


def flood():
    line = "hostile_flood_stdout: " + "lorem ipsum " * 6 + "\n"
    while True:  # HOSTILE
        sys.stdout.write(line)


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
    threading.Thread(target=flood, daemon=True).start()
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
