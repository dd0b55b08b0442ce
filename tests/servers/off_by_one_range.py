"""Planted bug (upper): off-by-one range 0x61-0x7B, so '{' (0x7B) also becomes '[' (0x5B).

Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: off_by_one_range.py PORT [HOST]
"""
import socket
import sys
import threading

TABLE = bytes(b - 0x20 if 0x61 <= b <= 0x7B else b for b in range(256))  # should stop at 0x7A


def reply(data):
    return data.translate(TABLE)


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
