"""Correct server: one AF_INET6 socket, IPV6_V6ONLY=0, bound to ("::", PORT): dual stack.

IPv4 clients (127.0.0.1) arrive as IPv4-mapped addresses (::ffff:127.0.0.1). HOST is accepted
for the common command line but ignored: the socket listens on every address, IPv4 and IPv6.
Threads, one per connection, blocking recv + sendall.
Usage: ok_ipv6_dualstack.py PORT [HOST]
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
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    listener.bind(("::", int(sys.argv[1])))
    listener.listen(512)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
