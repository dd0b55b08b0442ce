"""Planted bug (listen): listens on PORT+1 instead of PORT (otherwise a correct threaded
server). If PORT+1 happens to be taken, bind fails and the process exits: listen fails too.

Usage: wrong_port.py PORT [HOST]
"""
import socket
import sys
import threading


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
        except OSError:
            pass


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port + 1), backlog=512)  # BUG: off by one
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
