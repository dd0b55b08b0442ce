"""Planted bug (persist): closes the connection after answering 10 recv() chunks.

Usage: closes_after_10_writes.py PORT [HOST]
"""
import socket
import sys
import threading


def handle(conn):
    with conn:
        try:
            for _ in range(10):  # BUG: should loop until EOF
                if not (data := conn.recv(65536)):
                    break
                conn.sendall(data.upper())
            conn.shutdown(socket.SHUT_WR)
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
