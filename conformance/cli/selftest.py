"""echo-conformance selftest: the suite on its own corpus of correct and planted-bug servers."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

from conformance.cli.check import build_reports
from conformance.cli.parser import EXIT_NONCONFORMANT, EXIT_OK
from conformance.cli.run import Collector, run_in_process
from conformance.corpus import Unavailable, implementation, load_catalog
from conformance.outcome import UsageError
from conformance.spec import DEFAULT_SPEC, load_spec


def cmd_selftest(args: argparse.Namespace) -> int:
    # What check's options would be: the runner and the reports read them.
    args = argparse.Namespace(
        **{"only": [], "require": [], "share": [], "timeout": None, **vars(args)}
    )
    spec = load_spec(DEFAULT_SPEC)
    specimens = load_catalog()
    unknown = set(args.server) - {s.name for s in specimens}
    if unknown:
        raise UsageError(f"no server {', '.join(sorted(unknown))} in the corpus")
    specimens = [s for s in specimens if not args.server or s.name in args.server]
    build = Path(tempfile.mkdtemp(prefix="echo-selftest-"))
    impls, unavailable = [], []
    for specimen in specimens:
        try:
            impl = implementation(specimen, build)
            impls.append(dataclasses.replace(impl, only=()) if args.cascade else impl)
        except Unavailable as exc:
            unavailable.append(str(exc))
    collector = Collector()
    started = time.monotonic()
    try:
        run_in_process(args, spec, impls, collector)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    rows, caught, passed, cascade, why = [], 0, 0, [], []
    reports = {r.impl.name: r for r in build_reports(spec, impls, collector, args, 0.0)}
    for specimen in (s for s in specimens if s.name in reports):
        outcomes = {e.id: e.outcome for e in reports[specimen.name].entries if e.outcome != "skip"}
        not_passed = sorted(rid for rid, outcome in outcomes.items() if outcome != "pass")
        unjudged = [rid for rid in not_passed if outcomes[rid] == "not-judged"]
        if args.cascade and not specimen.correct:
            cascade.append((sum(o == "fail" for o in outcomes.values()), specimen.name))
        if specimen.correct:
            ok = len(outcomes) == len(spec.ids) and not not_passed
            passed += ok
            verdict = "passed" if ok else "FALSE FAIL"
            why += [
                f"{specimen.name} {e.id} {e.outcome}: {e.summary}"
                for e in reports[specimen.name].entries
                if e.outcome not in ("pass", "skip")
            ]
        else:
            ok = all(outcomes.get(rid) == "fail" for rid in specimen.trips)
            caught += ok
            verdict = "caught" if ok else "SURVIVED"
        expected = ", ".join(specimen.trips) or "(none: correct)"
        got = ", ".join(rid for rid in not_passed if rid not in unjudged) or "-"
        got += f" (not judged: {', '.join(unjudged)})" if unjudged else ""
        rows.append((specimen.name, expected, got, verdict))
    width = [max(len(r[i]) for r in [("server", "expected", "failed", ""), *rows]) for i in (0, 1)]
    print(f"{'server':<{width[0]}}  {'expected':<{width[1]}}  verdict  failed")
    for name, expected, got, verdict in rows:
        print(f"{name:<{width[0]}}  {expected:<{width[1]}}  {verdict:<8} {got}")
    if why:  # a correct server failed: the suite's bug, or a flaky verdict; say what it saw
        print("\nwhat failed the correct servers:", *why, sep="\n  ")
    bugs = sum(1 for s in specimens if not s.correct and s.name in reports)
    correct = sum(1 for s in specimens if s.correct and s.name in reports)
    print(f"\nplanted bugs caught: {caught}/{bugs}")
    print(f"correct servers passed: {passed}/{correct}")
    if cascade:
        mean = sum(n for n, _ in cascade) / len(cascade)
        most, name = max(cascade)
        print(f"requirements failed per planted bug: mean {mean:.2f} (most: {most}, {name})")
    for reason in unavailable:
        print(f"not run: {reason}")
    print(f"({time.monotonic() - started:.1f} s)")
    return EXIT_OK if caught == bugs and passed == correct else EXIT_NONCONFORMANT
