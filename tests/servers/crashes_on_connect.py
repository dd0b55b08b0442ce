"""Planted bug (listen): a select() loop that takes its listening socket for a client's (the
`is not` of a mutant of impls/select): at the first connection it reads from the listener,
raises and exits, before accepting anything.

Usage: crashes_on_connect.py PORT [HOST]
"""
import select
import socket
import sys

host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
listener = socket.create_server((host, int(sys.argv[1])))
clients: dict[socket.socket, bytes] = {}
while True:
    readable, _, _ = select.select([listener, *clients], [], [])
    for sock in readable:
        if sock is not listener:  # BUG: `is` meant; the listener's turn reads a client's state
            conn, _ = sock.accept()
            clients[conn] = b""
        else:
            data = clients[sock]  # KeyError: the listener is no client
            sock.sendall(data.upper())
