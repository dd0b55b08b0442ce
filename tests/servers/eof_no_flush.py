"""Planted bug (close-on-eof): selectors server with output buffers that closes the
connection as soon as recv() returns b'' -- dropping replies it still owes.

Replies are written only when the socket is reported writable, and a readable event is
handled before a writable one, so data followed at once by a half-close is never answered.
A client that reads its replies before half-closing sees a correct server.
Usage: eof_no_flush.py PORT [HOST]
"""
import selectors
import socket
import sys

LIMIT = 1 << 20
sel = selectors.DefaultSelector()


def close(sock):
    sel.unregister(sock)
    sock.close()


def serve(sock, out, mask):
    try:
        if mask & selectors.EVENT_READ:
            data = sock.recv(65536)
            if not data:
                close(sock)  # BUG: `out` may still hold owed replies
                return
            out += data.upper()
        elif out:
            del out[:sock.send(out)]
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:
        close(sock)
        return
    events = selectors.EVENT_READ if len(out) < LIMIT else 0
    sel.modify(sock, events | (selectors.EVENT_WRITE if out else 0), out)


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
                sel.register(sock, selectors.EVENT_READ, bytearray())
            else:
                serve(key.fileobj, key.data, mask)


if __name__ == "__main__":
    main()
