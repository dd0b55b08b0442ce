"""Where servers can be checked: Linux only, decided here and nowhere else.

Starting, watching and ending a server reads /proc, asks the kernel over netlink sock_diag, and
(as root) builds namespaces and cgroups: all of it Linux.  Everything else (the command line's
help, `list`, `merge`, reading reports) works anywhere Python does; the modules that hold the
Linux-only pieces import anywhere too, and use those pieces only after `require_linux()` passed.
"""

from __future__ import annotations

import sys

from conformance.outcome import UsageError

CONTAINER = 'the container built from the project\'s Dockerfile (README, "Platforms")'
ADVICE = {
    "win32": f"run it under WSL2, or in {CONTAINER}",
    "cygwin": f"run it under WSL2, or in {CONTAINER}",
    "darwin": f"run it in {CONTAINER}",
}
NAMES = {"win32": "Windows", "cygwin": "Cygwin", "darwin": "macOS"}


def is_linux() -> bool:
    # Read at each call, not at import: what the interpreter says now is what counts.
    return sys.platform.startswith("linux")


def require_linux() -> None:
    """Stop before anything starts where servers cannot be checked: a UsageError (the CLI's
    one line and exit status 2; the pytest plugin's usage error) that says what to do instead."""
    if is_linux():
        return
    system = NAMES.get(sys.platform, sys.platform)
    advice = ADVICE.get(sys.platform, f"run it on Linux, or in {CONTAINER}")
    raise UsageError(f"checking servers needs Linux, and this is {system}: {advice}")
