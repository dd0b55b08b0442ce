"""Fixtures for the runner's own tests."""

from __future__ import annotations

import pytest

from conformance.properties import get_profile
from conformance.runner import Options
from conformance.sandbox import ENV
from conformance.sandbox import isolation as isolation_available
from conformance.spec import DEFAULT_SPEC, Spec, load_spec


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "corpus: runs the suite on the server corpus (slow)")
    config.addinivalue_line("markers", "grading: grades classes of submissions (slow, run alone)")
    config.addinivalue_line("markers", "browser: opens reports in headless Chromium")


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
