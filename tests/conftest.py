"""Fixtures for the runner's own tests."""

from __future__ import annotations

import pytest

from conformance.properties import get_profile
from conformance.runner import Options
from conformance.spec import DEFAULT_SPEC, Spec, load_spec


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "corpus: runs the suite on the server corpus (slow)")


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec(DEFAULT_SPEC)


@pytest.fixture(scope="session")
def quick() -> Options:
    return Options(profile=get_profile("quick"))
