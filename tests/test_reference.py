"""The reference models' matrix (`check --all`, the default profile): every check that passes on
one of them showed the condition it must bring about, and every check passed somewhere, so each
condition occurred on the models.  `tox -e conformance` runs the matrix and then this, on its
report ($ECHO_REFERENCE_REPORT); run alone, it runs the matrix itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from conformance.catalog import CATALOG
from conformance.spec import DEFAULT_SPEC, load_spec

pytestmark = pytest.mark.reference

SPEC = load_spec(DEFAULT_SPEC)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    given = os.environ.get("ECHO_REFERENCE_REPORT")
    if given:
        path = Path(given)
    else:
        path = tmp_path_factory.mktemp("reference") / "report.json"
        argv = [sys.executable, "-m", "conformance.cli", "check", "--all", "-q"]
        done = subprocess.run([*argv, "--json", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    reports: list[dict[str, Any]] = json.loads(path.read_text())
    return reports


def test_every_pass_shows_the_condition_of_its_check(matrix):
    shown: dict[str, list[str]] = defaultdict(list)
    for report in matrix:
        for entry in report["requirements"]:
            if entry["outcome"] != "pass":
                continue
            check = CATALOG[SPEC.requirement(entry["id"]).check]
            details = entry.get("details", {})
            where = f"{report['implementation']['name']} {entry['id']}"
            assert details.get("condition") == check.condition, where
            assert details.get("shown"), where
            shown[entry["id"]].append(details["shown"])
    # Every check passed on some model, so every condition was brought about and shown.
    assert set(shown) == set(SPEC.ids)
