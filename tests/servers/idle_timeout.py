"""Planted bug (persist): closes a connection whose client has sent nothing for 5 s, the
student's `conn.settimeout(5)`: an idle timeout of any length is closing first, which the server
must never do.

Clients that keep talking are served right, and flush-then-close on EOF is correct.
Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: idle_timeout.py PORT [HOST]
"""

import socket
import sys
import threading

IDLE = 5.0  # seconds: what graders see in students' servers


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
