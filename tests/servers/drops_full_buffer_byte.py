"""Planted bug (stream): reads with recv(4096) and, when a read fills the whole buffer, drops
its last byte ("room for a terminator").

Reads shorter than 4096 bytes are answered right, so small messages never show it; a large
write, read in full 4096-byte pieces, loses one byte in every piece.
Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: drops_full_buffer_byte.py PORT [HOST]
"""

import socket
import sys
import threading

BUF = 4096


def handle(conn):
    with conn:
        try:
            while data := conn.recv(BUF):
                if len(data) == BUF:
                    data = data[:-1]  # BUG: a full read is not a truncated one
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
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
