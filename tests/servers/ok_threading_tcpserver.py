"""Correct server: socketserver.ThreadingTCPServer with a blocking recv/sendall handler.

Keeps socketserver's default listen backlog (request_queue_size = 5) on purpose: bursts of
connects overflow it and must be absorbed by the client's SYN retries.
Usage: ok_threading_tcpserver.py PORT [HOST]
"""
import socketserver
import sys


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data.upper())
        except OSError:  # reset or broken pipe: just drop this connection
            pass
        # socketserver then shuts down the write side and closes the socket


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    with Server((host, port), Handler) as server:
        server.serve_forever()
