"""Planted bug (survive-reset): leaks the descriptor of every connection that ends in an error
(a client reset, a broken pipe); connections that end with a clean EOF are closed right.

Open connections are kept in a set and removed only on the clean path. With RLIMIT_NOFILE=1024,
about 1000 resets use up the descriptors: accept() then fails with EMFILE (retried every 0.1 s)
and new clients hang in the listen backlog.
Usage: fd_leak_on_reset.py PORT [HOST]
"""

import socket
import sys
import threading
import time

open_conns, lock = set(), threading.Lock()


def handle(conn):
    try:
        while data := conn.recv(65536):
            conn.sendall(data.upper())
    except OSError:
        return  # BUG: the error path forgets to close and unregister conn
    with lock:
        open_conns.discard(conn)
    conn.close()


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:  # EMFILE once the leak has used up the descriptors
            time.sleep(0.1)
            continue
        with lock:
            open_conns.add(conn)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
