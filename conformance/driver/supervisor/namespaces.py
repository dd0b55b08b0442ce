"""The namespaces: new network, PID, mount, IPC and UTS namespaces (owned by a user namespace
in "user" mode) with loopback up; and, as root, the user namespaces whose id maps show each of
the server's own folders as the sandbox uid's (mounts.bind_own)."""

from __future__ import annotations

import errno
import os
import socket
import struct

from conformance.driver.supervisor.mounts import MS_PRIVATE, MS_REC, mount
from conformance.driver.supervisor.syscalls import check, libc

try:  # Linux's, as is all of this program; importable anywhere all the same (platforms.py)
    import fcntl
except ImportError:  # Windows: the runner never starts a supervisor there
    fcntl = None  # type: ignore[assignment]

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 1


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
