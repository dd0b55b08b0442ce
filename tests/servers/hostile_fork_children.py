"""Hostile (children): forks a child per connection and never reaps it (zombies pile up),
and at start forks 50 idle children that sleep forever (they hold no socket, and outlive the
server when only it is killed). Each connection is served correctly by its child.
Usage: hostile_fork_children.py [PORT] (default 8080).
"""

import os
import socket
import sys
import time


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
        except OSError:  # reset or broken pipe: drop this connection only
            pass


def main():
    for _ in range(50):  # HOSTILE: idle children
        if os.fork() == 0:
            while True:
                time.sleep(3600)
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    listener = socket.create_server(("127.0.0.1", port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        if os.fork() == 0:  # HOSTILE: never waited for
            listener.close()
            handle(conn)
            os._exit(0)
        conn.close()


if __name__ == "__main__":
    main()
