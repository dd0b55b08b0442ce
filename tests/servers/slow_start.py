"""Planted bug (listen): "warms up" for 15 s before it opens its socket -- past the spec's
10 s startup timeout. Once listening it is a correct thread-per-connection server.

Usage: slow_start.py PORT [HOST]
"""

import socket
import sys
import threading
import time

WARM_UP = 15.0


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
        except OSError:  # reset or broken pipe: drop this connection only
            pass


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    time.sleep(WARM_UP)  # BUG: too slow to start
    listener = socket.create_server((host, port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
