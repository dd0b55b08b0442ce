"""Planted bug (concurrent): a fixed pool of 4 worker threads, each serving one connection
from accept to EOF; a fifth simultaneous client waits until a worker is free.

Usage: pool_of_4.py PORT [HOST]
"""
import concurrent.futures
import socket
import sys


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
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:  # BUG: too few workers
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            pool.submit(handle, conn)


if __name__ == "__main__":
    main()
