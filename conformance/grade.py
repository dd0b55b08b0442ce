"""Grading a class: a folder of submissions in, grades and per-student feedback out.

Each direct subfolder of the submissions folder is one submission, named by its folder.  Grading
runs `listen` for every submission first (in threads: it is one server start each); a server that
never accepts a connection is not judged on the others, for want of listen, instead of waiting
out the startup timeout eleven times.  The rest runs over every listening submission at once, in
threads of this process, longest checks first, like `check --all`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import shlex
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ALL_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.driver.target import Target
from conformance.impls import MANIFEST, Implementation, load_impl
from conformance.outcome import UsageError, not_judged
from conformance.reports.about import graded_by, suite_info
from conformance.reports.replay import replay_template
from conformance.reports.report import Entry, Report, hint, render_report
from conformance.runner import Options, Result, evaluate
from conformance.spec import Requirement, Spec

DEFAULT_COMMAND = "python3 server.py"
ELSEWHERE = re.compile(r"it listens on port (\d+) instead")
CSV_HEAD = ["submission", "score", "max_score", "verdict"]
HEAD_START = 3.0  # seconds for every server to start before the other checks begin


@dataclass
class Submission:
    name: str
    folder: Path
    impl: Implementation | None  # None: nothing to run
    problem: str = ""  # why there is nothing to run
    note: str = ""  # what grading adjusted (a detected port)


def find_submissions(
    root: Path, template: str, fixed_port: int | None, one: bool = False
) -> list[Submission]:
    """Every direct subfolder of `root` (or `root` itself, when `one`), as a Submission."""
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder of submissions")
    folders = [root] if one else sorted(p for p in root.iterdir() if _is_submission(p))
    return [submission(folder, template, fixed_port) for folder in folders]


def _is_submission(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith((".", "_"))


def submission(folder: Path, template: str, fixed_port: int | None) -> Submission:
    name = folder.name
    try:
        if (folder / MANIFEST).exists():
            # The submission's own manifest says how to start it; its declarations do not
            # change its grade.
            impl = dataclasses.replace(load_impl(folder), name=name, expected_failures={})
        else:
            impl = _from_template(folder, template, fixed_port)
        impl.target.resolve()
    except UsageError as exc:
        return Submission(name, folder, None, f"nothing to run: {_strip_name(str(exc), name)}")
    return Submission(name, folder, impl)


def _from_template(folder: Path, template: str, fixed_port: int | None) -> Implementation:
    argv = [w.replace("{dir}", str(folder)) for w in shlex.split(template)]
    if not argv:
        raise UsageError(f"{folder.name}: empty --command")
    for word in argv[1:]:
        if "{" not in word and not word.startswith("-") and "." in word:
            path = Path(word) if Path(word).is_absolute() else folder / word
            if not path.exists():
                raise UsageError(f"{folder.name}: {word} is missing")
    target = Target(folder.name, tuple(argv), cwd=folder, fixed_port=fixed_port)
    return Implementation(folder.name, f"submission {folder.name}", target)


def _strip_name(message: str, name: str) -> str:
    return message.removeprefix(f"{name}: ")


def shard(subs: list[Submission], which: str | None) -> list[Submission]:
    """The K-th of N deterministic slices ("K/N"): by name, every N-th from the K-th."""
    if not which:
        return subs
    try:
        k, n = (int(x) for x in which.split("/"))
    except ValueError:
        raise UsageError(f"--shard wants K/N (like 2/4), got {which!r}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard {which}: K must be in 1..N")
    return [s for i, s in enumerate(sorted(subs, key=lambda s: s.name)) if i % n == k - 1]


OnResult = Callable[[tuple[str, str], Result], None]  # (submission, requirement id), result
RunRest = Callable[[Spec, list[Implementation], list[str], OnResult], None]


def first_requirement(spec: Spec) -> Requirement:
    """The requirement every submission is checked on first, alone: that it listens (checked
    by `listen`), else the spec's first."""
    return spec.requirement(spec.checked_by("listen") or spec.requirements[0].id)


def grade(
    spec: Spec,
    subs: list[Submission],
    options: Options,
    workers: int,
    detect_port: bool,
    run_rest: RunRest,
    progress: Callable[[str], None] = lambda line: None,
) -> list[Report]:
    """Grade every submission; `run_rest` runs the requirements after `listen` (threads) and
    hands over each result as it comes; `progress` hears of each submission as it is done."""
    started = time.monotonic()
    listen = first_requirement(spec)
    runnable = [s for s in subs if s.impl is not None]

    def first(sub: Submission) -> Result:
        assert sub.impl is not None
        result = evaluate(spec, listen, sub.impl, options)
        found = ELSEWHERE.search(result.summary)
        if result.outcome == "fail" and detect_port and found:
            port = int(found.group(1))
            moved = dataclasses.replace(sub.impl.target, fixed_port=port)
            retry = evaluate(spec, listen, dataclasses.replace(sub.impl, target=moved), options)
            if retry.outcome == "pass":
                sub.impl = dataclasses.replace(sub.impl, target=moved)
                sub.note = f"graded on port {port}, where it listens (--detect-port)"
                return retry
        return result

    rest_ids = [r.id for r in spec.requirements if r.id != listen.id]
    firsts: dict[str, Result] = {}
    results: dict[tuple[str, str], Result] = {}
    started_rest: set[str] = set()
    reported: set[str] = set()
    by_name = {s.name: s for s in subs}

    def finish(name: str) -> None:
        """Every result of a submission is in: tell."""
        if name not in reported:
            reported.add(name)
            report = _report(spec, by_name[name], firsts.get(name), results, options.shared)
            progress(_progress_line(report))

    def on_result(key: tuple[str, str], result: Result) -> None:
        results[key] = result
        if all((key[0], rid) in results for rid in rest_ids):
            finish(key[0])

    for sub in subs:
        if sub.impl is None:
            finish(sub.name)
    # Mostly waiting for servers to start: more threads than workers.  The rest of the checks
    # starts with the servers that listen once the others have had a head start; those still
    # starting (or never listening: the startup timeout) are waited for meanwhile.
    with ThreadPoolExecutor(max(1, min(len(runnable), 4 * workers))) as pool:
        pending = {pool.submit(first, sub): sub for sub in runnable}
        head_start: float | None = HEAD_START
        while pending:
            finished, _ = wait(pending, timeout=head_start, return_when=ALL_COMPLETED)
            head_start = None  # after the head start: whatever is left
            for future in finished:
                name = pending.pop(future).name
                firsts[name] = future.result()
                if firsts[name].outcome != "pass" or not rest_ids:
                    finish(name)
            ready = [s for s in runnable if s.name in firsts and s.name not in started_rest]
            listening = [s.impl for s in ready if s.impl and firsts[s.name].outcome == "pass"]
            started_rest.update(s.name for s in ready)
            if listening and rest_ids:
                run_rest(spec, listening, rest_ids, on_result)
    reports = []
    for sub in subs:
        report = _report(spec, sub, firsts.get(sub.name), results, options.shared)
        report.duration_s = time.monotonic() - started
        reports.append(report)
        finish(sub.name)  # one whose checks could not run
    return reports


def _report(
    spec: Spec,
    sub: Submission,
    first: Result | None,
    results: dict[tuple[str, str], Result],
    shared: tuple[str, ...] = (),
) -> Report:
    target = sub.impl.target if sub.impl else Target(sub.name, ("(nothing to run)",))
    command = target.display(target.fixed_port) if sub.impl else "(nothing to run)"
    impl = sub.impl or Implementation(sub.name, f"submission {sub.name}", target)
    replay = ""
    if sub.impl is not None:  # one command a student runs in their own folder
        replay = replay_template(spec, sub.impl.target, shared=shared, within=sub.folder)
    report = Report(spec, impl, command, replay=replay, shared=shared)
    listen = first_requirement(spec).id
    for req in spec.requirements:
        result = first if req.id == listen else results.get((sub.name, req.id))
        outcome, summary, evidence, took = "fail", "", "", 0.0
        details: dict[str, Any] = {}
        if sub.impl is None:
            summary = sub.problem
        elif result is None and first is not None and first.outcome != "pass":
            outcome = "not-judged"
            why = "the server does not accept connections"
            summary = not_judged([listen], why)
            details = {"needs": [listen], "why": why, "failure": summary}
        elif result is None:
            outcome, summary = "error", "the check did not run"
        else:
            outcome, summary, evidence = result.outcome, result.summary, result.evidence
            took, details = result.duration_s, result.details
        report.entries.append(Entry.of(req, outcome, summary, evidence, details, took))
    return report.settle()


def _progress_line(report: Report) -> str:
    """`alice: 78/100 nonconformant (12.3 s)  (upper, stream)`: the time is its checks' (they
    run among other submissions' checks, so not the wall time)."""
    max_score = report.max_score
    failed = [e.id for e in report.entries if e.outcome != "pass"]
    took = sum(e.duration_s for e in report.entries)
    tail = f"  ({', '.join(failed)})" if failed else ""
    return f"{report.impl.name}: {report.score}/{max_score} {report.verdict} ({took:.1f} s){tail}"


# -- outputs --------------------------------------------------------------------------------


def write_grades(out: Path, spec: Spec, reports: list[Report], subs: list[Submission]) -> None:
    """grades.csv, and per submission report.json and report.txt."""
    out.mkdir(parents=True, exist_ok=True)
    notes = {s.name: s.note for s in subs}
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        # Last, so that a spreadsheet shows the grades first: what graded each row.
        writer.writerow([*CSV_HEAD, *spec.ids, "graded_by"])
        for r in reports:
            row = [r.impl.name, r.score, r.max_score, r.verdict]
            writer.writerow([*row, *(e.outcome for e in r.entries), graded_by(r.spec)])
    for r in reports:
        folder = out / r.impl.name
        folder.mkdir(exist_ok=True)
        data = r.to_json()
        if notes.get(r.impl.name):
            data["note"] = notes[r.impl.name]
        (folder / "report.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        text = render_report(r)
        if notes.get(r.impl.name):
            text = f"note: {notes[r.impl.name]}\n{text}"
        (folder / "report.txt").write_text(text + "\n", encoding="utf-8")


def summary_table(reports: list[Report]) -> str:
    width = max([len(r.impl.name) for r in reports] + [len("submission")])
    lines = [f"{'submission':<{width}}  score  verdict        not passed"]
    for r in reports:
        max_score = r.max_score
        failed = ", ".join(e.id for e in r.entries if e.outcome != "pass")
        score = f"{r.score:>3}/{max_score:<3}"
        lines.append(f"{r.impl.name:<{width}}  {score} {r.verdict:<14} {failed}")
    return "\n".join(lines)


def gradescope_results(report: Report) -> dict[str, Any]:
    """Gradescope's results.json for one submission (its documented autograder format)."""
    tests = []
    for e in report.entries:
        req = report.spec.requirement(e.id)
        passed = e.outcome == "pass"
        output = [f"{req.title} ({e.level}): {req.text}"]
        if not passed:
            ending = e.summary if e.needs else f"{e.outcome.upper()}: {e.summary}"
            output += ["", ending]
            if advice := hint(report, e):
                output.append(f"hint: {advice}")
            if e.evidence:
                output.append(e.evidence)
            if report.replay:
                output += ["", f"to see it again: {report.replay_command(e.id)}"]
        tests.append(
            {
                "name": f"{e.id}: {req.title}",
                "score": e.points if passed else 0,
                "max_score": e.points,
                "status": "passed" if passed else "failed",
                "output": "\n".join(output),
                "visibility": "visible",
            }
        )
    return {
        "score": report.score,
        "execution_time": round(report.duration_s, 3),
        "output": f"verdict: {report.verdict}\ngraded by {graded_by(report.spec)}",
        "extra_data": {"echo_conformance": suite_info(report.spec)},
        "tests": tests,
    }


def merge(folders: list[Path], out: Path) -> int:
    """Combine the grades.csv (and report folders) of shards into `out`; the rows, sorted."""
    header: list[str] | None = None
    rows: dict[str, list[str]] = {}
    for folder in folders:
        path = folder / "grades.csv"
        if not path.exists():
            raise UsageError(f"{folder}: no grades.csv (not a grade --out folder)")
        with open(path, newline="", encoding="utf-8") as f:
            table = list(csv.reader(f))
        if not table or table[0][: len(CSV_HEAD)] != CSV_HEAD:
            raise UsageError(f"{path}: not a grades.csv")
        if header is not None and table[0] != header:
            raise UsageError(f"{path}: its columns differ from the other shards' (another spec?)")
        header = table[0]
        for row in table[1:]:
            if row[0] in rows:
                raise UsageError(f"{path}: submission {row[0]!r} is in two shards")
            rows[row[0]] = row
        if folder.resolve() != out.resolve():
            for sub in folder.iterdir():
                if sub.is_dir():
                    shutil.copytree(sub, out / sub.name, dirs_exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    assert header is not None
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows[name] for name in sorted(rows))
    return len(rows)
