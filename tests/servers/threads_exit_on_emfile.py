"""Planted bug (survive-fd-limit): the naive thread-per-connection server -- accept() is not
guarded, so the first accept() that fails with EMFILE (more clients connected at once than the
server has descriptors) raises OSError out of the accept loop and the server exits.

Correct otherwise: daemon threads, blocking recv + sendall, a reset or broken pipe drops only its
own connection. It holds 256 clients (and any number below its descriptor limit) correctly.
Usage: threads_exit_on_emfile.py PORT [HOST]
"""
import socket
import sys
import threading


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
        except OSError:  # reset or broken pipe: drop this connection only
            pass


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    while True:
        conn, _ = listener.accept()  # BUG: EMFILE (out of descriptors) ends the server
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
