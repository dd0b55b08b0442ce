"""Planted bug (concurrent): a single-threaded selectors loop over *blocking* sockets that
answers with sendall() -- so a client that stops reading its replies, once the socket buffers
are full, blocks the whole server: every other client waits until it reads again or leaves.

Correct otherwise: every reply is complete, in order; flush-then-close on EOF; resets handled.
Usage: blocking_sendall_loop.py PORT [HOST]
"""

import selectors
import socket
import sys

sel = selectors.DefaultSelector()


def serve(conn):
    try:
        if data := conn.recv(65536):
            conn.sendall(data.upper())  # BUG: blocks while this one client does not read
            return
    except OSError:  # reset or broken pipe: drop this connection only
        pass
    sel.unregister(conn)  # EOF (everything was sent) or error
    conn.close()


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    sel.register(listener, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is listener:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                sel.register(conn, selectors.EVENT_READ)
            else:
                serve(key.fileobj)


if __name__ == "__main__":
    main()
