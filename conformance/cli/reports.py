"""The reports a command writes besides its own output (--json, --junit, --html, grade's
--out): refused before the first check when they could not be written, written at the end."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from conformance.cli.parser import REPORT_FLAGS
from conformance.outcome import UsageError
from conformance.reports.junit import write_junit
from conformance.reports.report import Report


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before the first check, a report that could not be written: a run is never lost
    at its end to a mistyped path."""
    for flag in REPORT_FLAGS:
        path: Path | None = getattr(args, flag, None)
        if path is not None:
            _writable(f"--{flag} {path}", path, folder=False)
    out: Path | None = getattr(args, "out", None)
    if out is not None:
        _writable(f"--out {out}", out, folder=True)


def _writable(what: str, path: Path, folder: bool) -> None:
    if path.exists() and path.is_dir() != folder:
        raise UsageError(f"{what}: is {'not ' if folder else ''}a folder")
    parent = path if folder else path.parent
    while not parent.exists():  # a folder is made with its missing parents; a file is not
        if not folder:
            raise UsageError(f"{what}: no folder {parent} to write it in")
        parent = parent.parent
    target = path if path.exists() else parent
    if not parent.is_dir() or not os.access(target, os.W_OK):
        raise UsageError(f"{what}: cannot write there ({target} is not writable)")


def write_reports(
    args: argparse.Namespace, reports: list[Report], title: str, noun: str = "implementation"
) -> None:
    """--junit and --html, where asked for."""
    if args.junit:
        write_junit(args.junit, reports)
    if args.html:
        from conformance.reports.html_report import render_html  # only when asked for

        title = f"echo-conformance: {title}"
        page = render_html(reports, title=title, command=args.words, noun=noun)
        args.html.write_text(page, encoding="utf-8")
