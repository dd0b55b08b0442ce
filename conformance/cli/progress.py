"""Live progress while checks run.

Each thing that finishes gets a line at once, flushed: a requirement of `check` (in spec order,
so that the lines are the report's table), an implementation of `check --all`, a submission of
`grade`.  A log file or a CI log shows them as they happen.  On a terminal, a status line under
them, rewritten in place, says what is running meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TextIO

from conformance.reports.report import Report, id_width, render_head, requirement_line

Key = tuple[str, str]  # (implementation or submission, requirement id)

ERASE = "\r\x1b[K"  # to the start of the line, and clear it


class Lines:
    """Lines on `out`, and when `live` (a terminal) one status line under them."""

    def __init__(self, out: TextIO, live: bool) -> None:
        self.out = out
        self.live = live
        self.status_text = ""
        self.shown = False  # whether the status line is on the screen
        self.broken = False  # `out` refused a write: nothing more is tried

    def line(self, text: str, status: str | None = None) -> None:
        """A line above the status line; `status`: the status line's new text."""
        if status is not None:
            self.status_text = status
        self._write(self._erase() + text + "\n" + self._draw())

    def status(self, text: str) -> None:
        if self.live and text != self.status_text:
            self.status_text = text
            self._write(self._erase() + self._draw())

    def close(self) -> None:
        """Erase the status line for good: what is printed next takes its place."""
        self._write(self._erase())
        self.live = False

    def _erase(self) -> str:
        was, self.shown = self.shown, False
        return ERASE if was else ""

    def _draw(self) -> str:
        if not (self.live and self.status_text):
            return ""
        self.shown = True
        # One character short of the width: a line that wraps could not be rewritten.
        return clip(self.status_text, columns(self.out) - 1)

    def _write(self, text: str) -> None:
        # Output piped to a program that stopped reading (head): the checks go on regardless
        # (they run inside pytest, which would call this an internal error), and the final
        # report meets the same error where cli.main handles it.
        if text and not self.broken:
            try:
                self.out.write(text)
                self.out.flush()
            except OSError:
                self.broken = True


def columns(out: TextIO) -> int:
    try:
        return os.get_terminal_size(out.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return 80


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 3, 0)] + "..."


def count(n: int, total: int) -> str:
    """`[ 3/11]`: as wide for every n, so that what follows stays aligned."""
    return f"[{n:>{len(str(total))}}/{total}]"


def running_text(keys: Sequence[Key], names: bool) -> str:
    """What is being checked: requirement ids, or `name/id` when there are many names."""
    return ", ".join(f"{name}/{rid}" if names else rid for name, rid in keys)


class CheckProgress:
    """`check`: one implementation's requirement lines in spec order, each as soon as it and
    every line before it are in; `check --all` (`many`): a line per implementation as its last
    result comes in.  `reports()` gives the reports as they stand (a result not in yet: skip)."""

    def __init__(
        self, reports: Callable[[], list[Report]], many: bool, out: TextIO, live: bool
    ) -> None:
        self.reports = reports
        self.many = many
        self.lines = Lines(out, live)
        first = reports()
        self.keys = [(r.impl.name, e.id) for r in first for e in r.entries]
        self.position = {key: i for i, key in enumerate(self.keys)}
        self.width = id_width([e for r in first for e in r.entries])
        self.names_width = max(len(r.impl.name) for r in first)
        self.finished: set[Key] = set()
        self.busy = ""  # what the status line says is running
        self.printed = 0  # many: implementations; else requirement lines
        self.done_impls: set[str] = set()
        if not many:
            for text in render_head(first[0]):
                self.lines.line(text)

    def result(self, key: Key) -> None:
        if key in self.finished or key not in self.position:
            return  # a result comes with the test's call and again with its teardown
        self.finished.add(key)
        if self.many:
            self._impl_done(key[0])
        else:
            while self.printed < len(self.keys) and self.keys[self.printed] in self.finished:
                self._next_line()

    def running(self, keys: Sequence[Key]) -> None:
        if keys:  # none for a moment only, between a worker's tests: the last ones stay shown
            ours = sorted((k for k in keys if k in self.position), key=self.position.__getitem__)
            self.busy = running_text(ours, self.many)
            self.lines.status(self._status())

    def _status(self) -> str:
        done = f"{len(self.finished)}/{len(self.keys)} done"
        return done + (f"; running: {self.busy}" if self.busy else "")

    def stop(self) -> None:
        """The run is over: the status line erased."""
        self.lines.close()

    def finish(self) -> None:
        """The lines still held back (checks that left no result), now."""
        if not self.many:
            while self.printed < len(self.keys):
                self._next_line()

    def _next_line(self) -> None:
        rid = self.keys[self.printed][1]
        self.printed += 1
        entry = next(e for e in self.reports()[0].entries if e.id == rid)
        text = count(self.printed, len(self.keys)) + requirement_line(entry, self.width)
        self.lines.line(text, self._status())

    def _impl_done(self, name: str) -> None:
        if name in self.done_impls or any(
            k not in self.finished for k in self.keys if k[0] == name
        ):
            return
        self.done_impls.add(name)
        self.printed += 1
        report = next(r for r in self.reports() if r.impl.name == name)
        contrary = [e.id for e in report.unexpected]
        took = sum(e.duration_s for e in report.entries)  # its checks' time (run among others)
        total = len({k[0] for k in self.keys})
        self.lines.line(
            f"{count(self.printed, total)} {name:<{self.names_width}}  "
            f"{len(report.entries) - len(contrary)}/{len(report.entries)} as declared  "
            f"({took:.1f} s)" + (f"  contrary: {', '.join(contrary)}" if contrary else ""),
            self._status(),
        )


class GradeProgress:
    """`grade`: a line per graded submission, counted; on a terminal, the status line says how
    many are done and which are being checked."""

    def __init__(self, total: int, out: TextIO, live: bool) -> None:
        self.total = total
        self.done = 0
        self.lines = Lines(out, live)
        self.doing = "starting the servers"
        self.lines.status(self._status())

    def graded(self, line: str) -> None:
        self.done += 1
        self.lines.line(f"{count(self.done, self.total)} {line}", self._status())

    def phase(self, doing: str) -> None:
        """What grading does when no check is running: starting servers, starting checks."""
        self.doing = doing
        self.lines.status(self._status())

    def running(self, keys: Sequence[Key]) -> None:
        if keys:  # none for a moment only, between a worker's tests: the last ones stay shown
            self.doing = f"checking {', '.join(sorted({name for name, _ in keys}))}"
            self.lines.status(self._status())

    def finish(self) -> None:
        self.lines.close()

    def _status(self) -> str:
        return f"grading: {self.done}/{self.total} done; {self.doing}"
