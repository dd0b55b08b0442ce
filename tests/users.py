"""The command line as a user runs it: the tests' own user, or an unprivileged one, for the
tests that must see both sandboxes (as root, and in user namespaces).

Not as root, the tests' own user is the unprivileged one.  As root, the tests take the part of
`nobody`: with a system Python of the same version as this one (which may live under /root, where
nobody may not enter), and a copy of the runner (laid out as in the wheel) and of its installed
requirements, in a folder that it may read.  A user's folders (`home`, `folder()`) are its own,
mode 0700.
"""

from __future__ import annotations

import importlib.metadata
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

import conformance

REPO = Path(conformance.__file__).resolve().parent.parent


@dataclass(frozen=True)
class User:
    python: str
    env: dict[str, str]
    home: Path  # a folder of its own that nobody else may enter
    uid: int | None = None  # None: the tests' own user
    gid: int | None = None

    def run(
        self, *args: str, cwd: Path | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """`echo-conformance ARGS` as this user, in `cwd` (its home by default)."""
        return self.run_program([self.python, "-m", "conformance.cli", *args], cwd, timeout)

    def run_program(
        self, argv: list[str], cwd: Path | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Any program, as this user, in `cwd` (its home by default)."""
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd=cwd or self.home,
            env=self.env,
            user=self.uid,
            group=self.gid,
            extra_groups=[] if self.uid is not None else None,
        )

    def folder(self, name: str) -> Path:
        """A new folder of its own (0700) in its home."""
        path = self.home / name
        path.mkdir(mode=0o700)
        self.own(path)
        return path

    def own(self, path: Path) -> None:
        """Make `path` and all it holds this user's (a teacher owns the submissions it grades)."""
        if self.uid is None:
            return
        for item in [path, *path.rglob("*")]:
            os.lchown(item, self.uid, self.gid or -1)


@contextmanager
def tests_user() -> Iterator[User]:
    """The user that runs the tests, with a home of its own; removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix="echo-conformance-home-"))
    try:
        yield User(sys.executable, dict(os.environ), home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def unprivileged_user() -> Iterator[User | str]:
    """An unprivileged user, or (a str) why there is none here; what it leaves is removed
    afterwards."""
    if os.geteuid() != 0:
        with tests_user() as user:
            yield user
        return
    base = Path(tempfile.mkdtemp(prefix="echo-conformance-unprivileged-"))
    try:
        nobody = pwd.getpwnam("nobody")
        base.chmod(0o755)
        python = _system_python(nobody.pw_uid, nobody.pw_gid)
        if python is None:
            yield f"no system Python {sys.version_info.major}.{sys.version_info.minor} for nobody"
            return
        site = base / "site"
        _copy_runner(site)
        home = base / "home"
        home.mkdir(mode=0o700)
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
        env["PYTHONPATH"] = str(site)
        yield User(python, env, home, nobody.pw_uid, nobody.pw_gid)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _system_python(uid: int, gid: int) -> str | None:
    """A Python of this version that `uid` may run."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for folder in ("/usr/bin", "/usr/local/bin"):
        python = f"{folder}/python{version}"
        if not os.path.exists(python):
            continue
        said = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            user=uid,
            group=gid,
            extra_groups=[],
            cwd="/",
        )
        if said.returncode == 0 and said.stdout.strip() == str(sys.version_info[:2]):
            return python
    return None


def _copy_runner(site: Path) -> None:
    """The conformance package, with spec/ and impls/ as the wheel holds them, and the installed
    requirements it runs with."""
    shutil.copytree(REPO / "conformance", site / "conformance", ignore=_caches)
    for data in ("spec", "impls"):
        shutil.copytree(REPO / data, site / "conformance" / "_bundled" / data, ignore=_caches)
    for dist in _requirements("echo-conformance"):
        for file in dist.files or []:
            source = Path(str(dist.locate_file(file)))
            if file.parts[0] == ".." or not source.is_file():
                continue  # a script in bin/: not imported
            (site / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, site / file)
    for path in [site, *site.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _caches(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n == "__pycache__" or n.startswith(".")}


def _requirements(name: str) -> list[importlib.metadata.Distribution]:
    """The distributions `name` requires, and theirs (no extras), as installed here."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = [Requirement(r) for r in importlib.metadata.distribution(name).requires or []]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = req.name.lower().replace("_", "-")
        if key in found:
            continue
        found[key] = dist = importlib.metadata.distribution(req.name)
        todo += [Requirement(r) for r in dist.requires or []]
    return list(found.values())
