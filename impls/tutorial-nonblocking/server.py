"""The tutorial's non-blocking server, re-created faithfully, bugs included.

Only the listening socket is non-blocking: on Linux accepted sockets do not inherit O_NONBLOCK,
so recv() blocks on the first client with nothing to say and everyone waits for it. With no
client the loop spins on accept(). Kept on purpose: one recv(1024) per client per pass, the
reply slot overwritten rather than appended to, a single send() whose partial result is
ignored, only BlockingIOError caught around send(), ConnectionResetError caught only on recv().
Module-level code like the original, so it runs at the original's speed (reset races then end
the same way).
"""

import socket

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 8080))
server.listen(5)
server.setblocking(False)  # the listener only; accepted sockets stay blocking

r_list: list[socket.socket] = []  # connected clients
w_list: dict[socket.socket, bytes] = {}  # one pending reply per client, overwritten

while True:
    try:
        conn, addr = server.accept()
        r_list.append(conn)
    except BlockingIOError:
        # Nobody waiting to be accepted: one pass over the connected clients.
        closed: list[socket.socket] = []
        for conn in r_list:
            try:
                data = conn.recv(1024)  # blocks: conn is a blocking socket
                if not data:
                    conn.close()
                    closed.append(conn)
                    continue
                w_list[conn] = data.upper()
            except BlockingIOError:  # never raised by a blocking socket
                continue
            except ConnectionResetError:
                conn.close()
                closed.append(conn)

        sent: list[socket.socket] = []
        for conn, reply in w_list.items():
            try:
                conn.send(reply)  # partial sends ignored; a reset peer raises, uncaught
                sent.append(conn)
            except BlockingIOError:
                continue

        for conn in closed:
            r_list.remove(conn)
        for conn in sent:
            w_list.pop(conn)
