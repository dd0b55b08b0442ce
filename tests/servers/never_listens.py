"""Planted bug (listen): prints a message and sleeps; it never opens a socket.

Usage: never_listens.py PORT [HOST]
"""
import sys
import time

print(f"uppercase echo server starting on port {sys.argv[1]}...", flush=True)
while True:  # BUG: forgot to listen; the runner kills the process at teardown
    time.sleep(3600)
