"""Planted bug (idle-cpu): each connection's thread polls its socket with a non-blocking
recv() and a 0.1 ms sleep instead of blocking in recv().

With no client connected it sleeps in accept(); every connected client, idle or not, costs
thousands of wake-ups a second (four idle clients took 8-18% of a core in testing).
Otherwise a correct thread-per-connection server (blocking sendall).
Usage: polls_clients.py PORT [HOST]
"""

import socket
import sys
import threading
import time


def handle(conn):
    with conn:
        try:
            while True:
                try:
                    data = conn.recv(65536, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    time.sleep(0.0001)  # BUG: polls instead of blocking
                    continue
                if not data:
                    break
                conn.sendall(data.upper())
        except OSError:  # reset or broken pipe: drop this connection only
            pass


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
