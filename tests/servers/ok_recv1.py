"""Correct server: reads with recv(1), one byte per system call.

Threads, one per connection. After a blocking recv(1) it keeps calling recv(1, MSG_DONTWAIT)
while bytes are already waiting (up to 4096), then sendall()s what it has: prompt, and not as
slow as one send per byte.
Usage: ok_recv1.py PORT [HOST]
"""
import socket
import sys
import threading


def handle(conn):
    with conn:
        try:
            while byte := conn.recv(1):
                got = bytearray(byte)
                try:  # then more recv(1) calls, as long as bytes are already waiting
                    while len(got) < 4096 and (byte := conn.recv(1, socket.MSG_DONTWAIT)):
                        got += byte
                except BlockingIOError:
                    pass
                conn.sendall(got.upper())
                if not byte:  # EOF seen by the non-blocking recv
                    break
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
