"""Planted bug (upper): normalizes line endings like a text-mode stream -- CR LF and a lone
CR (0x0D) both come back as LF (0x0A) -- then uppercases.

A CR LF pair loses a byte; a lone CR becomes LF. Bytes other than CR are handled right.
Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: newline_normalize.py PORT [HOST]
"""

import socket
import sys
import threading


def reply(data):
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").upper()  # BUG: CR is data too


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
