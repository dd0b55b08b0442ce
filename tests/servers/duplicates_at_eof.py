"""Planted bug (close-on-eof): on EOF it "flushes" its last reply again before closing, so
the final chunk is answered twice.

While the client's side is open the reply stream is exactly right; only a client that
half-closes after sending something sees the extra bytes (then a correct close).
Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: duplicates_at_eof.py PORT [HOST]
"""

import socket
import sys
import threading


def handle(conn):
    with conn:
        last = b""
        try:
            while data := conn.recv(65536):
                last = data.upper()
                conn.sendall(last)
            conn.sendall(last)  # BUG: `last` was already sent
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
