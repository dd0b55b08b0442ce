"""Planted bug (upper): answers every chunk correctly, then the whole process exits if the chunk
held the byte 0xFF (a student's decode() that fails on it, after the reply went out).

Usage: exits_on_ff.py PORT [HOST]
"""
import os
import socket
import sys
import threading
import time


def handle(conn):
    try:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
                if b"\xff" in data:
                    os._exit(1)  # BUG: one byte value ends the server
    except OSError:
        pass


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:  # out of descriptors (EMFILE): wait for a client to leave
            time.sleep(0.01)
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
