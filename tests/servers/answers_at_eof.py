"""Planted bug (prompt): store and forward -- buffers everything the client sends and answers
it all at once when the client half-closes, then closes.

The reply stream is right, and so is the close after a half-close; but nothing is answered
while the client's side is open.
Usage: answers_at_eof.py PORT [HOST]
"""

import socket
import sys
import threading


def handle(conn):
    with conn:
        request = bytearray()
        try:
            while data := conn.recv(65536):
                request += data  # BUG: should be answered now
            conn.sendall(request.upper())
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
