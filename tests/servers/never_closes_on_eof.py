"""Planted bug (close-on-eof): on EOF it stops reading but keeps the connection open, so a
client that half-closed never reads EOF.

To keep the bug to that one requirement (and not leak descriptors), it holds at most the 100
most recent such connections and closes the oldest beyond that.
Usage: never_closes_on_eof.py PORT [HOST]
"""
import collections
import socket
import sys
import threading

held, lock = collections.deque(), threading.Lock()


def handle(conn):
    try:
        while data := conn.recv(65536):
            conn.sendall(data.upper())
    except OSError:
        conn.close()
        return
    with lock:  # BUG: should close here
        held.append(conn)
        if len(held) > 100:
            held.popleft().close()


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
