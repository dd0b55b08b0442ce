"""Correct server: a thread per connection; when accept() fails with EMFILE it says so and backs
off for 3 s before accepting again (as asyncio does for 1 s), leaving its queue to fill meanwhile.

Usage: ok_emfile_backoff.py PORT [HOST]
"""
import socket
import sys
import threading
import time

BACKOFF = 3.0  # seconds without accept() after running out of descriptors


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
        except OSError:
            pass


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=128)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError as exc:  # out of descriptors: wait for clients to leave
            print(f"accept: {exc}; backing off {BACKOFF:g} s", file=sys.stderr, flush=True)
            time.sleep(BACKOFF)
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
