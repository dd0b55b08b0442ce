"""Correct server: replies are written one byte per send() call.

Threads, one per connection. Tests that the client reassembles a reply split into 1-byte
pieces. Slow by design (one system call per byte) but still well above 1 MiB/s.
Usage: ok_bytewise.py PORT [HOST]
"""
import socket
import sys
import threading


def handle(conn):
    with conn:
        send = conn.send
        try:
            while data := conn.recv(65536):
                for byte in memoryview(data.upper()).cast("c"):
                    while not send(byte):  # send() returns 1 or blocks; never 0 for 1 byte
                        pass
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
