"""Planted bug (concurrent): one global lock, meant to guard a byte counter, is held around
the whole recv + sendall -- so a thread waiting in recv() for its idle client blocks every
other connection.

One thread per connection; with one client at a time it is correct.
Usage: global_lock.py PORT [HOST]
"""

import socket
import sys
import threading

lock = threading.Lock()
bytes_served = 0


def handle(conn):
    global bytes_served
    with conn:
        try:
            while True:
                with lock:  # BUG: held while blocked in recv()
                    data = conn.recv(65536)
                    if not data:
                        break
                    conn.sendall(data.upper())
                    bytes_served += len(data)
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
