"""The tutorial's select() server, re-created faithfully, bugs included.

Kept on purpose: no SO_REUSEADDR, only the listener non-blocking, a reply slot per socket that a
second recv() overwrites, wlist.append() that can list a socket twice, sockets closed and removed
from rlist but left in wlist/wdata, a send() with no error handling whose partial result is
ignored, print(wl) on every pass. Module-level code like the original, so it runs at the
original's speed (races then end the same way).
"""

import select
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 8080))  # no SO_REUSEADDR
server.listen(5)
server.setblocking(False)  # the listener only; accepted sockets stay blocking
print("starting...")

rlist: list[socket.socket] = [server]
wlist: list[socket.socket] = []
wdata: dict[socket.socket, bytes] = {}

while True:
    rl, wl, xl = select.select(rlist, wlist, [], 5)
    print(wl)
    for sock in rl:
        if sock == server:
            conn, addr = sock.accept()
            rlist.append(conn)
        else:
            try:
                data = sock.recv(1024)
                if not data:
                    sock.close()
                    rlist.remove(sock)  # but left in wlist/wdata
                    continue
                wlist.append(sock)  # may already be there: duplicates
                wdata[sock] = data.upper()  # overwrites a reply not sent yet
            except Exception:
                sock.close()
                rlist.remove(sock)

    for sock in wl:
        sock.send(wdata[sock])  # no error handling
        wlist.remove(sock)  # removes one occurrence only
        wdata.pop(sock)
