"""Planted bug (listen): binds and listens, then sleeps; it never calls accept().  A client's
connect() still succeeds (the kernel completes the handshake and queues the connection in the
listen backlog), so only the accept queue shows that nothing is ever accepted.

Usage: never_accepts.py PORT [HOST]
"""
import socket
import sys
import time

host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
listener = socket.create_server((host, int(sys.argv[1])))
print("listening; accept() comes later...", flush=True)
while True:  # BUG: the accept loop was never written
    time.sleep(3600)
