"""Planted bug (close-on-eof): a selectors loop that closes at EOF only when it owes nothing.

An EOF read while replies are still queued (the client's last bytes and its FIN arrived
together) flushes them, but the connection is never closed: the client waits for an EOF that
does not come.  Found as a mutant of impls/select (the close after the last flush removed).
Usage: no_close_when_owed.py PORT [HOST]
"""
import selectors
import socket
import sys

LIMIT = 1 << 20
sel = selectors.DefaultSelector()


class Conn:
    def __init__(self, sock):
        self.sock, self.out, self.eof = sock, bytearray(), False


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
                if not c.out:
                    close(c)
                    return
        if mask & selectors.EVENT_WRITE and c.out:
            del c.out[:c.sock.send(c.out)]
            # BUG: here, with the EOF seen and nothing left to send, it should close.
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:  # reset, broken pipe: drop this connection only
        close(c)
        return
    events = (0 if c.eof or len(c.out) >= LIMIT else selectors.EVENT_READ) | (
        selectors.EVENT_WRITE if c.out else 0)
    if events:
        sel.modify(c.sock, events, c)
    else:  # EOF seen and everything flushed: it only stops watching
        sel.unregister(c.sock)
        OPEN.append(c.sock)
        del OPEN[:-100]  # kept open, the 100 most recent (no descriptor leak)


OPEN = []


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
