"""Planted bug (upper): uppercases with str.upper() on the chunk decoded as UTF-8.

'ß' becomes 'SS', 'é' becomes 'É' (other bytes), and invalid UTF-8 (a lone 0xFF, or a
multi-byte character split across two recv() chunks) raises UnicodeDecodeError, which kills
the connection's thread: the connection is closed without a reply. The server survives.

Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: str_upper_utf8.py PORT [HOST]
"""
import socket
import sys
import threading


def reply(data):
    return data.decode("utf-8").upper().encode("utf-8")


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
