"""Planted bug (stream): answers only the first 64 KiB of each connection; later bytes are
read and silently dropped (the connection stays open and still closes on EOF).

Usage: drops_after_64k.py PORT [HOST]
"""
import socket
import sys
import threading

QUOTA = 64 * 1024


def handle(conn):
    with conn:
        left = QUOTA
        try:
            while data := conn.recv(65536):
                if left > 0:
                    conn.sendall(data[:left].upper())  # BUG: anything past the quota is lost
                    left -= len(data)
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
