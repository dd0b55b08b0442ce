"""Planted bug (concurrent, capacity): iterative server -- serves one connection at a time,
from accept to EOF, before accepting the next; other clients wait in the listen backlog.

Usage: iterative.py PORT [HOST]
"""
import socket
import sys


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        with conn:  # BUG: nobody else is served meanwhile
            try:
                while data := conn.recv(65536):
                    conn.sendall(data.upper())
            except OSError:
                pass


if __name__ == "__main__":
    main()
