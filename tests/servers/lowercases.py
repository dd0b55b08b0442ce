"""Planted bug (upper): lowercases (bytes.lower) instead of uppercasing.

Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: lowercases.py PORT [HOST]
"""
import socket
import sys
import threading


def reply(data):
    return data.lower()


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(reply(data))
        except OSError:  # reset or broken pipe: drop this connection only
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
