"""Planted bug (stream, persist): a per-connection quota -- once it has answered 1 MiB on a
connection, it closes that connection.

Any number of small messages is answered right; a client that sends more than 1 MiB in all
gets the first 1 MiB of replies, then the server's close (a reset, when more input was
waiting unread).
Usage: closes_after_1mib.py PORT [HOST]
"""

import socket
import sys
import threading

QUOTA = 1 << 20


def handle(conn):
    with conn:
        left = QUOTA
        try:
            while data := conn.recv(65536):
                conn.sendall(data[:left].upper())
                left -= len(data)
                if left <= 0:
                    break  # BUG: the server never closes first
        except OSError:  # reset or broken pipe: drop this connection only
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
