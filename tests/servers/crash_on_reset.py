"""Planted bug (survive-reset): single-threaded selectors server that only handles
BlockingIOError: a ConnectionResetError or BrokenPipeError from recv()/send() is uncaught and
the whole process exits.

Otherwise correct: output buffers, backpressure, flush-then-close on EOF.
Usage: crash_on_reset.py PORT [HOST]
"""
import selectors
import socket
import sys

LIMIT = 1 << 20
sel = selectors.DefaultSelector()


def serve(sock, c, mask):
    try:
        if mask & selectors.EVENT_READ:
            data = sock.recv(65536)  # BUG: ConnectionResetError propagates
            if data:
                c["out"] += data.upper()
            else:
                c["eof"] = True
        if c["out"]:
            del c["out"][:sock.send(c["out"])]  # BUG: BrokenPipeError propagates
    except (BlockingIOError, InterruptedError):
        pass
    events = (0 if c["eof"] or len(c["out"]) >= LIMIT else selectors.EVENT_READ) | (
        selectors.EVENT_WRITE if c["out"] else 0)
    if events:
        sel.modify(sock, events, c)
    else:
        sel.unregister(sock)
        sock.close()


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
                sel.register(sock, selectors.EVENT_READ, {"out": bytearray(), "eof": False})
            else:
                serve(key.fileobj, key.data, mask)


if __name__ == "__main__":
    main()
