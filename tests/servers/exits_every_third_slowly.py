"""Planted bug (many-connections): the whole process exits when its third client is done, but
only after a moment's cleanup (a log flushed, a file closed), so that the next client may connect
to a server that is about to end.

Each client, the third included, is served correctly up to its end.
Usage: exits_every_third_slowly.py PORT [HOST]
"""
import os
import socket
import sys
import threading
import time

done = 0
lock = threading.Lock()


def handle(conn):
    global done
    try:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
    except OSError:
        pass
    with lock:
        done += 1
        if done == 3:
            time.sleep(0.3)  # cleanup before the end: meanwhile, it accepts and serves
            os._exit(1)  # BUG: it stops after three connections


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:  # out of descriptors (EMFILE): wait for a client to leave
            time.sleep(0.01)
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
