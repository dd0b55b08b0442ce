"""The reports a command writes besides its own output (--json, --junit, --html, grade's
--out): refused before the first check when they could not be written, written at the end."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from conformance.cli.parser import REPORT_FLAGS
from conformance.outcome import NonConformance, UsageError
from conformance.reports.junit import write_junit
from conformance.reports.pcap import CAPTURED, SYNTHESIZED, captured, synthesized
from conformance.reports.report import Report
from conformance.runner import Result


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before the first check, a report that could not be written: a run is never lost
    at its end to a mistyped path."""
    for flag in REPORT_FLAGS:
        path: Path | None = getattr(args, flag, None)
        if path is not None:
            _writable(f"--{flag} {path}", path, folder=False)
    for flag in ("out", "pcap"):
        folder: Path | None = getattr(args, flag, None)
        if folder is not None:
            _writable(f"--{flag} {folder}", folder, folder=True)


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
        page = render_html(
            reports, title=title, command=args.words, noun=noun, folder=args.html.parent
        )
        args.html.write_text(page, encoding="utf-8")


def write_capture(folder: Path, impl: str, rid: str, result: Result) -> dict[str, str] | None:
    """--pcap: a failed requirement's failing exchange as FOLDER/IMPL-ID.pcap, captured where
    the server had a loopback of its own, else synthesized; what the report says of it
    (details["capture"]), or None where no client's exchange showed the failure."""
    raised = result.raised
    if result.outcome != "fail" or not isinstance(raised, NonConformance):
        return None
    if raised.exchange is None:
        return None
    if raised.captured is not None:
        frames, dropped = raised.captured
        data, how = captured(frames), CAPTURED
        if dropped:
            how += f" ({dropped} frames dropped by the kernel meanwhile: incomplete)"
    else:
        data, how = synthesized(*raised.exchange), SYNTHESIZED
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in impl)
    path = folder / f"{safe}-{rid}.pcap"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"file": str(path), "how": how}
