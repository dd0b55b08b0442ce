"""Planted bug (capacity): refuses to hold more than 100 connections at once -- the 101st
simultaneous client is accepted and closed at once, without a reply.

Usage: caps_100.py PORT [HOST]
"""
import socket
import sys
import threading

MAX_CLIENTS = 100
active, lock = 0, threading.Lock()


def handle(conn):
    global active
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
        except OSError:
            pass
    with lock:
        active -= 1


def main():
    global active
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        with lock:
            full = active >= MAX_CLIENTS  # BUG: an arbitrary cap
            active += not full
        if full:
            conn.close()
        else:
            threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
