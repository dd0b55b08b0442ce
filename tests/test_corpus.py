"""The suite against its corpus (tests/servers/catalog.toml): correct servers in many styles
must pass every requirement; each planted bug must be failed on the requirement(s) it trips."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import catalog
from conformance.corpus import Unavailable, implementation, load_catalog
from conformance.impls import Implementation
from conformance.profiles import get_profile
from conformance.reports.report import Entry, Report
from conformance.runner import Options, Result, evaluate
from conformance.spec import DEFAULT_SPEC, load_spec

pytestmark = pytest.mark.corpus

CATALOG = {specimen.name: specimen for specimen in load_catalog()}
SPEC = load_spec(DEFAULT_SPEC)
OPTIONS = Options(profile=get_profile("default"))


def cases() -> list[Any]:
    return [
        pytest.param(name, rid, id=f"{name}-{rid}")
        for name, specimen in CATALOG.items()
        for rid in (SPEC.ids if specimen.alone else specimen.trips or SPEC.ids)
    ]


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus-build")


_checked: dict[tuple[str, str], Result] = {}


def checked(impl: Implementation, rid: str) -> Result:
    """One requirement of one server, checked once in this process."""
    if (impl.name, rid) not in _checked:
        _checked[impl.name, rid] = evaluate(SPEC, SPEC.requirement(rid), impl, OPTIONS)
    return _checked[impl.name, rid]


def settled(result: Result, impl: Implementation) -> Result:
    """What a report says of a not-judged result (Report.settle): not judged while a requirement
    it needs fails; else a fail.  The requirements it needs are checked here for that."""
    if result.outcome != "not-judged":
        return result
    needed = [checked(impl, n) for n in result.details["needs"]]
    entries = [
        Entry(r.requirement, r.level, 0, True, r.outcome, r.summary, details=r.details)
        for r in [result, *needed]
    ]
    Report(SPEC, impl, "", entries).settle()
    return dataclasses.replace(result, outcome=entries[0].outcome, summary=entries[0].summary)


@pytest.mark.parametrize(("name", "rid"), cases())
def test_corpus(name: str, rid: str, build_dir: Path) -> None:
    specimen = CATALOG[name]
    try:
        impl = implementation(specimen, build_dir)
    except Unavailable as exc:
        pytest.skip(str(exc))
    result = settled(checked(impl, rid), impl)
    detail = f"{result.summary}\n{result.evidence}"
    assert result.outcome != "error", detail
    if specimen.correct:
        assert result.outcome == "pass", f"correct server {name} failed {rid}: {detail}"
        # ... having brought about its check's condition (and said how).
        assert result.details["condition"] == catalog.CATALOG[SPEC.requirement(rid).check].condition
        assert result.details["shown"], f"{name} {rid}"
    elif rid not in specimen.trips:  # alone: one defect, one failed requirement
        assert result.outcome in ("pass", "not-judged"), f"{name} failed {rid} too: {detail}"
        needs = result.details.get("needs", specimen.trips)
        assert set(needs) & set(specimen.trips), f"{name}: {rid} {detail}"
    else:
        assert result.outcome == "fail", (
            f"{name} ({specimen.description}) was not failed on {rid}: a surviving "
            "mutant is a bug of the suite"
        )


def test_selftest_reports_the_tally():
    argv = [sys.executable, "-m", "conformance.cli", "selftest", "--profile", "quick"]
    argv += ["--server", "ok-asyncio", "--server", "forgets-z", "--cascade"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "planted bugs caught: 1/1" in done.stdout
    assert "correct servers passed: 1/1" in done.stdout
    # Checked on every requirement, the z-bug server fails upper, and nothing else.
    assert "requirements failed per planted bug: mean 1.00 (most: 1, forgets-z)" in done.stdout
