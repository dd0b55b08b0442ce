"""echo-conformance grade: a class of submissions (grade.py does the grading)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from conformance.cli.parser import EXIT_OK
from conformance.cli.progress import GradeProgress
from conformance.cli.reports import write_reports
from conformance.cli.run import Collector, run_in_process, say_isolation
from conformance.grade import (
    OnResult,
    find_submissions,
    grade,
    gradescope_results,
    shard,
    summary_table,
    write_grades,
)
from conformance.impls import Implementation
from conformance.outcome import UsageError
from conformance.profiles import get_profile
from conformance.reports.report import render_report
from conformance.runner import Options
from conformance.spec import Spec, load_spec


def cmd_grade(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    if args.workers is not None and args.workers < 1:
        raise UsageError("-n must be >= 1")
    one = args.format == "gradescope"
    found = find_submissions(args.submissions, args.template, args.fixed_port, one)
    subs = shard(found, args.shard)
    if not subs:
        raise UsageError(f"{args.submissions}: no submission folders in it")
    say_isolation()
    workers = args.workers or os.cpu_count() or 1
    options = Options(profile=get_profile(args.profile), seed=args.seed, shared=tuple(args.share))
    # A line per graded submission on stderr (stdout has the summary table), a terminal or not:
    # a class graded into a CI log shows it as it goes.  On a terminal, a status line too.
    progress = None if args.quiet else GradeProgress(len(subs), sys.stderr, sys.stderr.isatty())

    def run_rest(
        spec: Spec, impls: list[Implementation], ids: list[str], on_result: OnResult
    ) -> None:
        collector = Collector()
        collector.on_result = lambda key: on_result(key, collector.result(key))
        if progress:
            collector.on_running = progress.running
            progress.phase("starting the checks")
        rest = argparse.Namespace(
            only=ids,
            profile=args.profile,
            seed=args.seed,
            timeout=None,
            workers=args.workers,  # None: as many threads as the checks' costs call for
            share=args.share,
        )
        try:
            run_in_process(rest, spec, impls, collector)
        finally:
            if progress:
                progress.phase("starting the servers")  # grade() waits for the others' listen

    try:
        reports = grade(
            spec,
            subs,
            options,
            workers,
            args.detect_port,
            run_rest,
            progress.graded if progress else lambda line: None,
        )
    finally:
        if progress:
            progress.finish()  # the terminal's status line erased, also when grading failed
    write_reports(args, reports, f"grades for {args.submissions.resolve().name}", "submission")
    if one:
        args.out.mkdir(parents=True, exist_ok=True)
        results = gradescope_results(reports[0])
        (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        print(render_report(reports[0]))
        return EXIT_OK
    write_grades(args.out, spec, reports, subs)
    print(summary_table(reports))
    print(f"\n{len(reports)} submissions graded; grades in {args.out / 'grades.csv'}")
    return EXIT_OK
