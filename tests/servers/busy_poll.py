"""Planted bug (idle-cpu): non-blocking sockets polled in a loop that never sleeps or blocks,
so it burns a whole core even with no client at all.

Otherwise correct: output buffers, backpressure, flush-then-close on EOF, resets handled.
Usage: busy_poll.py PORT [HOST]
"""
import socket
import sys

LIMIT = 1 << 20


def main():
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    listener.setblocking(False)
    conns = {}  # socket -> [output buffer, eof seen]
    while True:  # BUG: spins; no select()/poll()/sleep anywhere
        try:
            sock, _ = listener.accept()
            sock.setblocking(False)
            conns[sock] = [bytearray(), False]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass
        for sock, (out, eof) in list(conns.items()):
            try:
                if not eof and len(out) < LIMIT:
                    try:
                        data = sock.recv(65536)
                        if data:
                            out += data.upper()
                        else:
                            conns[sock][1] = eof = True
                    except (BlockingIOError, InterruptedError):
                        pass
                if out:
                    del out[:sock.send(out)]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                eof, out = True, b""
            if eof and not out:
                del conns[sock]
                sock.close()


if __name__ == "__main__":
    main()
