"""Planted bug (survive-reset): when a client resets its connection, the handler's cleanup
shuts down and closes the listening socket instead of the client's (wrong variable).

The process lives on and connections already open keep being served, but no new client is
ever accepted after the first reset.
Usage: closes_listener_on_reset.py PORT [HOST]
"""

import socket
import sys
import threading


def drop(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)  # also wakes a thread blocked in accept()
    except OSError:
        pass
    sock.close()


def handle(conn, listener):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.upper())
        except ConnectionResetError:
            drop(listener)  # BUG: should be drop(conn)
        except OSError:
            pass


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    while listener.fileno() != -1:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=handle, args=(conn, listener), daemon=True).start()
    threading.Event().wait()  # the listener is gone: keep serving the open connections


if __name__ == "__main__":
    main()
