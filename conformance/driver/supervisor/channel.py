"""The supervisor that stays in the server's network (isolated): it hands the runner sockets made
there on the channel (a Unix socket pair, SCM_RIGHTS) until the runner closes it, reaping PID 1
when it ends, and ending it if the runner goes first.  conformance/driver/sandbox.py is the
runner's end."""

from __future__ import annotations

import errno
import os
import signal
import socket
import struct

from conformance.driver.supervisor.waiting import drain, readable, send

REQUEST = struct.Struct("=iiiI")  # family, type, protocol, how many
MAX_FDS = 64


def serve(channel: socket.socket, init: int) -> int:
    """Hand out sockets of the server's network (hand_out) until the runner closes the channel,
    reaping PID 1 when it ends; if the runner goes first, end PID 1 (and so the namespace)."""
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: send(init, signal.SIGTERM))
    code: int | None = None
    while True:
        try:
            ready = readable([channel.fileno(), wake_r])
        except InterruptedError:
            continue
        if wake_r in ready:
            drain(wake_r)
        if code is None:
            pid, status = os.waitpid(init, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status) & 0xFF
        if channel.fileno() in ready and not hand_out(channel):
            break
    if code is None:
        send(init, signal.SIGKILL)
        code = os.waitstatus_to_exitcode(os.waitpid(init, 0)[1]) & 0xFF
    return code


def hand_out(channel: socket.socket) -> bool:
    """Answer one request: that many sockets made here, or the errno that stopped the first.
    False when the runner has closed the channel."""
    try:
        request = channel.recv(REQUEST.size)
    except OSError:
        return False
    if len(request) != REQUEST.size:
        return False
    family, kind, proto, count = REQUEST.unpack(request)
    made: list[socket.socket] = []
    error = 0
    try:
        for _ in range(min(max(count, 1), MAX_FDS)):
            made.append(socket.socket(family, kind, proto))
    except OSError as exc:
        error = exc.errno or errno.EINVAL
    try:
        if made:
            socket.send_fds(channel, [struct.pack("=i", 0)], [s.fileno() for s in made])
        else:
            channel.send(struct.pack("=i", error))
    except OSError:
        return False
    finally:
        for sock in made:
            sock.close()
    return True
