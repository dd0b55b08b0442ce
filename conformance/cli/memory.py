"""What `check` remembers between runs: which requirements each server failed last time, so
that the next run checks them first (pytest's --ff habit: the answer a student waits for comes
first).  One small JSON file per user; --no-cache neither reads nor writes it."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from conformance.impls import Implementation
from conformance.spec import Spec

CACHE_ENV = "ECHO_CONFORMANCE_CACHE"  # a folder instead of the default
KEEP = 200  # servers remembered, the most recent first: the file stays small


def cache_file() -> Path:
    """$ECHO_CONFORMANCE_CACHE/last-failed.json, else under $XDG_CACHE_HOME or ~/.cache."""
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
        folder = os.path.join(base, "echo-conformance")
    return Path(folder) / "last-failed.json"


def server_key(spec: Spec, impl: Implementation) -> str:
    """A server as the user names it: a registered folder, or a command run in a folder."""
    where = impl.manifest.parent if impl.manifest else (impl.target.cwd or Path.cwd())
    return f"{spec.path.name} {Path(where).resolve()} {impl.target.display()}"


class LastFailed:
    """The requirements each server failed in its last run, by server_key."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: remember nothing
        self.failed: dict[str, list[str]] = {}
        if path is not None:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self.failed = {str(k): list(map(str, v)) for k, v in dict(data).items()}
            except (OSError, ValueError, TypeError, AttributeError):
                pass  # none yet, or unreadable: nothing remembered

    def of(self, key: str) -> set[str]:
        return set(self.failed.get(key, ()))

    def remember(self, runs: Iterable[tuple[str, list[str]]]) -> None:
        """Each server's failed requirements, this run; written at once (or not at all)."""
        if self.path is None:
            return
        for key, failed in runs:
            self.failed.pop(key, None)
            if failed:
                self.failed[key] = failed  # last in: the most recent
        kept = dict(list(self.failed.items())[-KEEP:])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", dir=self.path.parent, delete=False, suffix=".tmp", encoding="utf-8"
            ) as f:
                json.dump(kept, f, indent=1)
            os.replace(f.name, self.path)
        except OSError:
            pass  # a read-only home: the next run just keeps the usual order
