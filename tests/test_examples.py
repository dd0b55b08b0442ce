"""examples/: the workflows parse, the scripts are bash, the Gradescope results schema says what
Gradescope's docs say, and (corpus) the Gradescope autograder grades a good and a buggy server."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.helpers import ROOT, SERVERS

EXAMPLES = ROOT / "examples"
GRADESCOPE = EXAMPLES / "gradescope"
RESULTS_SCHEMA = GRADESCOPE / "results.schema.json"
WORKFLOWS = sorted([*EXAMPLES.rglob("*.yml"), *EXAMPLES.rglob("*.yaml")])
SCRIPTS = [GRADESCOPE / "setup.sh", GRADESCOPE / "run_autograder"]
PLACEHOLDER = "git+https://github.com/OWNER/echo-conformance"


def rel(path: Path) -> str:
    return str(path.relative_to(EXAMPLES))


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(RESULTS_SCHEMA.read_text()))


def errors(results: Any) -> list[str]:
    return [error.message for error in validator().iter_errors(results)]


# --- (a) workflows -------------------------------------------------------------------------


def test_the_examples_are_there():
    assert [rel(p) for p in WORKFLOWS] == [
        "ci-matrix/grade-class.yml",
        "github-classroom/echo-conformance.yml",
    ]
    assert (EXAMPLES / "README.md").is_file()
    assert (GRADESCOPE / "README.md").is_file()


@pytest.mark.parametrize("path", WORKFLOWS, ids=rel)
def test_workflow_parses(path):
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (not a dependency)")
    workflow = yaml.safe_load(path.read_text())
    assert isinstance(workflow, dict), path
    assert workflow["jobs"], path
    for name, job in workflow["jobs"].items():
        assert job["runs-on"] and job["steps"], name


def test_matrix_workflow_shards_and_merges():
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (not a dependency)")
    jobs = yaml.safe_load((EXAMPLES / "ci-matrix/grade-class.yml").read_text())["jobs"]
    assert jobs["grade"]["strategy"]["matrix"]["shard"] == [1, 2, 3, 4]
    assert jobs["merge"]["needs"] == "grade"
    merge = " ".join(step.get("run", "") for step in jobs["merge"]["steps"])
    assert "echo-conformance merge grades-1 grades-2 grades-3 grades-4 --out grades" in merge


@pytest.mark.parametrize("path", WORKFLOWS, ids=rel)
def test_workflow_installs_from_the_placeholder(path):
    text = path.read_text()
    assert PLACEHOLDER in text
    assert "Replace OWNER" in text


def test_classroom_workflow_runs_the_check():
    text = (EXAMPLES / "github-classroom/echo-conformance.yml").read_text()
    assert (
        "echo-conformance check --fixed-port 8080 --junit report.xml -- python3 server.py" in text
    )
    assert "actions/upload-artifact@v4" in text
    assert "mikepenz/action-junit-report@v4" in text


# --- (b) shell scripts ---------------------------------------------------------------------


@pytest.mark.parametrize("path", SCRIPTS, ids=rel)
def test_script_is_valid_bash(path):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash here")
    proc = subprocess.run([bash, "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("path", SCRIPTS, ids=rel)
def test_script_is_executable_strict_bash(path):
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert os.access(path, os.X_OK), f"{path} is not executable"


# --- (c) the Gradescope results schema -----------------------------------------------------

GOOD = {
    "score": 1.0,
    "execution_time": 12.5,
    "output": "1 of 2 requirements met",
    "visibility": "visible",
    "stdout_visibility": "hidden",
    "extra_data": {"seed": 0},
    "tests": [
        {
            "name": "listen: accepts TCP connections",
            "name_format": "text",
            "number": "1",
            "score": 1.0,
            "max_score": 1.0,
            "status": "passed",
            "output": "",
            "output_format": "text",
            "tags": ["MUST"],
            "visibility": "visible",
            "extra_data": {},
        },
        {
            "name": "upper: replies with the bytes uppercased",
            "score": 0,
            "max_score": 1,
            "status": "failed",
            "output": "sent b'z', got b'z'",
            "visibility": "after_due_date",
        },
    ],
    "leaderboard": [
        {"name": "Accuracy", "value": 0.926},
        {"name": "Time", "value": 15.1, "order": "asc"},
        {"name": "Stars", "value": "*****"},
    ],
}


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = json.loads(RESULTS_SCHEMA.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    "results",
    [
        pytest.param(GOOD, id="everything"),
        pytest.param({"score": 44.0}, id="score-only"),
        pytest.param({"tests": [{"score": 2.0, "max_score": 2.0}]}, id="scores-on-every-test"),
        pytest.param(
            # the docs' "Test case status" example: informational tests with a status, no score
            {
                "tests": [
                    {"name": "Compilation check", "status": "passed"},
                    {"name": "Style check", "status": "failed"},
                    {"name": "Test 3", "score": 5, "max_score": 10, "status": "passed"},
                ]
            },
            id="status-without-score",
        ),
        pytest.param({"score": 3, "tests": [{"name": "no score here"}]}, id="top-level-score"),
    ],
)
def test_schema_accepts(results):
    assert errors(results) == []


@pytest.mark.parametrize(
    ("results", "why"),
    [
        pytest.param({}, "neither score nor tests", id="empty"),
        pytest.param({"output": "hi"}, "neither score nor tests", id="no-score-no-tests"),
        pytest.param(
            {**GOOD, "tests": [{**GOOD["tests"][0], "status": "ok"}]}, "bad status", id="status-ok"
        ),
        pytest.param(
            {"tests": [{"name": "x", "score": 1, "max_score": 1, "status": "PASSED"}]},
            "bad status",
            id="status-case",
        ),
        pytest.param(
            {"tests": [{"name": "upper", "max_score": 1}, {"name": "listen", "score": 1}]},
            "a test without score (or status) and no top-level score",
            id="test-missing-score",
        ),
        pytest.param({"score": "44"}, "score is not a number", id="score-string"),
        pytest.param({**GOOD, "visibility": "public"}, "bad visibility", id="visibility"),
        pytest.param({**GOOD, "stdout_visibility": "always"}, "bad visibility", id="stdout"),
        pytest.param(
            {"score": 1, "tests": [{"name": "x", "output_format": "markdown"}]},
            "bad format",
            id="format",
        ),
        pytest.param(
            {"score": 1, "tests": [{"name": "x", "maxscore": 1}]}, "misspelt key", id="typo"
        ),
        pytest.param(
            {"score": 1, "leaderboard": [{"name": "Time", "value": 1, "order": "up"}]},
            "bad leaderboard order",
            id="leaderboard",
        ),
    ],
)
def test_schema_rejects(results, why):
    assert errors(results), f"accepted, but {why}"


# --- (d) the Gradescope autograder, end to end ---------------------------------------------

PORT = 8080


def requirement_of(name: str, ids: tuple[str, ...]) -> str | None:
    """The requirement id a test's name starts with (the longest, whole id)."""
    found = [rid for rid in ids if re.match(rf"{re.escape(rid)}(?![\w-])", name)]
    return max(found, key=len) if found else None


def run_autograder(tmp_path: Path, server_file: str) -> dict[str, Any]:
    submission, results = tmp_path / "submission", tmp_path / "results"
    submission.mkdir()
    shutil.copy(SERVERS / server_file, submission / "server.py")
    env = {
        **os.environ,
        "AUTOGRADER_SUBMISSION": str(submission),
        "AUTOGRADER_RESULTS": str(results),
        # The corpus servers take their port as argv[1]; a student's hard-codes it.
        "ECHO_COMMAND": f"{shlex.quote(sys.executable)} server.py {PORT}",
        "ECHO_PORT": str(PORT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    proc = subprocess.run(
        [str(GRADESCOPE / "run_autograder")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((results / "results.json").read_text())
    assert errors(data) == [], data
    return data


@pytest.mark.corpus
def test_gradescope_autograder_gives_a_correct_server_full_marks(tmp_path, spec):
    data = run_autograder(tmp_path, "ok_threads.py")
    tests = data["tests"]
    assert sorted(requirement_of(t["name"], spec.ids) or t["name"] for t in tests) == sorted(
        spec.ids
    )
    assert all(t["status"] == "passed" for t in tests), [t["name"] for t in tests]
    assert data["score"] == pytest.approx(sum(t["max_score"] for t in tests))
    assert data["score"] > 0


@pytest.mark.corpus
def test_gradescope_autograder_fails_a_server_that_forgets_z(tmp_path, spec):
    data = run_autograder(tmp_path, "forgets_z.py")
    tests = data["tests"]
    assert data["score"] < sum(t["max_score"] for t in tests)
    upper = [t for t in tests if requirement_of(t["name"], spec.ids) == "upper"]
    assert len(upper) == 1, [t["name"] for t in tests]
    assert upper[0]["status"] == "failed"
    assert upper[0]["score"] < upper[0]["max_score"]
