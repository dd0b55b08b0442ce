"""Planted bug (stream): a selectors server, default socket buffers, that calls send() once per
pending chunk and forgets whatever it did not take.

Written as a student might: `sent = sock.send(pending); pending.clear()`, and a BlockingIOError
(EAGAIN: the send buffer is full) drops the chunk too.  Otherwise correct: it flushes what it
owes before closing on the client's half-close and survives resets.  Only a client that stops
reading long enough for the server's send buffer to fill sees bytes go missing.
Usage: drops_unsent_rest.py PORT [HOST]
"""
import selectors
import socket
import sys

sel = selectors.DefaultSelector()


class Conn:
    def __init__(self, sock):
        self.sock, self.pending, self.eof = sock, bytearray(), False


def flush(c):
    if not c.pending:
        return
    try:
        c.sock.send(c.pending)  # BUG: the count sent is ignored ...
    except (BlockingIOError, InterruptedError):
        pass  # BUG: ... and a full send buffer drops the whole chunk
    c.pending.clear()


def close(c):
    sel.unregister(c.sock)
    c.sock.close()


def serve(c):
    try:
        data = c.sock.recv(65536)
        if not data:
            close(c)  # EOF: nothing is ever left pending to flush
            return
        c.pending += data.upper()
        flush(c)
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:  # reset, broken pipe: drop this connection only
        close(c)


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is listener:
                try:
                    sock, _ = listener.accept()
                except OSError:
                    continue
                sock.setblocking(False)
                sel.register(sock, selectors.EVENT_READ, Conn(sock))
            else:
                serve(key.data)


if __name__ == "__main__":
    main()
