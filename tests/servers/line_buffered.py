"""Planted bug (prompt): line buffering -- replies only up to the last newline received;
bytes after it wait for a later newline (or for EOF, when the rest is flushed and the
connection closed correctly).

Usage: line_buffered.py PORT [HOST]
"""
import socket
import sys
import threading


def handle(conn):
    with conn:
        pending = b""
        try:
            while data := conn.recv(65536):
                pending += data
                cut = pending.rfind(b"\n") + 1  # BUG: waits for a newline
                if cut:
                    conn.sendall(pending[:cut].upper())
                    pending = pending[cut:]
            conn.sendall(pending.upper())  # EOF: flush the unterminated rest
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
