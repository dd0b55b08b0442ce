"""Planted bug (close-on-eof): sets SO_LINGER to (on, 0 s) on every connection "to avoid
TIME_WAIT", so close() sends an RST instead of a FIN and discards whatever reply bytes are
still in the send buffer.

It answers and reads EOF correctly; a client that half-closed gets a reset instead of the
rest of its replies and an EOF.
Usage: rst_on_close.py PORT [HOST]
"""

import socket
import struct
import sys
import threading

ABORTIVE = struct.pack("ii", 1, 0)  # l_onoff=1, l_linger=0


def handle(conn):
    with conn:  # BUG: with SO_LINGER 0, this close() is an abort
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
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
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, ABORTIVE)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
