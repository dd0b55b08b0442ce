"""The server's file-system view (conformance/driver/view.py chooses its paths): an empty root
with those paths bound read-only, the scratch folder as a writable /tmp, the server's own folders
idmapped, a few devices and a /proc; made the root by pivot_root."""

from __future__ import annotations

import ctypes
import errno
import os

from conformance.driver.supervisor.syscalls import check, libc

TYPE_CHECKING = False  # typing is not imported at run time: a server start saves 8 ms
if TYPE_CHECKING:
    from typing import Any

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
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}  # by machine: old calls, numbered apart
MNT_DETACH = 2
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = -100, 0x8000, 1
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")


class MountAttr(ctypes.Structure):  # struct mount_attr, for mount_setattr()
    _fields_ = [
        ("set", ctypes.c_uint64),
        ("clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


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
