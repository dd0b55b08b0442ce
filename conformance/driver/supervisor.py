"""The supervisor of one server under test: the sandbox it runs in, and what it leaves behind.

Run by the launcher as a separate program (`python -I -S supervisor.py CONFIG_JSON -- ARGV...`),
with the standard library only, so that it starts fast and imports nothing of the runner.

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
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import select
import signal
import socket
import struct
import sys
from functools import cache
from typing import IO, Any

try:  # Linux's, as is all of this program; importable anywhere all the same (platforms.py)
    import fcntl
    import resource
except ImportError:  # Windows: the runner never starts a supervisor there
    fcntl = resource = None  # type: ignore[assignment]

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
ST_RELATIME = 4096
MOUNT_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
}
# New system calls have the same number on every architecture.
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR = 428, 429, 442
OPEN_TREE_CLONE, O_CLOEXEC, AT_EMPTY_PATH, MOVE_MOUNT_F_EMPTY_PATH = 1, 0o2000000, 0x1000, 4
MOUNT_ATTR_IDMAP = 0x00100000
CLONE_NEWUSER = 0x10000000
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}  # by machine: old calls, numbered apart
SYS_RT_SIGACTION = {"x86_64": 13, "aarch64": 134}
MNT_DETACH = 2
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = -100, 0x8000, 1
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 1, 24, 28, 38
SECURE_ALL_BITS_LOCKED = 0x3F  # noroot, no_setuid_fixup, keep_caps: set and locked
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 1
TRUNCATED = b"\n[... output truncated by echo-conformance: %d more bytes dropped]\n"


class MountAttr(ctypes.Structure):  # struct mount_attr, for mount_setattr()
    _fields_ = [
        ("set", ctypes.c_uint64),
        ("clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


@cache
def libc() -> ctypes.CDLL:
    # Loaded when first used: Windows has no C library by that name (ctypes raises at load).
    return ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


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


def readable(fds: list[int]) -> list[int]:
    """Those of `fds` with something to read, or closed: waits until one has.  poll(), not
    select(): descriptors passed from the runner keep their numbers, which pass select()'s
    1024 in a runner holding a crowd's sockets."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return [fd for fd, _ in poller.poll()]


REQUEST = struct.Struct("=iiiI")  # family, type, protocol, how many
MAX_FDS = 64


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


def send(pid: int, sig: int) -> None:
    """kill(), for a signal handler: whoever it was for may be gone already."""
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def enter_namespaces(user: bool) -> None:
    """New namespaces, loopback up, no mount propagated back; with `user`, a user namespace owns
    them, where this process keeps its uid and gid (the only ones it may map) and all
    capabilities until the server drops them."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS
    check(libc().unshare(flags | (CLONE_NEWUSER if user else 0)), "unshare")
    if user:
        for name, mapping in (
            ("setgroups", "deny"),
            ("uid_map", f"{uid} {uid} 1"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            with open(f"/proc/self/{name}", "w") as table:
                table.write(mapping)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH22x", b"lo", 0))
        lo_flags = struct.unpack("16sH22x", ifreq)[1] | IFF_UP
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", lo_flags))
    mount(None, "/", MS_REC | MS_PRIVATE)  # nothing done here reaches the host's mounts


DEVICES = ("null", "zero", "full", "random", "urandom", "tty")


def idmap_namespaces(own: list[str], uid: int) -> dict[str, int]:
    """For each of the server's own folders, a user namespace whose mapping shows that folder's
    owner as the sandbox uid: the idmapped mount of the folder (bind_own) uses it."""
    found: dict[tuple[int, int], int] = {}
    idmaps = {}
    for path in own:
        info = os.stat(path)
        owner = (info.st_uid, info.st_gid)
        if owner not in found:
            found[owner] = user_namespace(f"{owner[0]} {uid} 1", f"{owner[1]} {uid} 1")
        idmaps[path] = found[owner]
    return idmaps


def user_namespace(uid_map: str, gid_map: str) -> int:
    """A user namespace with these mappings, held by an open descriptor: a child makes it, we
    (root outside) write its mappings, and it ends."""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(ready_r)
        os.close(done_w)
        made = libc().unshare(CLONE_NEWUSER) == 0
        os.write(ready_w, b"y" if made else b"n")
        os.read(done_r, 1)  # until the mappings are written and the namespace is held
        os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    try:
        if os.read(ready_r, 1) != b"y":
            raise OSError(errno.EPERM, "unshare(user) refused")
        for name, mapping in (("uid_map", uid_map), ("gid_map", gid_map)):
            with open(f"/proc/{child}/{name}", "w") as table:
                table.write(mapping)
        return os.open(f"/proc/{child}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready_r)
        os.close(done_w)
        os.waitpid(child, 0)


def bind_own(path: str, target: str, userns: int) -> None:
    """`path` at `target`, read-only, its owner's files shown as the sandbox uid's."""
    tree = check(
        libc().syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(), OPEN_TREE_CLONE | O_CLOEXEC),
        f"open_tree {path}",
    )
    try:
        attr = MountAttr(MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY, 0, 0, userns)
        done = libc().syscall(
            SYS_MOUNT_SETATTR, tree, b"", AT_EMPTY_PATH, ctypes.byref(attr), ctypes.sizeof(attr)
        )
        check(done, f"idmap {path}")
        done = libc().syscall(
            SYS_MOVE_MOUNT, tree, b"", AT_FDCWD, target.encode(), MOVE_MOUNT_F_EMPTY_PATH
        )
        check(done, f"move_mount {path}")
    finally:
        os.close(tree)


def enter_view(view: dict[str, Any], scratch: str, idmaps: dict[str, int]) -> None:
    """Make the view the root: only what view.py chose, read-only; /tmp the writable scratch;
    the server's own folders as its own (idmapped as root; in a user namespace the server's uid
    is their owner's already).  Done by PID 1: /proc is mounted from inside the PID namespace,
    and before the old root goes (a user namespace may mount a /proc only where one is seen)."""
    root: str = view["root"]
    mount("tmpfs", root, MS_NOSUID | MS_NODEV, "tmpfs", "mode=755")

    def place(path: str) -> str:  # a path's place in the view
        return root + path

    # The scratch first: a bound folder that lies under /tmp (a student's) is seen there too.
    os.mkdir(place("/tmp"))
    mount(scratch, place("/tmp"), MS_BIND)
    for path, target in view["links"].items():
        os.symlink(target, place(path))
    for path in view["binds"]:
        os.makedirs(place(path), exist_ok=True)
        mount(path, place(path), MS_BIND | MS_REC)
    for path in view["own"]:  # last: over a folder of the rest that holds it
        os.makedirs(place(path), exist_ok=True)
        try:
            if path not in idmaps:
                raise OSError(errno.EOPNOTSUPP, "no idmap")
            bind_own(path, place(path), idmaps[path])
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            # A file system without idmapped mounts: the server reads what every user may.
            mount(path, place(path), MS_BIND | MS_REC)
    make_dev(place("/dev"))
    os.mkdir(place("/proc"))
    os.mkdir(place("/.old"))
    read_only(root)  # all of it, but for what is mounted next: the writable places
    writable(place("/tmp"))
    mount("tmpfs", place("/dev/shm"), MS_NOSUID | MS_NODEV, "tmpfs", "mode=1777")
    mount("proc", place("/proc"), MS_NOSUID | MS_NODEV | MS_NOEXEC, "proc")
    number = SYS_PIVOT_ROOT[os.uname().machine]
    check(libc().syscall(number, root.encode(), place("/.old").encode()), "pivot_root")
    os.chdir("/")
    check(libc().umount2(b"/.old", MNT_DETACH), "umount /.old")


def make_dev(dev: str) -> None:
    """A /dev with the few devices programs open, the links to the descriptors, and a mount
    point for /dev/shm."""
    os.makedirs(dev)
    mount("tmpfs", dev, MS_NOSUID, "tmpfs", "mode=755")
    for name in DEVICES:
        open(f"{dev}/{name}", "a").close()
        mount(f"/dev/{name}", f"{dev}/{name}", MS_BIND)
    for name, fd in (("fd", ""), ("stdin", "/0"), ("stdout", "/1"), ("stderr", "/2")):
        os.symlink(f"/proc/self/fd{fd}", f"{dev}/{name}")
    os.mkdir(f"{dev}/shm")


def mount(
    source: str | None, target: str, flags: int, kind: str | None = None, data: str | None = None
) -> None:
    src = source.encode() if source else None
    fs = kind.encode() if kind else None
    options = data.encode() if data else None
    done = libc().mount(src, target.encode(), fs, ctypes.c_ulong(flags), options)
    check(done, f"mount {target}")


def read_only(top: str) -> None:
    attr = MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    done = libc().syscall(
        SYS_MOUNT_SETATTR,
        AT_FDCWD,
        top.encode(),
        AT_RECURSIVE,
        ctypes.byref(attr),
        ctypes.sizeof(attr),
    )
    if done == 0:
        return
    # Kernels before 5.12: remount each mount under `top` read-only, keeping its own flags.
    with open("/proc/self/mountinfo") as table:
        for line in table:
            fields = line.split()
            target = fields[4].replace("\\040", " ")
            if target != top and not target.startswith(top + "/"):
                continue
            flags = MS_REMOUNT | MS_BIND | MS_RDONLY
            for option in fields[5].split(","):
                flags |= MOUNT_FLAGS.get(option, 0)
            try:
                mount(None, target, flags)
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.EACCES):
                    raise


def writable(target: str) -> None:
    """That mount alone writable again (not the folders bound under it), its other flags kept:
    a user namespace may not clear the flags (nosuid, noexec...) of a mount it was given."""
    attr = MountAttr(0, MOUNT_ATTR_RDONLY, 0, 0)
    done = libc().syscall(
        SYS_MOUNT_SETATTR, AT_FDCWD, target.encode(), 0, ctypes.byref(attr), ctypes.sizeof(attr)
    )
    if done == 0:
        return
    flags = MS_REMOUNT | MS_BIND
    kept = os.statvfs(target).f_flag  # ST_* flags, numbered as MS_* but for relatime
    for flag in (MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_NOATIME, MS_NODIRATIME):
        flags |= kept & flag
    mount(None, target, flags | (MS_RELATIME if kept & ST_RELATIME else 0))


def supervise(
    config: dict[str, Any], argv: list[str], sinks: tuple[Sink, Sink], status: IO[str], pid1: bool
) -> int:
    """Start the server, copy its output (capped), reap every child; report how it ended."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w, out_r, err_r):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    if pid1:
        # PID 1 gets only the signals it handles: pass SIGTERM on to everyone in the namespace,
        # daemons included.
        signal.signal(signal.SIGTERM, lambda *_: send(-1, signal.SIGTERM))
    server = os.fork()
    if server == 0:
        exec_server(config, argv, out_w, err_w)
    os.close(out_w)
    os.close(err_w)
    open_sinks = dict(zip((out_r, err_r), sinks))
    ended: int | None = None
    while ended is None:
        try:
            ready = readable([*open_sinks, wake_r])
        except InterruptedError:
            continue
        for fd in ready:
            if fd == wake_r:
                drain(wake_r)
            elif not open_sinks[fd].copy(fd):
                del open_sinks[fd]
        ended = reap(server)
    # What the server wrote last (bounded: its children may hold the pipes and go on writing).
    for fd, sink in open_sinks.items():
        sink.copy(fd, reads=16)
    for sink in sinks:
        sink.close()
    if os.WIFSIGNALED(ended):
        status.write(f"signal {os.WTERMSIG(ended)}\n")
    else:
        status.write(f"exit {os.WEXITSTATUS(ended)}\n")
    return 0


def reap(server: int) -> int | None:
    """Reap every child that ended (orphans too, when PID 1); the server's wait status if it did."""
    found = None
    while True:
        try:
            pid, code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return found
        if pid == 0:
            return found
        if pid == server:
            found = code


def drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


class Sink:
    """One output file that stops growing at `cap` bytes and says how much it dropped."""

    def __init__(self, path: str, cap: int) -> None:
        self.file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
        self.room = cap
        self.dropped = 0

    def copy(self, fd: int, reads: int = 1 << 30) -> bool:
        """Copy what is readable from `fd` (at most `reads` reads); False at EOF."""
        for _ in range(reads):
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return True
            if not data:
                return False
            kept = data[: self.room]
            if kept:
                self.file.write(kept)
                self.room -= len(kept)
            self.dropped += len(data) - len(kept)
        return True

    def close(self) -> None:
        if self.dropped:
            self.file.write(TRUNCATED % self.dropped)
        self.file.close()


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


if __name__ == "__main__":
    sys.exit(main())
