"""Planted bug (prompt): sleeps 3 s before answering each recv() chunk -- longer than the
spec's 2 s reply timeout. Delays add up: a chunk that arrives while the thread sleeps waits for
the next sleep too.

The replies themselves are right, and so is flush-then-close on EOF (late).
Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: slow_reply.py PORT [HOST]
"""

import socket
import sys
import threading
import time

DELAY = 3.0


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                time.sleep(DELAY)  # BUG: "rate limiting" far past the reply timeout
                conn.sendall(data.upper())
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
