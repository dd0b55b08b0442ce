"""Planted bug (stream): after a chunk arrives it waits up to 20 ms for a second one; if that
comes it replies upper(second) + upper(first), in the wrong order.

A single write answered on its own is correct; back-to-back writes get swapped.
Usage: reorders.py PORT [HOST]
"""
import select
import socket
import sys
import threading


def handle(conn):
    with conn:
        try:
            while first := conn.recv(65536):
                second = None
                if select.select([conn], [], [], 0.02)[0]:
                    second = conn.recv(65536)  # b"" if that was EOF
                conn.sendall((second or b"").upper() + first.upper())  # BUG: reversed order
                if second == b"":
                    break
        except OSError:
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
