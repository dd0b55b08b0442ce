"""The server's process, from fork to exec: its output on the pipes, its resource limits, every
signal as a shell leaves it, and (isolated) no privilege it could use to undo the sandbox."""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import struct

from conformance.driver.supervisor.syscalls import check, libc

TYPE_CHECKING = False  # typing is not imported at run time: a server start saves 8 ms
if TYPE_CHECKING:
    from typing import Any

try:  # Linux's, as is all of this program; importable anywhere all the same (platforms.py)
    import resource
except ImportError:  # Windows: the runner never starts a supervisor there
    resource = None  # type: ignore[assignment]

SYS_RT_SIGACTION = {"x86_64": 13, "aarch64": 134}
PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 24, 28, 38
SECURE_ALL_BITS_LOCKED = 0x3F  # noroot, no_setuid_fixup, keep_caps: set and locked
LINUX_CAPABILITY_VERSION_3 = 0x20080522


def exec_server(config: dict[str, Any], argv: list[str], out_w: int, err_w: int) -> None:
    try:
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, 1 << 16)
        signal.set_wakeup_fd(-1)
        as_a_shell_starts_it()
        limits = config["limits"]
        for name, value in limits.items():
            res = getattr(resource, f"RLIMIT_{name.upper()}")
            resource.setrlimit(res, (value, value))
        os.chdir(config["cwd"])
        if config["isolate"]:
            drop_privileges(config["uid"])
        os.execvpe(argv[0], argv, config["env"])
    except OSError as exc:
        os.write(2, f"echo-conformance: cannot start {argv[0]}: {exc.strerror}\n".encode())
    except ValueError as exc:  # setrlimit: a spec limit above the runner's own hard limit
        os.write(2, f"echo-conformance: cannot start {argv[0]}: a limit: {exc}\n".encode())
    os._exit(127)


def as_a_shell_starts_it() -> None:
    """Every signal's default action, none blocked: what a program started from a shell gets.
    Python ignores SIGPIPE and SIGXFSZ at start, and an ignored signal stays ignored across
    exec: a server that dies of SIGPIPE in the student's shell must die of it here too."""
    for sig in range(1, signal.NSIG):  # valid_signals() leaves out the C library's own
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            # The C library's own signals (32, 33), whose sigaction() it refuses: they can be
            # ignored all the same (as in a pytest-xdist worker on Python 3.13).
            number = SYS_RT_SIGACTION.get(os.uname().machine)
            if number is not None:
                libc().syscall(number, sig, bytes(32), None, 8)  # all zero: SIG_DFL
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def drop_privileges(uid: int | None) -> None:
    """Become the sandbox uid (and gid), with no supplementary group and no capability now, none
    regained by exec, no setuid gain.  In a user namespace (uid None) the server keeps the
    runner's uid, the only one mapped there, and its groups (setgroups is denied there)."""
    for cap in range(64):
        if libc().prctl(PR_CAPBSET_DROP, cap) < 0 and ctypes.get_errno() == errno.EINVAL:
            break
    # Capabilities kept across the change of uid below (no_setuid_fixup), then dropped for good.
    check(libc().prctl(PR_SET_SECUREBITS, SECURE_ALL_BITS_LOCKED), "prctl(SECUREBITS)")
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    check(libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    header = struct.pack("Ii", LINUX_CAPABILITY_VERSION_3, 0)
    data = bytes(24)  # effective, permitted, inheritable: all empty, twice (64 bits)
    check(libc().capset(header, data), "capset")
