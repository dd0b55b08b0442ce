"""`check --watch`: the checks again each time the server's files change, failures first.

What is watched: a registered implementation's folder, else the files the server command names
(`server.py` in `python3 server.py {port}`), else the folder it runs in.  A change during a run
cuts it short (its servers killed, its results dropped) and starts it again; Ctrl-C ends the
watch, nothing left running."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from conformance.driver import live
from conformance.impls import Implementation

POLL = 0.2  # seconds between looks at the files
MOST_FILES = 5000  # a folder larger than this is watched only in part
CLEAR = "\033[2J\033[H"  # a terminal's screen cleared, the cursor home

Snapshot = dict[str, tuple[int, int]]  # path -> (mtime_ns, size)


def watched_paths(impls: list[Implementation], command: list[str]) -> list[Path]:
    """What a change of means a new server: see the module's docstring."""
    if not command:
        return [i.manifest.parent for i in impls if i.manifest is not None]
    # The program, when a file the command names runs it (`venv/bin/python server.py`), is the
    # interpreter, not the server's file.
    words = command[1:] if any(Path(w).is_file() for w in command[1:]) else command
    named = [Path(word) for word in words if "{" not in word and Path(word).is_file()]
    return named or [Path.cwd()]


def snapshot(paths: Iterable[Path]) -> Snapshot:
    """Every file's modification time and size, folders walked (not their hidden folders nor
    __pycache__)."""
    seen: Snapshot = {}
    for top in paths:
        files = [top] if top.is_file() else _files(top)
        for path in files:
            try:
                st = path.stat()
            except OSError:
                continue  # gone meanwhile: the next look sees it
            seen[str(path)] = (st.st_mtime_ns, st.st_size)
    return seen


def _files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        found += (Path(root) / n for n in names if not n.endswith((".pyc", ".swp", "~")))
        if len(found) >= MOST_FILES:
            break
    return found[:MOST_FILES]


def watch(paths: list[Path], run: Callable[[threading.Event], int | None]) -> int:
    """Run, and again after each change of `paths`, until Ctrl-C.  `run(stop)` is one run:
    it ends early, returning None, once `stop` is set (a change meanwhile)."""
    shown = ", ".join(str(p) for p in paths)
    try:
        while True:
            if sys.stdout.isatty():
                print(CLEAR, end="", flush=True)
            before = snapshot(paths)
            live.resume()  # a change that came as the last run ended stopped nothing of this one
            stop = threading.Event()
            done = threading.Event()
            watcher = threading.Thread(target=_cut_short, args=(paths, before, stop, done))
            watcher.start()
            try:
                status = run(stop)
            finally:
                done.set()
                watcher.join()
            if status is None:
                print("\necho-conformance: changed during the run: checking again", flush=True)
                continue
            print(f"\nwatching {shown} for changes (Ctrl-C ends) ...", flush=True)
            while snapshot(paths) == before:
                time.sleep(POLL)
    except KeyboardInterrupt:
        print("\necho-conformance: watch ended", flush=True)
        return 0


def _cut_short(
    paths: list[Path], before: Snapshot, stop: threading.Event, done: threading.Event
) -> None:
    """During a run: at a change, stop it (its servers killed at once)."""
    while not done.wait(POLL):
        if snapshot(paths) != before:
            stop.set()
            live.stop_all()
            return
