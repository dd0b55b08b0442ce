"""The Dockerfile, checked as far as a machine without a Docker engine can: it parses, what it
copies is in the build context, and its build and install steps, run here (the container's
paths re-rooted in a temporary folder, its `python` a fresh virtual environment), give a
working non-editable install.  A broken step fails here before anyone runs `docker build`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip


@dataclass
class Instruction:
    line: int
    name: str
    args: str


def parse(text: str) -> list[Instruction]:
    """The instructions, with `\\` continuations joined and comments dropped (Dockerfile
    reference: a comment line inside a continued instruction is dropped too)."""
    found: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        name, _, args = whole.partition(" ")
        found.append(Instruction(start, name.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return found


def flags(args: str) -> tuple[dict[str, str], list[str]]:
    """`--name=value` flags, then the words (COPY's sources and destination)."""
    words = args.split()
    options = {}
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        options[name] = value
    return options, words


def ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore as (exception?, regex) pairs, in order: the last match decides."""
    patterns = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex = ""
        for part in re.split(r"(\*\*/|/\*\*$|\*\*|\*|\?)", pattern):
            regex += {
                "**/": "(?:.*/)?",
                "/**": "(?:/.*)?",
                "**": ".*",
                "*": "[^/]*",
                "?": "[^/]",
            }.get(part, re.escape(part))
        patterns.append((negate, re.compile(regex + r"\Z")))
    return patterns


def excluded(relative: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: a pattern that matches a folder excludes what is in it."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    out = False
    for negate, regex in patterns:
        if any(regex.match(prefix) for prefix in prefixes):
            out = not negate
    return out


def build_context(to: Path) -> Path:
    """The files `docker build .` sends: the checkout less what .dockerignore excludes."""
    patterns = ignore_patterns()
    keeps_some = any(negate for negate, _ in patterns)
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder).relative_to(ROOT)
        for name in list(dirs):
            if not keeps_some and excluded((here / name).as_posix(), patterns):
                dirs.remove(name)  # nothing under it can be let back in
        for name in files:
            relative = (here / name).as_posix()
            if not excluded(relative, patterns):
                (to / here).mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / relative, to / relative, follow_symlinks=False)
    return to


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE.read_text())


def test_every_instruction_is_known_and_from_comes_first(instructions):
    assert instructions and instructions[0].name == "FROM"
    unknown = [(i.line, i.name) for i in instructions if i.name not in INSTRUCTIONS]
    assert unknown == []
    stages: list[str] = []
    for i in (i for i in instructions if i.name == "FROM"):
        image, *rest = i.args.split()
        assert image in stages or re.fullmatch(r"python:3\.11-slim(-\w+)?", image), i.args
        if rest:
            assert rest[0].upper() == "AS" and len(rest) == 2, i.args
            stages.append(rest[1])
    for i in (i for i in instructions if i.name == "COPY"):
        options, _ = flags(i.args)
        if "from" in options:
            assert options["from"] in stages, f"line {i.line}: no stage {options['from']}"


def test_what_it_copies_is_in_the_build_context(instructions):
    patterns = ignore_patterns()
    for i in instructions:
        options, words = flags(i.args)
        if i.name not in ("COPY", "ADD") or "from" in options:
            continue
        *sources, _ = words
        assert sources, f"line {i.line}: {i.name} without a source"
        for source in sources:
            path = (ROOT / source).resolve()
            assert path.exists() and ROOT in [path, *path.parents], f"line {i.line}: {source}"
            if path != ROOT:
                relative = path.relative_to(ROOT).as_posix()
                assert not excluded(relative, patterns), f"{source}: excluded by .dockerignore"
    # What the wheel is built from is sent, and the working tree's clutter is not.
    for needed in ("pyproject.toml", "README.md", "conformance/cli/__init__.py", "spec/echo.toml"):
        assert not excluded(needed, patterns), needed
    assert not excluded("impls/select/server.py", patterns)
    for clutter in (".git/HEAD", ".venv/bin/python", "conformance/__pycache__/cli.cpython-311.pyc"):
        assert excluded(clutter, patterns), clutter


def test_it_runs_the_suite_as_root_with_the_command_as_entrypoint(instructions):
    assert [i for i in instructions if i.name == "USER"] == []  # the image's user: root
    (entry,) = [i for i in instructions if i.name == "ENTRYPOINT"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert json.loads(entry.args) == ["echo-conformance"] and "echo-conformance" in scripts


def test_its_build_and_install_steps_give_a_working_install(instructions, tmp_path):
    """Each RUN that builds or installs the package runs here, in order, with every absolute
    path under a stand-in root and `python` the interpreter of a fresh virtual environment."""
    root, env_dir = tmp_path / "root", tmp_path / "venv"
    root.mkdir()
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    context = build_context(tmp_path / "context")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(name, None)
    workdir, ran = "/", []

    def here(path: str) -> Path:
        return root / os.path.join(workdir, path).lstrip("/")

    for i in instructions:
        options, words = flags(i.args)
        if i.name == "FROM":
            workdir = "/"
        elif i.name == "WORKDIR":
            workdir = os.path.join(workdir, i.args)
            here(".").mkdir(parents=True, exist_ok=True)
        elif i.name == "ENV":
            assert all("=" in word for word in words), f"line {i.line}: ENV NAME=VALUE ..."
            env.update(word.split("=", 1) for word in words)
        elif i.name == "COPY":
            *sources, target = words
            for source in sources:
                origin = here(source) if "from" in options else context / source
                goal = here(target)
                if origin.resolve() == goal.resolve():
                    continue  # from a stage: the stages share the stand-in root
                if origin.is_dir():
                    shutil.copytree(origin, goal, dirs_exist_ok=True)
                else:
                    goal.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, goal)
        elif i.name == "RUN" and "pip" in i.args:
            command = re.sub(r"(^|[\s=])/(?=\w)", rf"\g<1>{root}/", i.args)
            done = subprocess.run(
                ["/bin/sh", "-c", command],
                cwd=here("."),
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                stdin=subprocess.DEVNULL,
            )
            assert done.returncode == 0, f"line {i.line}: {i.args}\n{done.stdout}{done.stderr}"
            ran.append(i.args)
    assert any(" wheel " in c for c in ran) and any(" install " in c for c in ran), ran
    # Installed, not editable: from the environment, with the bundled specs and impls.
    away = tmp_path / "elsewhere"
    away.mkdir()
    python = bin_dir / "python"
    where = subprocess.run(
        [python, "-c", "import conformance; print(conformance.__file__)"],
        cwd=away,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(env_dir), where.stdout
    listed = subprocess.run(
        [bin_dir / "echo-conformance", "list"], cwd=away, env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert "  select " in listed.stdout and "echo.toml:" in listed.stdout
    assert not any(root.rglob("*.whl")), "the install step leaves the wheel behind"
