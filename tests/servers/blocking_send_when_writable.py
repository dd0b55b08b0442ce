"""Planted bug (concurrent): a selectors loop done right -- output buffers, write interest only
while replies are owed, the unsent rest of a short send() kept -- except that the accepted
sockets stay *blocking* (the listener's O_NONBLOCK is not inherited on Linux).  send() is only
called when select() says the socket is writable, so a client that never reads holds up no one;
but one that reads slowly wakes the loop to send it more than its buffers take, and a blocking
send() then waits for the client to take it all: every other client waits meanwhile.

Correct otherwise: every reply is complete, in order; flush-then-close on EOF; resets handled.
Usage: blocking_send_when_writable.py PORT [HOST]
"""

import selectors
import socket
import sys

HIGH_WATER = 1 << 20  # stop reading from a client owed this much
sel = selectors.DefaultSelector()
owed: dict[socket.socket, bytearray] = {}
ended: set[socket.socket] = set()


def drop(conn: socket.socket) -> None:
    sel.unregister(conn)
    owed.pop(conn, None)
    ended.discard(conn)
    conn.close()


def watch(conn: socket.socket) -> None:
    events = selectors.EVENT_WRITE if owed[conn] else 0
    if conn not in ended and len(owed[conn]) < HIGH_WATER:
        events |= selectors.EVENT_READ
    if events:
        sel.modify(conn, events)
    else:
        drop(conn)  # at EOF, everything owed sent


def serve(conn: socket.socket, events: int) -> None:
    try:
        if events & selectors.EVENT_READ:
            data = conn.recv(65536)
            if data:
                owed[conn] += data.upper()
            else:
                ended.add(conn)
        if events & selectors.EVENT_WRITE and owed[conn]:
            sent = conn.send(owed[conn])  # BUG: a blocking socket: waits until all is taken
            del owed[conn][:sent]
    except OSError:  # reset or broken pipe: drop this connection only
        drop(conn)
        return
    watch(conn)


def main() -> None:
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(sys.argv[1])))
    listener.listen(128)
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ)
    while True:
        for key, events in sel.select():
            if key.fileobj is listener:
                try:
                    conn, _ = listener.accept()  # BUG: conn.setblocking(False) is missing
                except OSError:
                    continue
                owed[conn] = bytearray()
                sel.register(conn, selectors.EVENT_READ)
            else:
                serve(key.fileobj, events)  # type: ignore[arg-type]


main()
