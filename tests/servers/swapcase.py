"""Planted bug (upper): swapcase() instead of upper() -- a-z become A-Z as they should, but
A-Z come back as a-z.

Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: swapcase.py PORT [HOST]
"""

import socket
import sys
import threading


def reply(data):
    return data.swapcase()  # BUG: should be data.upper()


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(reply(data))
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
