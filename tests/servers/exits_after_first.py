"""Planted bug (many-connections, survive-reset): the whole process exits as soon as the
first client that sent at least one byte is done (EOF, reset or error).

Connections that send nothing do not count: it serves its first client that sends correctly --
and nobody after.
Usage: exits_after_first.py PORT [HOST]
"""
import os
import socket
import sys
import threading


def handle(conn):
    served = False
    try:
        while data := conn.recv(65536):
            served = True
            conn.sendall(data.upper())
        conn.close()
    except OSError:
        pass
    if served:
        os._exit(0)  # BUG: a one-shot server


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
