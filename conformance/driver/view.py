"""What an isolated server sees of the file system: the paths its view is made of.

The supervisor builds the view (supervisor/mounts.py: enter_view): an empty root of its own, these
paths bound read-only at their own places, a private writable /tmp (also its HOME and TMPDIR), a
fresh /proc of its PID namespace, and a few devices.  Here the launcher decides which paths: the
system's programs and libraries, the interpreter or program the command starts (its prefix, also
where that lies under a folder the server could not otherwise reach, as a pyenv under /root), the
server's own folder, and the files its command names.  Nothing else: no home folder, no other
submission, no grades or reports.  As root, the server runs as a uid that owns nothing on the host
(locks.claim_uid): of what it sees, it reads what every user may, and its own folders.  In user
namespaces it keeps the runner's uid, and the view alone keeps the runner's files from it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from conformance.outcome import UsageError

SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
PREFIX_DIRS = ("bin", "sbin", "shims")  # a program in PREFIX/bin needs PREFIX (its lib, its stdlib)


def system_links() -> dict[str, str]:
    """The system folders that are links (/bin -> usr/bin, /lib64 -> usr/lib64 where /usr is
    merged): made again as links in the view, for programs name them (the ELF loader's
    /lib64/ld-linux-x86-64.so.2)."""
    return {p: os.readlink(p) for p in SYSTEM if os.path.islink(p)}


def own_paths(argv: list[str], cwd: Path) -> list[str]:
    """The server's own folders: where it runs, and where the files its command names lie.  They
    are seen as its own (an idmapped mount: their owner's files as the sandbox uid's), read-only;
    so a server reads its own files whatever their mode, and nobody else's."""
    wanted = [str(cwd)]
    for arg in argv:
        if os.sep in arg and os.path.exists(path := os.path.join(cwd, arg)):
            folder = path if os.path.isdir(path) else os.path.dirname(path)
            if arg is argv[0] and os.path.basename(folder) in PREFIX_DIRS:
                continue  # an installed program (a venv's python): not the server's own
            wanted.append(folder)
    return _outermost(wanted)


def view_paths(
    argv: list[str], cwd: Path, search_path: str, shared: tuple[str, ...] = ()
) -> list[str]:
    """The rest of the view, read-only: the system's folders, the prefixes of the program and of
    the interpreter of `{python}`, and what the user shares (--share); each once, parents before
    what they hold."""
    wanted = [p for p in SYSTEM if os.path.exists(p)] + list(shared)
    program = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=search_path)
    if program is not None:
        program = os.path.join(cwd, program)
        wanted += [_prefix(program), _prefix(os.path.realpath(program))]
    # The interpreter of `{python}`: this one, its venv and its base installation.
    wanted += [sys.prefix, sys.base_prefix, _prefix(os.path.realpath(sys.executable))]
    return _outermost(wanted)


def shared_folders(given: list[str]) -> tuple[str, ...]:
    """--share: folders that exist, by their real names (the view holds them so)."""
    for path in given:
        if not os.path.isdir(path):
            raise UsageError(f"--share {path}: no such folder")
    return tuple(os.path.realpath(p) for p in given)


def _outermost(wanted: list[str]) -> list[str]:
    """Each path once, by its real name, and none that another of them holds already."""
    chosen: list[str] = []
    for path in sorted({os.path.realpath(p) for p in wanted}, key=lambda p: (p.count("/"), p)):
        if not any(path == c or path.startswith(c.rstrip("/") + "/") for c in chosen):
            chosen.append(path)
    return chosen


def _prefix(program: str) -> str:
    """PREFIX of PREFIX/bin/program, by the folder's real name: /bin/sh, where /bin is a link
    to usr/bin, is /usr's, never the whole root's."""
    folder = os.path.realpath(os.path.dirname(program))
    prefix = os.path.dirname(folder) if os.path.basename(folder) in PREFIX_DIRS else folder
    return folder if prefix == "/" else prefix
