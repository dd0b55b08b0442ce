"""The suite's own corpus: servers whose verdicts are known (tests/servers/catalog.toml).

Correct servers in many styles must pass every requirement, each check showing its condition;
each planted bug must be failed on every requirement it `trips`.  `echo-conformance selftest`
and tests/test_corpus.py run it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from conformance.bundled import CORPUS_DIR
from conformance.impls import Implementation, adhoc
from conformance.outcome import UsageError
from conformance.spec import read_toml

CORPUS = CORPUS_DIR


@dataclass(frozen=True)
class Specimen:
    name: str
    file: Path
    description: str
    trips: tuple[str, ...]  # empty: a correct server
    alone: bool = False  # it fails nothing but `trips` (the rest pass or are not judged)

    @property
    def correct(self) -> bool:
        return not self.trips


def load_catalog(folder: Path = CORPUS) -> list[Specimen]:
    path = folder / "catalog.toml"
    if not path.exists():
        raise UsageError(
            f"no corpus at {folder}: selftest needs a clone of the project (its planted-bug "
            "servers are not in the package)"
        )
    table = read_toml(path, UsageError)
    return [
        Specimen(
            name,
            folder / e["file"],
            e["description"],
            tuple(e.get("trips", [])),
            bool(e.get("alone", False)),
        )
        for name, e in table.items()
    ]


class Unavailable(Exception):
    """The specimen's toolchain is missing here (said with the reason, never silently)."""


def implementation(specimen: Specimen, build_dir: Path) -> Implementation:
    """How to run a specimen: Python with this interpreter, .js with node, .c built with cc."""
    file = specimen.file
    if file.suffix == ".py":
        argv = [sys.executable, str(file)]
    elif file.suffix == ".js":
        node = shutil.which("node")
        if node is None:
            raise Unavailable(f"{specimen.name}: Node.js is not installed (no `node` on PATH)")
        argv = [node, str(file)]
    elif file.suffix == ".c":
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            raise Unavailable(f"{specimen.name}: no C compiler (`cc`/`gcc`) on PATH")
        binary = build_dir / file.stem
        if not binary.exists():
            subprocess.run([cc, "-O2", "-Wall", "-o", str(binary), str(file)], check=True)
        argv = [str(binary)]
    else:
        raise UsageError(f"{specimen.name}: unknown kind of server {file.name}")
    impl = adhoc([*argv, "{port}", "{host}"], name=specimen.name)
    return Implementation(impl.name, specimen.description, impl.target, only=specimen.trips)
