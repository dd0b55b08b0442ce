"""The suite against its corpus (tests/servers/catalog.toml): correct servers in many styles
must pass every requirement; each planted bug must be failed on the requirement(s) it trips."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.impls import Implementation, adhoc
from conformance.properties import get_profile
from conformance.runner import Options, evaluate
from conformance.spec import DEFAULT_SPEC, load_spec, read_toml
from tests.helpers import SERVERS

pytestmark = pytest.mark.corpus

CATALOG: dict[str, dict[str, Any]] = read_toml(SERVERS / "catalog.toml", ValueError)
SPEC = load_spec(DEFAULT_SPEC)
OPTIONS = Options(profile=get_profile("default"))


def cases() -> list[Any]:
    out = []
    for name, entry in CATALOG.items():
        trips = entry.get("trips", [])
        for rid in trips or SPEC.ids:
            out.append(pytest.param(name, rid, bool(trips), id=f"{name}-{rid}"))
    return out


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus-build")


def implementation(name: str, build_dir: Path) -> Implementation:
    file = SERVERS / CATALOG[name]["file"]
    if file.suffix == ".py":
        argv = [sys.executable, str(file)]
    elif file.suffix == ".js":
        node = shutil.which("node")
        if node is None:
            pytest.skip(f"{name}: Node.js is not installed (no `node` on PATH)")
        argv = [node, str(file)]
    elif file.suffix == ".c":
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            pytest.skip(f"{name}: no C compiler (`cc`/`gcc`) on PATH")
        binary = build_dir / file.stem
        if not binary.exists():
            subprocess.run([cc, "-O2", "-Wall", "-o", str(binary), str(file)], check=True)
        argv = [str(binary)]
    else:
        raise AssertionError(f"{name}: unknown kind of server {file.name}")
    return adhoc([*argv, "{port}", "{host}"], name=name)


@pytest.mark.parametrize(("name", "rid", "buggy"), cases())
def test_corpus(name: str, rid: str, buggy: bool, build_dir: Path) -> None:
    impl = implementation(name, build_dir)
    result = evaluate(SPEC, SPEC.requirement(rid), impl, OPTIONS)
    detail = f"{result.summary}\n{result.evidence}"
    assert result.outcome != "error", detail
    if buggy:
        assert result.outcome == "fail", (
            f"{name} ({CATALOG[name]['description']}) was not failed on {rid}: a surviving "
            "mutant is a bug of the suite"
        )
    else:
        assert result.outcome == "pass", f"correct server {name} failed {rid}: {detail}"
