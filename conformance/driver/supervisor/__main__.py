"""The program: `python -I -S <this file> CONFIG_JSON -- ARGV...` (the launcher), or
`--probe` (sandbox.py: may this user have the sandbox?).  It imports every module of the
supervisor before it does anything: once PID 1 has made the view the root (mounts.enter_view),
this folder may be out of sight."""

from __future__ import annotations

import os
import sys

if not __package__:  # run as this file (the launcher's way), or as its folder
    # Python puts a folder it runs first on sys.path (even with -I): its modules are imported as
    # the package's instead, from the folder that holds conformance/ (the project's root, or
    # site-packages), put after the standard library so that nothing there stands in for it.
    _folder = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == _folder:
        sys.path.pop(0)
    sys.path.append(os.path.dirname(os.path.dirname(os.path.dirname(_folder))))

import json
import signal
import socket

from conformance.driver.supervisor.channel import serve
from conformance.driver.supervisor.mounts import MS_NODEV, MS_NOEXEC, MS_NOSUID, enter_view, mount
from conformance.driver.supervisor.namespaces import enter_namespaces, idmap_namespaces
from conformance.driver.supervisor.output import Sink
from conformance.driver.supervisor.supervise import supervise
from conformance.driver.supervisor.syscalls import check, libc

TYPE_CHECKING = False  # typing is not imported at run time: a server start saves 8 ms
if TYPE_CHECKING:
    from typing import IO

try:  # Linux's, as is all of this program; importable anywhere all the same (platforms.py)
    import fcntl
    import resource
except ImportError:  # Windows: the runner never starts a supervisor there
    fcntl = resource = None  # type: ignore[assignment]

PR_SET_PDEATHSIG = 1


def main() -> int:
    if sys.argv[1:] == ["--probe"]:
        return probe()
    config = json.loads(sys.argv[1])
    argv = sys.argv[3:]
    status = os.fdopen(config["status_fd"], "w", buffering=1)
    if not sys.platform.startswith("linux") or fcntl is None or resource is None:
        status.write(f"error servers are checked on Linux only, not on {sys.platform}\n")
        return 125
    check(libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL), "prctl(PDEATHSIG)")
    # Opened before the file systems turn read-only.
    sinks = (
        Sink(config["stdout"], config["output_cap"]),
        Sink(config["stderr"], config["output_cap"]),
    )
    mode = config["isolate"]
    try:
        for cgroup in config["cgroups"]:
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as procs:
                procs.write(str(os.getpid()))
        idmaps: dict[str, int] = {}
        if mode == "root":
            # Before the namespaces: the first child forked after them is their PID 1.
            idmaps = idmap_namespaces(config["view"]["own"], config["uid"])
        if mode:
            enter_namespaces(user=mode == "user")
    except OSError as exc:
        return refuse(status, exc)
    if not mode:
        status.write("ready\n")
        # The runner signals the whole process group: the server gets its SIGTERM directly, and
        # the supervisor stays to copy its last words.
        signal.signal(signal.SIGTERM, lambda *_: None)
        return supervise(config, argv, sinks, status, pid1=False)
    channel = socket.socket(fileno=config["channel_fd"])
    # unshare(CLONE_NEWPID) applies to children: the next fork is the namespace's PID 1.
    init = os.fork()
    if init == 0:
        try:
            channel.close()
            check(libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL), "prctl(PDEATHSIG)")
            try:
                enter_view(config["view"], config["scratch"], idmaps)
            except OSError as exc:
                os._exit(refuse(status, exc))
            status.write("ready\n")
            os._exit(supervise(config, argv, sinks, status, pid1=True))
        except BaseException as exc:  # report anything, never a traceback
            status.write(f"error {exc}\n")
            os._exit(125)
    status.write(f"init {init}\n")
    return serve(channel, init)


def refuse(status: IO[str], exc: OSError) -> int:
    status.write(f"error cannot isolate the server: {exc.strerror or exc}\n")
    return 125


def probe() -> int:
    """Can this user have the sandbox (user namespaces, and mounts and /proc in them)?  Exit 0,
    or say why not in one line."""
    try:
        enter_namespaces(user=True)
        init = os.fork()
        if init == 0:
            try:
                mount("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "tmpfs", "mode=755")
                os.mkdir("/tmp/proc")
                mount("proc", "/tmp/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "proc")
            except OSError as exc:
                print(exc.strerror or exc)
                os._exit(1)
            os._exit(0)
        return os.waitstatus_to_exitcode(os.waitpid(init, 0)[1])
    except OSError as exc:
        print(exc.strerror or exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
