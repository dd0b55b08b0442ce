"""Planted bug (many-connections): leaks one descriptor per connection.

Every accepted socket is kept in a list forever; at EOF the server only shuts down its write
side (so the client still sees a correct flush-then-close) and never closes the descriptor.
With RLIMIT_NOFILE=1024, accept() fails with EMFILE after about 1000 connections; the server
then keeps retrying (every 0.1 s) and new clients hang in the listen backlog.
Usage: fd_leak.py PORT [HOST]
"""
import socket
import sys
import threading
import time

everyone = []  # BUG: never emptied


def handle(conn):
    try:
        while data := conn.recv(65536):
            conn.sendall(data.upper())
        conn.shutdown(socket.SHUT_WR)  # FIN for the client, but the descriptor stays open
    except OSError:
        pass


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:  # EMFILE once the leak has used up the descriptors
            time.sleep(0.1)
            continue
        everyone.append(conn)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
