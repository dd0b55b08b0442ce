"""Correct server: os.fork() per connection; the parent reaps children from a SIGCHLD handler.

The parent closes its copy of each accepted socket (no descriptor leak); a child serves one
connection with blocking recv/sendall and exits with os._exit, whatever happens.
Usage: ok_fork.py PORT [HOST]
"""
import os
import signal
import socket
import sys


def reap(signum, frame):
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def child(listener, conn):
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        listener.close()
        while data := conn.recv(65536):
            conn.sendall(data.upper())
        conn.close()
    except BaseException:  # reset, broken pipe, anything: this child only
        code = 1
    finally:
        os._exit(code)


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    signal.signal(signal.SIGCHLD, reap)
    listener = socket.create_server((host, port), backlog=512)
    while True:
        try:
            conn, _ = listener.accept()  # EINTR from SIGCHLD is retried (PEP 475)
        except OSError:
            continue
        try:
            pid = os.fork()
        except OSError:
            pid = -1
        if pid == 0:
            child(listener, conn)
        conn.close()


if __name__ == "__main__":
    main()
