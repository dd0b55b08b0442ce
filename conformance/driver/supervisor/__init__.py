"""The supervisor of one server under test: the sandbox it runs in, and what it leaves behind.

A program, not a library: the launcher runs this folder (`python -I -S .../supervisor
CONFIG_JSON -- ARGV...`, which runs its __main__.py), with the standard library only, so that it
starts fast and imports nothing of the runner.

With isolation on (the launcher's choice, sandbox.isolation(): "root", or "user" where an
unprivileged user may make user namespaces), it first moves into new network, PID, mount, IPC and
UTS namespaces (in "user" mode, owned by a new user namespace that maps the runner's own uid to
itself): only loopback, up.  Then it forks the namespace's PID 1, which builds the server's
file-system view (view.py chooses its paths): an empty root with those paths bound read-only, the
server's scratch folder as a writable /tmp, a few devices and the /proc of its PID namespace; and
starts the server.  When PID 1 ends, the kernel kills every process left in the namespace:
daemons, double forks and SIGTERM-ignorers included.  The server runs without any capability, so
it cannot undo any of this.

The supervisor itself stays in the server's network, and hands out sockets made there on the
runner's channel (a Unix socket pair, SCM_RIGHTS) until the runner closes it: an unprivileged
runner cannot enter a network namespace that a user namespace owns, and so the network outlives
its server while the runner still looks at it (new connections are refused, as at any port where
nothing listens).

Either way, the supervisor captures the server's stdout and stderr into files capped in size
(the rest is counted and dropped, so a flood neither blocks the server nor fills the disk), sets
its resource limits, and reports on the status pipe: "init PID" (isolated), "ready", then
"exit N" or "signal N".

What it never does: import anything of the suite but its own modules (and the packages above
them, conformance and conformance.driver, which hold docstrings and a version); import anything
once it has started: __main__.py imports every module first, for after pivot_root this folder
may be out of sight of both processes (they share the mount namespace); let PID 1 print a
traceback (an "error ..." line on the status pipe instead); leave an isolated server a
capability; wait with select() (descriptors passed from the runner keep their numbers, past
1024).

Its modules, one job each:

__main__.py   the program: its arguments, the order of things; --probe (can this user have it?)
namespaces.py the namespaces entered (loopback up), and the user namespaces of the id maps
mounts.py     the server's file-system view: bound read-only, devices, /proc, pivot_root
supervise.py  the server's parent (PID 1): starts it, copies its output, reaps, reports the end
server.py     the server's process from fork to exec: output, limits, signals, no privilege
output.py     Sink: an output file capped in size
channel.py    the supervisor in the server's network: sockets handed out, PID 1 reaped or ended
waiting.py    what the loops wait with: poll(), the wake-up pipe, kill() from a handler
syscalls.py   the C library, for the system calls Python has no function for
"""
