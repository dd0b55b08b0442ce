"""What an isolated server sees of the file system: the paths its view is made of.

The supervisor builds the view (supervisor.enter_view): an empty root of its own, these paths
bound read-only at their own places, a private writable /tmp (also its HOME and TMPDIR), a fresh
/proc of its PID namespace, and a few devices.  Here the launcher decides which paths: the
system's programs and libraries, the interpreter or program the command starts (its prefix, also
where that lies under a folder the server could not otherwise reach, as a pyenv under /root),
the server's own folder, and the files its command names.  Nothing else: no home folder, no other
submission, no grades or reports, and nothing of /etc that other users may not read.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from functools import cache
from pathlib import Path

SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
PREFIX_DIRS = ("bin", "sbin", "shims")  # a program in PREFIX/bin needs PREFIX (its lib, its stdlib)


def system_links() -> dict[str, str]:
    """The system folders that are links (/bin -> usr/bin, /lib64 -> usr/lib64 where /usr is
    merged): made again as links in the view, for programs name them (the ELF loader's
    /lib64/ld-linux-x86-64.so.2)."""
    return {p: os.readlink(p) for p in SYSTEM if os.path.islink(p)}


def view_paths(argv: list[str], cwd: Path, search_path: str) -> list[str]:
    """The folders and files to bind read-only: each once, parents before what they hold."""
    wanted = [p for p in SYSTEM if os.path.exists(p)]
    wanted.append(str(cwd))
    program = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=search_path)
    if program is not None:
        program = os.path.join(cwd, program)
        wanted += [_prefix(program), _prefix(os.path.realpath(program))]
    # The interpreter of `{python}`: this one, its venv and its base installation.
    wanted += [sys.prefix, sys.base_prefix, _prefix(os.path.realpath(sys.executable))]
    for arg in argv[1:]:
        if os.sep in arg and os.path.exists(path := os.path.join(cwd, arg)):
            wanted.append(path if os.path.isdir(path) else os.path.dirname(path))
    chosen: list[str] = []
    for path in sorted({os.path.realpath(p) for p in wanted}, key=lambda p: (p.count("/"), p)):
        if not any(path == c or path.startswith(c.rstrip("/") + "/") for c in chosen):
            chosen.append(path)
    return chosen


def _prefix(program: str) -> str:
    folder = os.path.dirname(program)
    return os.path.dirname(folder) if os.path.basename(folder) in PREFIX_DIRS else folder


@cache
def etc_secrets() -> tuple[str, ...]:
    """What of /etc other users may not read (shadow, private keys): hidden in the view, for
    the server's uid 0 could read it (dropping capabilities is not dropping identity)."""
    hidden = []
    for folder, dirs, files in os.walk("/etc"):
        for name in [*dirs, *files]:
            path = os.path.join(folder, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISLNK(mode):
                continue
            if not mode & stat.S_IROTH or (stat.S_ISDIR(mode) and not mode & stat.S_IXOTH):
                hidden.append(path)
                if name in dirs:
                    dirs.remove(name)  # hidden whole
    return tuple(hidden)
