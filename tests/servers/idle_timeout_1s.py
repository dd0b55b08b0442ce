"""Planted bug (persist): closes a connection whose client has sent nothing for 1 s, a
`conn.settimeout(1)`: the shortest idle timeout the quick profile must catch (its idle window is
1 s: the timeout equals the window).

Clients that keep talking are served right, and flush-then-close on EOF is correct.
Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: idle_timeout_1s.py PORT [HOST]
"""

import socket
import sys
import threading

IDLE = 1.0  # seconds


def handle(conn):
    with conn:
        conn.settimeout(IDLE)  # BUG: recv() gives up on an idle client
        try:
            while data := conn.recv(65536):
                conn.settimeout(None)
                conn.sendall(data.upper())
                conn.settimeout(IDLE)
        except OSError:  # the timeout, a reset or a broken pipe: drop this connection
            pass


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
