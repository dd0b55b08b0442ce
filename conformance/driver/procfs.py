"""What /proc says about processes and the machine: read only, Linux only (platforms.py).

Rule: nothing here signals, waits for or starts a process; a process that is gone reads as None
or is left out, never as an error (a server's processes come and go while we look).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path


def pids() -> Iterator[int]:
    """Every process this PID namespace shows."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


def stat(pid: int) -> list[str] | None:
    """/proc/PID/stat from its third field on (man 5 proc): [0] state, [2] process group,
    [11] utime, [12] stime; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def alive(pid: int) -> bool:
    """Running (not ended, not a zombie waiting to be reaped)."""
    fields = stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def in_group(pgid: int) -> list[int]:
    """The processes of a process group."""
    return [pid for pid in pids() if (fields := stat(pid)) and int(fields[2]) == pgid]


def in_pid_namespace_of(pid: int) -> list[int]:
    """The processes in the PID namespace of `pid` (as we see them); none when it is gone."""
    try:
        ns = os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return []
    found = []
    for other in pids():
        try:
            if os.readlink(f"/proc/{other}/ns/pid") == ns:
                found.append(other)
        except OSError:
            continue
    return found


def ignores(pid: int, signal_number: int) -> bool | None:
    """Does the process ignore this signal (SigIgn)?  None when it is gone or a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    if fields.get("State", "").startswith("Z"):
        return None
    return bool(int(fields.get("SigIgn", "0"), 16) & 1 << (signal_number - 1))


def nofile(pid: int) -> int | None:
    """The soft descriptor limit of a process ("Max open files  512  512  files"), or None."""
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                soft = line.removeprefix("Max open files").split()[0]
                return int(soft) if soft.isdigit() else None
    except OSError:
        pass
    return None


def fullest(processes: Iterable[int]) -> tuple[int, int] | None:
    """(held, limit) of the process with the fewest descriptors to spare: how many it has open
    and its soft limit.  None when none can be read."""
    found: tuple[int, int] | None = None
    for pid in processes:
        limit = nofile(pid)
        try:
            held = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
        if limit is not None and (found is None or limit - held < found[1] - found[0]):
            found = (held, limit)
    return found


def socket_inodes(processes: Iterable[int]) -> set[int]:
    """The inodes of the sockets the processes hold."""
    inodes = set()
    for pid in processes:
        try:
            for fd in os.scandir(f"/proc/{pid}/fd"):
                link = os.readlink(fd.path)
                if link.startswith("socket:["):
                    inodes.add(int(link[8:-1]))
        except OSError:
            continue
    return inodes


def cpu_seconds(processes: Iterable[int]) -> float:
    """The CPU time (user + system) of the live processes, in clock ticks (10 ms apiece)."""
    ticks = sum(int(f[11]) + int(f[12]) for pid in processes if (f := stat(pid)))
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_field(path: str, name: str) -> str:
    """A "name : value" line's value in a /proc file of the machine (cpuinfo, meminfo), or ""."""
    try:
        for line in Path(path).read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        pass
    return ""
