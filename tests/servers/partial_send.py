"""Planted bug (stream): non-blocking selectors server that calls send() once per chunk and
drops whatever send() did not take (or everything, on EAGAIN).

Correct while the client keeps up and the reply fits in the socket buffer; a client that
sends a lot while reading slowly (backpressure) loses bytes. Default socket buffers: the check's
narrow client window makes the loss show without tuning them.
Usage: partial_send.py PORT [HOST]
"""
import selectors
import socket
import sys

sel = selectors.DefaultSelector()


def serve(sock):
    try:
        data = sock.recv(65536)
        if data:
            sock.send(data.upper())  # BUG: ignores the count sent; the rest is lost
            return
    except (BlockingIOError, InterruptedError):
        return  # BUG: a full send buffer drops the whole chunk
    except OSError:
        pass
    sel.unregister(sock)  # EOF (nothing is ever pending) or error
    sock.close()


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
                sel.register(sock, selectors.EVENT_READ)
            else:
                serve(key.fileobj)


if __name__ == "__main__":
    main()
