"""The tutorial's blocking server, re-created faithfully, bugs included.

It serves a single client with a single recv() and exits. Kept on purpose: no SO_REUSEADDR, one
recv(1024) whatever the client sent, a plain send() whose partial result is ignored, the server
closing first, no error or signal handling, and its print() calls. Module-level code like the
original, so it runs at the original's speed (reset races then end the same way).
"""

import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 8080))  # fixed address, no SO_REUSEADDR
server.listen(5)

print("starting...")
conn, client_addr = server.accept()  # exactly one client is ever accepted

data = conn.recv(1024)  # one read: anything beyond the first segment/1024 bytes is ignored
print("client data:", data)
conn.send(data.upper())  # return value ignored: a partial send drops the rest

conn.close()
server.close()
