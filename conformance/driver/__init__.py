"""The driver: sockets, processes and the sandbox, and what the kernel says about them.

Rule 1: the driver moves bytes, starts and ends processes and reads /proc; it never decides what
is correct (that is the model's, model.py, through the checks' Session).
Rule 2: it imports nothing of the suite but the spec's data and the outcomes (spec, outcome,
bundled, profiles, payload): tests/test_layers.py holds it to that.

net.py        client sockets: connect, write, read, half-close, reset; pump()
listeners.py  the TCP sockets of a network (listeners, accept queues), from sock_diag or /proc
procfs.py     what /proc says about processes and the machine
target.py     how to start a server: its command template, where, a free port
launcher.py   one server under test: started, watched, ended with nothing left behind
live.py       the servers this process has started: all stopped at once when a run is interrupted
status.py     what the supervisor says of the server on its status pipe
kernel.py     what the kernel tells of a running server: its sockets, queues, descriptors, CPU
capture.py    the server's loopback captured while a check runs (--pcap)
supervisor/   the program that runs a server in its sandbox (run by the launcher, apart)
sandbox.py    the runner's side of the sandbox: can it be had, how to reach inside it
view.py       what an isolated server sees of the file system
locks.py      machine-wide locks on names (a fixed port)
platforms.py  where servers can be checked (Linux)
"""
