"""Hostile (daemon): at start it double-forks a daemon grandchild, in a session of its own
(setsid), that ignores SIGTERM, keeps the inherited stdio open and sleeps forever; the server
process itself is a correct uppercase echo. Killing the server, or its process group, leaves
the grandchild running. Usage: hostile_daemonize.py [PORT] (default 8080).
"""

import os
import signal
import socket
import sys
import threading
import time


def daemonize():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:  # HOSTILE: the grandchild, reparented to init when its parent exits
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                time.sleep(3600)
        os._exit(0)
    os.wait()  # reap the middle child; the grandchild is no longer ours


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
        except OSError:  # reset or broken pipe: drop this connection only
            pass


def main():
    daemonize()
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    listener = socket.create_server(("127.0.0.1", port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
