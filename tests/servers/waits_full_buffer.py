"""Planted bug (prompt): reads with recv(1024, MSG_WAITALL), so it replies only once a full
1024-byte block has arrived (or at EOF, when the short rest is answered and the connection
closed correctly).

Usage: waits_full_buffer.py PORT [HOST]
"""
import socket
import sys
import threading


def handle(conn):
    with conn:
        try:
            while data := conn.recv(1024, socket.MSG_WAITALL):  # BUG: blocks for 1024 bytes
                conn.sendall(data.upper())
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
