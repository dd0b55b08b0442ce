"""Planted bug (upper): C-string thinking -- each recv() chunk is cut at its first NUL byte
(0x00): the NUL and everything after it in that chunk are never answered.

Chunks without a NUL are answered right; the connection stays open.
Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: truncates_at_nul.py PORT [HOST]
"""

import socket
import sys
import threading


def reply(data):
    return data.split(b"\0", 1)[0].upper()  # BUG: NUL is a byte like any other


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
