"""Planted bug (prompt): replies lag one chunk behind -- each recv() chunk is answered only
when the next one arrives (the last one at EOF, when the connection is then closed right).

Every byte is eventually answered, in order; but a client that waits for the reply to what it
just sent waits forever.
Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: lags_one_behind.py PORT [HOST]
"""

import socket
import sys
import threading


def handle(conn):
    with conn:
        held = b""
        try:
            while data := conn.recv(65536):
                conn.sendall(held.upper())  # BUG: answers the previous chunk, holds this one
                held = data
            conn.sendall(held.upper())  # EOF: the last chunk at last
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
