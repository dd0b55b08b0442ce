"""Planted bug (upper): uppercases Latin-1 text,
data.decode('latin-1').upper().encode('latin-1', 'replace').

Letters 0xE0-0xFE (except 0xF7) become 0xC0-0xDE; 'µ' (0xB5) and 'ÿ' (0xFF) uppercase to
characters outside Latin-1 and come back as '?'; 'ß' (0xDF) becomes 'SS' (one byte more).
ASCII is handled correctly.

Otherwise a correct thread-per-connection server (blocking recv + sendall).
Usage: latin1_upper.py PORT [HOST]
"""
import socket
import sys
import threading


def reply(data):
    return data.decode("latin-1").upper().encode("latin-1", "replace")


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
