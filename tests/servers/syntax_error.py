"""Planted bug (listen): a syntax error -- Python refuses to run the file at all.

Usage: syntax_error.py PORT [HOST]
"""
import socket
import sys


def main()  # BUG: missing colon
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port))
    while True:
        conn, _ = listener.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data.upper())


if __name__ == "__main__":
    main()
