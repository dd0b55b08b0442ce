"""Where the suite's own data lives: the specs (spec/) and the registered implementations (impls/).

They are kept once, at the top of the repository.  A wheel carries them inside the package
(conformance/_bundled, see pyproject.toml); a clone, installed editable or not at all, reads them
where they are.  The corpus of planted-bug servers (tests/servers) exists only in a clone.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data(name: str) -> Path:
    packaged = _PACKAGE / "_bundled" / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name


SPEC_DIR = _data("spec")
IMPLS_DIR = _data("impls")
CORPUS_DIR = _PACKAGE.parent / "tests" / "servers"  # a clone's only: selftest says so elsewhere
