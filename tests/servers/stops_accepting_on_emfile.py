"""Planted bug (survive-fd-limit): a thread per connection, but the accept loop ends on the first
error, EMFILE included; the process lives on, serving the clients it holds, and accepts no more.

Usage: stops_accepting_on_emfile.py PORT [HOST]
"""
import socket
import sys
import threading


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
        except OSError:
            pass


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=128)
    workers = []
    try:
        while True:
            conn, _ = listener.accept()
            worker = threading.Thread(target=handle, args=(conn,))
            worker.start()
            workers.append(worker)
    except OSError as exc:  # BUG: out of descriptors ends accepting for good
        print(f"accept: {exc}", file=sys.stderr, flush=True)
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
