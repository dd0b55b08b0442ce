"""Planted bug (concurrent): selectors server that sends every reply to the most recently
accepted connection still open, instead of to the client that sent the bytes.

With one client at a time it is correct (flush-then-close on EOF, reset handling included);
with several clients connected, the replies of all of them go to the newest one.
Usage: cross_talk.py PORT [HOST]
"""
import selectors
import socket
import sys

sel = selectors.DefaultSelector()
conns = []  # open connections, in accept order


class Conn:
    def __init__(self, sock):
        self.sock, self.out, self.eof = sock, bytearray(), False


def update(c):
    events = (0 if c.eof else selectors.EVENT_READ) | (selectors.EVENT_WRITE if c.out else 0)
    if events:
        sel.modify(c.sock, events, c)
    else:
        close(c)


def close(c):
    conns.remove(c)
    sel.unregister(c.sock)
    c.sock.close()


def serve(c, mask):
    try:
        if mask & selectors.EVENT_READ:
            data = c.sock.recv(65536)
            if data:
                target = conns[-1]  # BUG: should be c
                target.out += data.upper()
                if target is not c:
                    update(target)
            else:
                c.eof = True
        if c.out:
            del c.out[:c.sock.send(c.out)]
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:
        close(c)
        return
    update(c)


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ)
    while True:
        for key, mask in sel.select():
            if key.fileobj is listener:
                try:
                    sock, _ = listener.accept()
                except OSError:
                    continue
                sock.setblocking(False)
                conns.append(Conn(sock))
                sel.register(sock, selectors.EVENT_READ, conns[-1])
            elif key.data in conns:  # may have been closed earlier in this round
                serve(key.data, mask)


if __name__ == "__main__":
    main()
