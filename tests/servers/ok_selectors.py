"""Correct server: single-threaded selectors.DefaultSelector loop, per-connection output buffers.

Reading pauses while a connection owes more than LIMIT bytes (backpressure); on EOF the
connection stops reading, flushes what it owes, then closes.
Usage: ok_selectors.py PORT [HOST]
"""
import selectors
import socket
import sys

LIMIT = 1 << 20
sel = selectors.DefaultSelector()


class Conn:
    def __init__(self, sock):
        self.sock, self.out, self.eof = sock, bytearray(), False


def update(c):
    events = (0 if c.eof or len(c.out) >= LIMIT else selectors.EVENT_READ) | (
        selectors.EVENT_WRITE if c.out else 0)
    if events:
        sel.modify(c.sock, events, c)
    else:  # EOF seen and everything flushed
        close(c)


def close(c):
    sel.unregister(c.sock)
    c.sock.close()


def serve(c, mask):
    try:
        if mask & selectors.EVENT_READ:
            data = c.sock.recv(65536)
            if data:
                c.out += data.upper()
            else:
                c.eof = True
        if c.out:
            del c.out[:c.sock.send(c.out)]
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:  # reset, broken pipe: drop this connection only
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
                sel.register(sock, selectors.EVENT_READ, Conn(sock))
            else:
                serve(key.data, mask)


if __name__ == "__main__":
    main()
