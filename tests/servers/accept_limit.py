"""Planted bug (many-connections): after 1000 accepted connections it closes its listening
socket; open connections keep being served, new ones are refused.

Usage: accept_limit.py PORT [HOST]
"""
import socket
import sys
import threading
import time

MAX_ACCEPTS = 1000


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
        except OSError:
            pass


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    accepted = 0
    while accepted < MAX_ACCEPTS:  # BUG: a hard limit on accepts
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        accepted += 1
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
    listener.close()
    while True:  # keep serving the connections already open
        time.sleep(3600)


if __name__ == "__main__":
    main()
