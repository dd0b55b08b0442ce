"""The wheel, as a user gets it: installed non-editable into a fresh virtual environment outside
the repository, and used there by an unprivileged user (`tox -e wheel`).

Run as root, every step runs as `nobody` (setpriv, else runuser); otherwise as the current user.
Its servers run in user namespaces where the kernel allows them, else in the fallback, where
fixed-port servers take turns through the suite's port lock.
The virtual environment is made with an interpreter that user can run (the first of the tox
environment's base interpreter, /usr/bin/python3.11, /usr/bin/python3, ... that it can run; with
none, this says so and exits 0 without checking anything), and `nobody` installs the wheel into
it with pip, its dependencies from the package index.  Then, in folders outside the repository:

    version           echo-conformance --version, python -m conformance --version
    check-select      check -- python3 server.py {port} on a copy of impls/select: CONFORMANT
    fixed-port-pair   two copies of impls/tutorial-select checked at once on port 8080: both
                      finish, both exit 1 with the failures its impl.toml declares
    check-registered  check tutorial-select (the registered name): every outcome as declared
    grade             a class of 4 servers that take {port} (select, blocking, threaded, and one
                      that does not parse): grades.csv as their impl.toml files declare
    pytest-plugin     pytest --echo-server "python3 server.py {port}" in a student's folder
    gradescope        examples/gradescope: setup.sh (the wheel next to it), then run_autograder
    github-classroom  examples/github-classroom's workflow: its steps, install from the wheel
    ci-matrix         examples/ci-matrix's workflow: the 4 grade shards (--fixed-port 8080) of
                      select, blocking, tutorial-select and one that does not parse, the merge
    the-rest          list, check --all, a user's own --spec and implementation folder,
                      compare; selftest says in one line that it needs a clone
    leftovers         no process of the run is left

Expectations come from the installed package (its bundled spec and impl.toml files), not from
this file.  A failed step prints its command, exit status and the tail of its output; the run
exits 1 if any step failed.

    python tests/wheel/check_wheel.py [--wheel FILE] [--keep]

Without --wheel it takes the wheel tox built ($TOX_PACKAGE), else builds one with pip.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GRADESCOPE = EXAMPLES / "gradescope"
CLASSROOM = EXAMPLES / "github-classroom" / "echo-conformance.yml"
CI_MATRIX = EXAMPLES / "ci-matrix" / "grade-class.yml"
PLACEHOLDER = "git+https://github.com/OWNER/echo-conformance"  # the workflows' install line
FIXED_PORT = 8080
TIMEOUT = 300.0  # seconds, for any one command
TAIL = 40  # lines of output shown for a failed command
PROXY_VARS = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
SYNTAX_ERROR = "import socket\n\n\ndef main(:\n    pass\n"  # a submission that does not parse
CSV_HEAD = ["submission", "score", "max_score", "verdict"]

started_at = time.monotonic()
print_lock = threading.Lock()


def say(line: str) -> None:
    with print_lock:
        print(f"[{time.monotonic() - started_at:6.1f} s] {line}", flush=True)


class StepFailed(Exception):
    """A step's expectation failed; the message is the whole readable block."""


class Skip(Exception):
    """Nothing can be checked here (the reason says why)."""


# --- running commands as the user -------------------------------------------------------------


@dataclass
class Account:
    name: str
    uid: int
    gid: int
    prefix: list[str]  # runs a command as this account ([]: we are it)

    @property
    def dropped(self) -> bool:
        return bool(self.prefix)


def account() -> Account:
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return Account(me.pw_name, me.pw_uid, me.pw_gid, [])
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise StepFailed("running as root, and there is no user nobody to run as") from None
    if setpriv := shutil.which("setpriv"):
        prefix = [
            setpriv,
            f"--reuid={nobody.pw_uid}",
            f"--regid={nobody.pw_gid}",
            "--clear-groups",
        ]
    elif runuser := shutil.which("runuser"):
        prefix = [runuser, "-u", "nobody", "--"]
    else:
        raise StepFailed("running as root, and neither setpriv nor runuser is here")
    return Account("nobody", nobody.pw_uid, nobody.pw_gid, prefix)


@dataclass
class Ran:
    """A command that ran (or was killed at its timeout)."""

    argv: list[str]
    cwd: Path
    who: str
    status: int
    out: str
    err: str
    seconds: float
    timed_out: bool = False

    def block(self, why: str) -> str:
        said = [
            f"why: {why}",
            f"command: {shlex.join(self.argv)}",
            f"  in {self.cwd}, as {self.who}, {self.seconds:.1f} s",
            f"exit status: {'killed at the timeout' if self.timed_out else self.status}",
        ]
        for name, text in (("stdout", self.out), ("stderr", self.err)):
            tail = text.rstrip("\n").splitlines()[-TAIL:]
            said.append(f"{name} (last {len(tail)} lines):" if tail else f"{name}: (empty)")
            said += [f"  | {line}" for line in tail]
        return "\n".join(said)


class Started:
    """A command started as the account, with exactly the environment given."""

    def __init__(self, who: Account, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.who, self.argv, self.cwd = who, argv, cwd
        words = [f"{key}={value}" for key, value in sorted(env.items())]
        self.began = time.monotonic()
        self.proc = subprocess.Popen(
            [*who.prefix, "env", "-i", *words, *argv],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: killed as one at the timeout
        )

    def finish(self, timeout: float = TIMEOUT) -> Ran:
        timed_out = False
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = self.proc.communicate()
        return Ran(
            self.argv,
            self.cwd,
            self.who.name,
            self.proc.returncode,
            out.decode(errors="replace"),
            err.decode(errors="replace"),
            time.monotonic() - self.began,
            timed_out,
        )


# --- the context: folders, the installed package, what it declares ---------------------------


@dataclass
class Context:
    who: Account
    base: Path  # ours, readable by all
    home: Path  # the user's HOME (pip's cache), and the folders it works in
    tmp: Path  # the user's TMPDIR
    wheel: Path
    version: str
    python: str = ""  # the interpreter that makes the virtual environments
    venv: Path = Path()  # the main one
    bundled: Path = Path()  # conformance/_bundled in the main virtual environment
    requirements: list[dict[str, Any]] = field(default_factory=list)

    # folders and files the user owns

    def own(self, path: Path) -> None:
        if self.who.dropped:
            for sub in [path, *path.rglob("*")] if path.is_dir() else [path]:
                os.chown(sub, self.who.uid, self.who.gid, follow_symlinks=False)

    def folder(self, path: Path) -> Path:
        """A new folder, the user's, like any missing folder above it."""
        if not path.parent.exists():
            self.folder(path.parent)
        path.mkdir()
        self.own(path)
        return path

    def put(self, path: Path, text: str, mode: int = 0o644) -> Path:
        path.write_text(text)
        path.chmod(mode)
        self.own(path)
        return path

    def copy(self, source: Path, path: Path) -> Path:
        shutil.copy(source, path)  # with its mode
        self.own(path)
        return path

    def student(self, path: Path, impl: str) -> Path:
        """A folder with a copy of a bundled implementation's server.py."""
        self.folder(path)
        self.copy(self.bundled / "impls" / impl / "server.py", path / "server.py")
        return path

    # the environment of a command: nothing of ours leaks in

    def env(self, venv: Path | None = None, pip: bool = False, **extra: str) -> dict[str, str]:
        bin_dir = (venv or self.venv) / "bin"
        env = {
            "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "LANG": "C.UTF-8",
            "USER": self.who.name,
            "LOGNAME": self.who.name,
        }
        if pip:  # how to reach the package index, as the environment says (PIP_*, proxies)
            for key, value in os.environ.items():
                if key.startswith("PIP_") or key.lower() in PROXY_VARS:
                    env[key] = value
        env.update(extra)
        return env

    def start(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Started:
        return Started(self.who, argv, cwd, env or self.env())

    def run(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Ran:
        return self.start(argv, cwd, env).finish()

    # what the installed package says

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.requirements]

    def declared(self, impl: str) -> set[str]:
        manifest = tomllib.loads((self.bundled / "impls" / impl / "impl.toml").read_text())
        return set(manifest.get("expected_failures", {}))

    def grades(self, failing: dict[str, set[str]]) -> list[list[str]]:
        """grades.csv as it must read, given each submission's failing requirements."""
        points = {r["id"]: r["points"] for r in self.requirements}
        required = {r["id"] for r in self.requirements if r["level"] == "MUST"}
        rows = [CSV_HEAD + self.ids]
        for name in sorted(failing):
            score = sum(p for rid, p in points.items() if rid not in failing[name])
            verdict = "nonconformant" if failing[name] & required else "conformant"
            outcomes = ["fail" if rid in failing[name] else "pass" for rid in self.ids]
            rows.append([name, str(score), str(sum(points.values())), verdict, *outcomes])
        return rows


def must(ok: object, ran: Ran | None, why: str) -> None:
    if not ok:
        raise StepFailed(ran.block(why) if ran else f"why: {why}")


def exits(ran: Ran, status: int) -> None:
    must(ran.status == status and not ran.timed_out, ran, f"exit status {status} expected")


def lines(text: str) -> list[str]:
    return text.splitlines()


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


NOT_MET = {"not-judged": "fail"}


def same_table(got: list[list[str]], want: list[list[str]], ran: Ran, what: str) -> None:
    """`got` has `want`'s columns (by name, in any order; more columns are let be) and rows."""

    def show(rows: list[list[str]]) -> str:
        return "\n".join("    " + ",".join(row) for row in rows)

    head = got[0] if got else []
    missing = [name for name in want[0] if name not in head]
    must(not missing, ran, f"{what} lacks the columns {missing}; it reads\n{show(got)}")
    # A requirement not met is failed, or not judged for want of another that failed: the
    # expected tables say "fail" for both.
    picked = [
        [NOT_MET.get(row[head.index(name)], row[head.index(name)]) for name in want[0]]
        for row in got
    ]
    must(picked == want, ran, f"{what} reads\n{show(got)}\n  and must read\n{show(want)}")


# --- setting up: the wheel, the folders, the interpreter, the installation --------------------


def find_wheel(given: str | None, out: Path) -> Path:
    if given:
        return Path(given).resolve()
    for item in os.environ.get("TOX_PACKAGE", "").split(os.pathsep):
        if fnmatch.fnmatch(Path(item).name, "echo_conformance-*.whl"):
            return Path(item)
    say(f"building the wheel of {ROOT} with pip")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    built = sorted(out.glob("echo_conformance-*.whl"))
    if proc.returncode != 0 or len(built) != 1:
        raise StepFailed(f"why: pip wheel failed (exit status {proc.returncode})\n{proc.stderr}")
    return built[0]


def check_wheel(wheel: Path) -> str:
    """The wheel's version; it must be a real one, carrying the package and its data."""
    found = re.fullmatch(r"echo_conformance-([^-]+)-py3-none-any\.whl", wheel.name)
    must(found, None, f"{wheel}: not an echo_conformance-VERSION-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for name in (
        "conformance/cli/__init__.py",
        "conformance/checks/exchange.py",
        "conformance/plugin.py",
        "conformance/reports/html_report.css",  # package data, not code
        "conformance/reports/html_report.js",
        "conformance/_bundled/spec/echo.toml",
        "conformance/_bundled/impls/select/server.py",
        "conformance/_bundled/impls/tutorial-select/impl.toml",
    ):
        must(name in names, None, f"{wheel.name} lacks {name}")
    assert found is not None
    return found.group(1)


def make_base(who: Account) -> Path:
    """Our folder, outside the repository (and outside /root), that the user can reach."""
    parent = Path("/tmp") if who.dropped else Path(tempfile.gettempdir())
    for folder in (parent, *parent.parents) if who.dropped else ():
        if not folder.stat().st_mode & stat.S_IXOTH:
            raise StepFailed(f"why: {folder} is closed to others: {who.name} cannot work in it")
    base = Path(tempfile.mkdtemp(prefix="echo-conformance-wheel-", dir=parent))
    base.chmod(0o755)
    return base


def interpreters() -> list[str]:
    """Where to look for the interpreter of the virtual environments, in order."""
    return [
        getattr(sys, "_base_executable", ""),  # the tox environment's (not nobody's, in /root)
        "/usr/bin/python3.11",
        "/usr/bin/python3",
        "/usr/local/bin/python3",
        shutil.which("python3.11") or "",
        shutil.which("python3") or "",
    ]


def pick_python(ctx: Context) -> str:
    """The first interpreter (3.10+, with venv and ensurepip) that the user can run."""
    candidates = interpreters()
    probe = "import ensurepip, sys, venv; print(sys.version_info >= (3, 10))"
    tried, seen = [], set()
    for candidate in candidates:
        real = os.path.realpath(candidate) if candidate else ""
        if not real or real in seen or not os.path.isfile(real):
            continue
        seen.add(real)
        ran = ctx.run([candidate, "-I", "-c", probe], ctx.home)
        if ran.status == 0 and ran.out.strip() == "True":
            return candidate
        said = (ran.err or ran.out).strip().splitlines()
        tried.append(f"{candidate}: {said[-1] if said else f'exit status {ran.status}'}")
    raise Skip(
        f"no Python 3.10+ with venv that {ctx.who.name} can run; tried:\n  " + "\n  ".join(tried)
    )


def new_venv(ctx: Context, path: Path) -> Ran:
    ran = ctx.run([ctx.python, "-m", "venv", str(path)], path.parent)
    exits(ran, 0)
    return ran


def install(ctx: Context) -> str:
    """The main virtual environment, the wheel installed into it by the user."""
    ctx.python = pick_python(ctx)
    ctx.venv = ctx.home / "venv"
    new_venv(ctx, ctx.venv)
    ran = ctx.run(
        [str(ctx.venv / "bin" / "python"), "-m", "pip", "install", str(ctx.wheel)],
        ctx.home,
        ctx.env(pip=True),
    )
    exits(ran, 0)
    probe = (
        "import json, importlib.metadata as m, conformance, conformance.bundled as b; "
        "d = m.distribution('echo-conformance'); "
        "print(json.dumps({'module': conformance.__file__, 'spec': str(b.SPEC_DIR), "
        "'impls': str(b.IMPLS_DIR), 'version': d.version, "
        "'direct_url': json.loads(d.read_text('direct_url.json') or '{}')}))"
    )
    ran = ctx.run(["python", "-c", probe], ctx.home)
    exits(ran, 0)
    where = json.loads(ran.out)
    package = Path(where["module"]).parent
    must(package.is_relative_to(ctx.venv), ran, f"conformance imported from {package}")
    must(where["version"] == ctx.version, ran, f"installed version is not {ctx.version}")
    must("dir_info" not in where["direct_url"], ran, "installed editable, or from a folder")
    ctx.bundled = package / "_bundled"
    must(where["spec"] == str(ctx.bundled / "spec"), ran, "the spec is not the bundled one")
    must(where["impls"] == str(ctx.bundled / "impls"), ran, "impls are not the bundled ones")
    for impl in ("select", "blocking", "threaded", "tutorial-select"):
        for name in ("server.py", "impl.toml"):
            same = (ctx.bundled / "impls" / impl / name).read_bytes() == (
                ROOT / "impls" / impl / name
            ).read_bytes()
            must(same, ran, f"the installed impls/{impl}/{name} differs from the repository's")
    ctx.requirements = tomllib.loads((ctx.bundled / "spec" / "echo.toml").read_text())[
        "requirement"
    ]
    return f"{ctx.wheel.name} into {ctx.venv} with {ctx.python}, as {ctx.who.name}"


# --- the steps --------------------------------------------------------------------------------


def step_version(ctx: Context) -> str:
    for argv in (["echo-conformance", "--version"], ["python", "-m", "conformance", "--version"]):
        ran = ctx.run(argv, ctx.home)
        exits(ran, 0)
        first = (lines(ran.out) or [""])[0]
        must(first == f"echo-conformance {ctx.version}", ran, "first line: the name and version")
    return f"echo-conformance {ctx.version}"


# A requirement's line in a check's text report: "  PASS  listen  MUST", or with the progress
# count in front ("[ 1/11]  PASS  listen  MUST"); "FAIL!"/"PASS!" when contrary to a declaration.
OUTCOME_LINE = re.compile(r"\s*(?:\[\s*\d+/\d+\]\s+)?(PASS|FAIL)!?\s+(\S+)\s+(MUST|SHOULD)\b(.*)")


def outcome_lines(text: str) -> dict[str, tuple[str, str]]:
    """requirement id -> (PASS or FAIL, the rest of its line), from a check's text report."""
    found = (OUTCOME_LINE.match(line) for line in lines(text))
    return {m.group(2): (m.group(1), m.group(4)) for m in found if m}


def pass_fail(text: str) -> tuple[set[str], set[str]]:
    """The requirement ids on the PASS and FAIL lines of a check's text report."""
    found = outcome_lines(text)
    return (
        {rid for rid, (o, _) in found.items() if o == "PASS"},
        {rid for rid, (o, _) in found.items() if o == "FAIL"},
    )


def step_check_select(ctx: Context) -> str:
    folder = ctx.student(ctx.home / "alice", "select")
    ran = ctx.run(["echo-conformance", "check", "--", "python3", "server.py", "{port}"], folder)
    exits(ran, 0)
    must("verdict: CONFORMANT" in lines(ran.out), ran, "a line 'verdict: CONFORMANT'")
    passed, failed = pass_fail(ran.out)
    must(passed == set(ctx.ids) and not failed, ran, f"PASS on every requirement: {ctx.ids}")
    return "CONFORMANT"


def declared_json(ctx: Context, ran: Ran, report: Path, declared: set[str]) -> None:
    must(report.is_file(), ran, f"no JSON report {report}")
    entries = json.loads(report.read_text())["requirements"]
    outcomes = {e["id"]: e["outcome"] for e in entries}
    must(sorted(outcomes) == sorted(ctx.ids), ran, f"{report.name}: not every requirement")
    failed = {rid for rid, outcome in outcomes.items() if outcome == "fail"}
    must(
        failed == declared and set(outcomes.values()) <= {"pass", "fail"},
        ran,
        f"{report.name}: outcomes {outcomes}, but the declared failures are {sorted(declared)}",
    )


def step_fixed_port_pair(ctx: Context) -> str:
    declared = ctx.declared("tutorial-select")
    must(declared, None, "tutorial-select declares no failures")
    folders = [ctx.student(ctx.home / f"pair-{i}", "tutorial-select") for i in (1, 2)]
    argv = ["echo-conformance", "check", "--fixed-port", str(FIXED_PORT), "--json", "report.json"]
    argv += ["--", "python3", "server.py"]
    started = [ctx.start(argv, folder) for folder in folders]  # at once
    with ThreadPoolExecutor(len(started)) as pool:  # read both outputs as they come
        finished = list(pool.map(Started.finish, started))
    for folder, ran in zip(folders, finished):
        exits(ran, 1)
        verdict = [line for line in lines(ran.out) if line.startswith("verdict: ")]
        must(verdict and verdict[0].startswith("verdict: NOT CONFORMANT"), ran, "the verdict")
        _, failed = pass_fail(ran.out)
        must(failed == declared, ran, f"FAIL lines for {sorted(declared)}, as declared")
        declared_json(ctx, ran, folder / "report.json", declared)
    return f"both exit 1, failing {', '.join(sorted(declared))}"


def step_check_registered(ctx: Context) -> str:
    folder = ctx.folder(ctx.home / "registered")
    ran = ctx.run(["echo-conformance", "check", "tutorial-select", "--json", "report.json"], folder)
    exits(ran, 1)
    declared = ctx.declared("tutorial-select")
    declared_json(ctx, ran, folder / "report.json", declared)
    entries = json.loads((folder / "report.json").read_text())["requirements"]
    expected = {e["id"] for e in entries if e["expected"] == "fail"}
    must(expected == declared, ran, f"the report's declared failures are not {sorted(declared)}")
    found = outcome_lines(ran.out)
    as_declared = {rid for rid, (o, rest) in found.items() if o == "FAIL" and "as declared" in rest}
    must(as_declared == declared, ran, "a 'FAIL ... as declared' line for each declared failure")
    return f"as declared ({len(declared)} declared failures)"


def make_class(ctx: Context, folder: Path, impls: tuple[str, ...]) -> dict[str, set[str]]:
    """A class in `folder`: copies of these implementations' servers, and one that does not
    parse; each submission's failing requirements."""
    ctx.folder(folder)
    failing = {}
    for impl in impls:
        ctx.student(folder / impl, impl)
        failing[impl] = ctx.declared(impl)
    ctx.put(ctx.folder(folder / "syntax-error") / "server.py", SYNTAX_ERROR)
    failing["syntax-error"] = set(ctx.ids)
    return failing


def step_grade(ctx: Context) -> str:
    """Servers that take {port}: graded side by side, without the port lock.  (The tutorial's
    server, which binds 8080 whatever it is given, is graded in ci-matrix, with --fixed-port.
    Here, --detect-port would start it before anyone knows its port, so without the lock: it
    would collide with the fixed-port servers of the other steps.)"""
    failing = make_class(ctx, ctx.home / "course" / "class", ("select", "blocking", "threaded"))
    ran = ctx.run(
        [
            "echo-conformance",
            "grade",
            "class",
            "--command",
            "python3 server.py {port}",
            "--out",
            "grades",
        ],
        ctx.home / "course",
    )
    exits(ran, 0)
    must(f"{len(failing)} submissions graded" in ran.out, ran, "the count of graded submissions")
    grades = ctx.home / "course" / "grades" / "grades.csv"
    must(grades.is_file(), ran, f"no {grades}")
    same_table(read_csv(grades), ctx.grades(failing), ran, "grades.csv")
    return f"grades.csv: {len(failing)} submissions as expected"


def step_pytest_plugin(ctx: Context) -> str:
    folder = ctx.student(ctx.home / "bob", "select")
    configs = ("conftest.py", "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
    for place in (folder, *folder.parents):
        for name in configs:
            must(not (place / name).exists(), None, f"{place / name}: the folder must have none")
    ran = ctx.run(["pytest", "--echo-server", "python3 server.py {port}"], folder)
    exits(ran, 0)
    count = len(ctx.ids)
    must(f"collected {count} items" in ran.out, ran, f"pytest collects {count} tests")
    summary = (lines(ran.out) or [""])[-1]
    passed = rf"=+ {count} passed(, \d+ warnings?)? in [\d.]+s( \([\d:]+\))? =+"
    must(re.fullmatch(passed, summary), ran, f"the last line: {count} passed")
    return f"{count} passed"


def step_the_rest(ctx: Context) -> str:
    """What else a pip install must do from any folder: list, check --all, a user's own spec and
    implementation folder, compare; selftest says in one line that it needs a clone."""
    folder = ctx.folder(ctx.home / "carol")
    ran = ctx.run(["echo-conformance", "list"], folder)
    exits(ran, 0)
    must("tutorial-select" in ran.out and "rfc862-echo.toml" in ran.out, ran, "every impl, spec")
    ran = ctx.run(["echo-conformance", "check", "--all", "--only", "listen", "-q"], folder)
    exits(ran, 0)  # every registered implementation as declared
    # A user's own spec (a copy of the bundled RFC 862 one) and implementation folder.
    ctx.copy(ctx.bundled / "spec" / "rfc862-echo.toml", folder / "mine.toml")
    mine = ctx.student(folder / "plain", "plain-echo")
    ctx.put(mine / "impl.toml", 'name = "plain"\ncommand = "python3 server.py {port}"\n')
    argv = ["echo-conformance", "check", "--spec", "mine.toml", "--profile", "quick", "plain"]
    ran = ctx.run(argv, folder)
    exits(ran, 0)
    must("verdict: CONFORMANT" in lines(ran.out), ran, "the folder conforms to the user's spec")
    ran = ctx.run(["echo-conformance", "compare", "select", "--quick"], folder)
    exits(ran, 0)
    must("select" in ran.out, ran, "compare's tables name the implementation")
    ran = ctx.run(["echo-conformance", "selftest"], folder)
    exits(ran, 2)
    said = lines(ran.err)
    must(len(said) == 1 and "needs a clone" in said[0], ran, "one line: selftest needs a clone")
    return "list, check --all, --spec PATH, check PATH, compare; selftest needs a clone"


def step_gradescope(ctx: Context) -> str:
    """examples/gradescope as Gradescope runs it: the zip unpacked into source/, setup.sh once
    (here into a fresh virtual environment: the image's python3), then run_autograder."""
    autograder = ctx.folder(ctx.home / "gradescope")
    source = ctx.folder(autograder / "source")  # the autograder zip, unpacked
    for name in ("setup.sh", "run_autograder"):
        ctx.copy(GRADESCOPE / name, source / name)
    ctx.copy(ctx.wheel, source / ctx.wheel.name)
    venv = autograder / "python"
    new_venv(ctx, venv)
    ran = ctx.run(
        [str(source / "setup.sh")],
        autograder,
        ctx.env(venv, pip=True, AUTOGRADER_SOURCE=str(source)),
    )
    exits(ran, 0)
    must(f"echo-conformance {ctx.version}" in lines(ran.out), ran, "setup.sh shows the version")
    ctx.copy(source / "run_autograder", autograder / "run_autograder")  # as Gradescope does
    submission = ctx.student(autograder / "submission", "select")
    results = autograder / "results"
    env = ctx.env(venv, AUTOGRADER_SUBMISSION=str(submission), AUTOGRADER_RESULTS=str(results))
    ran = ctx.run([str(autograder / "run_autograder")], autograder, env)
    exits(ran, 0)
    path = results / "results.json"
    must(path.is_file(), ran, f"no {path}")
    data = json.loads(path.read_text())
    schema = json.loads((GRADESCOPE / "results.schema.json").read_text())
    problems = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]
    must(not problems, ran, f"results.json against results.schema.json: {problems}")
    tests = data.get("tests", [])
    must(len(tests) == len(ctx.ids), ran, f"results.json: one test per requirement, {tests}")
    must(all(t.get("status") == "passed" for t in tests), ran, f"results.json: all pass, {tests}")
    total = sum(r["points"] for r in ctx.requirements)
    full = data.get("score") == total == sum(t["max_score"] for t in tests)
    must(full, ran, f"results.json: score {data.get('score')}, full marks are {total}")
    return f"setup.sh, then run_autograder: {data['score']}/{total}"


# --- the workflows, step by step --------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


@dataclass
class Runner:
    """One job on one runner: its workspace (the checkout), its Python, the run's artifacts."""

    ctx: Context
    workflow: Path
    workspace: Path
    venv: Path
    artifacts: dict[str, Path]
    matrix: dict[str, Any] = field(default_factory=dict)
    ran: list[Ran] = field(default_factory=list)

    def expand(self, value: str) -> str:
        def one(m: re.Match[str]) -> str:
            key = m.group(1).removeprefix("matrix.")
            if m.group(1).startswith("matrix.") and key in self.matrix:
                return str(self.matrix[key])
            what = m.group(0)
            raise StepFailed(f"why: {self.workflow.name}: no stand-in here for {what}")

        return EXPRESSION.sub(one, value)

    def run_job(self, job: dict[str, Any]) -> None:
        for step in job["steps"]:
            if "run" in step:
                self.run_step(step)
            else:
                given = {k: self.expand(str(v)) for k, v in step.get("with", {}).items()}
                self.use(step["uses"], given)

    def run_step(self, step: dict[str, Any]) -> None:
        script = self.expand(step["run"])
        if re.search(r"\bpip install\b", script):
            script = self.local_install(script)
        argv = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
        env = self.ctx.env(self.venv, pip="pip install" in script)
        ran = self.ctx.run(argv, self.workspace, env)
        self.ran.append(ran)
        exits(ran, 0)

    def local_install(self, script: str) -> str:
        """The workflow's install line, with the wheel for the package it names."""
        words = shlex.split(script)
        known = words[:4] == ["python3", "-m", "pip", "install"] and len(words) == 5
        if not known or words[4] not in (PLACEHOLDER, "echo-conformance"):
            raise StepFailed(
                f"why: {self.workflow.name}: an install line this test does not know: {script!r}; "
                f"it knows python3 -m pip install ({PLACEHOLDER} | echo-conformance)"
            )
        return shlex.join([*words[:4], str(self.ctx.wheel)])

    def use(self, action: str, given: dict[str, str]) -> None:
        name = action.split("@")[0]
        if name == "actions/checkout":
            return  # the workspace is the checkout
        if name == "actions/setup-python":
            if not self.venv.exists():  # a fresh Python on a fresh runner
                new_venv(self.ctx, self.venv)
            return
        last = self.ran[-1] if self.ran else None
        if name == "actions/upload-artifact":
            path = self.workspace / given["path"]
            must(path.exists(), last, f"{self.workflow.name}: nothing to upload at {path}")
            self.artifacts[given["name"]] = path
            return
        if name == "actions/download-artifact":
            pattern = given.get("pattern") or given["name"]
            found = sorted(n for n in self.artifacts if fnmatch.fnmatch(n, pattern))
            must(found, last, f"{self.workflow.name}: no artifact {pattern} to download")
            for artifact in found:  # each into a folder named after it
                shutil.copytree(self.artifacts[artifact], self.workspace / artifact)
                self.ctx.own(self.workspace / artifact)
            return
        if name == "mikepenz/action-junit-report":
            for report in given["report_paths"].split(","):
                path = self.workspace / report.strip()
                must(path.is_file(), last, f"{self.workflow.name}: no JUnit report {path}")
                cases = ET.parse(path).getroot().iter("testcase")
                must(any(True for _ in cases), last, f"{path}: no testcase")
            return
        raise StepFailed(f"why: {self.workflow.name}: no stand-in here for the action {action}")


def workflow(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def step_github_classroom(ctx: Context) -> str:
    """The student repository's workflow: install (from the wheel), check server.py (select)."""
    jobs = workflow(CLASSROOM)["jobs"]
    must(list(jobs) == ["check"], None, f"{CLASSROOM.name}: jobs {list(jobs)}, not [check]")
    repo = ctx.student(ctx.home / "classroom" / "student-repo", "select")
    runner = Runner(ctx, CLASSROOM, repo, ctx.home / "classroom" / "python", {})
    runner.run_job(jobs["check"])
    must(len(runner.ran) == 2, None, f"{CLASSROOM.name}: 2 run steps (install, check) expected")
    check = runner.ran[-1]
    report = repo / "report.xml"
    must(report.is_file(), check, f"no {report}")
    cases = list(ET.parse(report).getroot().iter("testcase"))
    bad = [c.get("name") for c in cases if c.find("failure") is not None]
    bad += [c.get("name") for c in cases if c.find("error") is not None]
    must(len(cases) == len(ctx.ids) and not bad, check, f"report.xml: {len(cases)} cases; {bad}")
    return f"install, check: exit 0, report.xml with {len(cases)} passing cases"


def step_ci_matrix(ctx: Context) -> str:
    """The class workflow: each shard on a runner of its own (a checkout of submissions/ each,
    one after the other: they would take turns on port 8080 anyway), then the merge."""
    data = workflow(CI_MATRIX)
    grade, merge = data["jobs"]["grade"], data["jobs"]["merge"]
    shards = grade["strategy"]["matrix"]["shard"]
    ci = ctx.folder(ctx.home / "ci")
    failing = make_class(ctx, ci / "class", ("select", "blocking", "tutorial-select"))
    artifacts: dict[str, Path] = {}
    venv = ci / "python-grade"  # the shards' runners share one Python, installed once
    for k in shards:
        workspace = ctx.folder(ci / f"grade-{k}")
        shutil.copytree(ci / "class", workspace / "submissions")
        ctx.own(workspace)
        Runner(ctx, CI_MATRIX, workspace, venv, artifacts, {"shard": k}).run_job(grade)
    workspace = ctx.folder(ci / "merge")
    runner = Runner(ctx, CI_MATRIX, workspace, ci / "python-merge", artifacts)
    runner.run_job(merge)
    last = runner.ran[-1]
    must(f"{len(failing)} submissions in grades/grades.csv" in last.out, last, "the merge's count")
    merged = read_csv(workspace / "grades" / "grades.csv")
    same_table(merged, ctx.grades(failing), last, "grades.csv")
    must("grades" in artifacts, last, "the merged grades.csv was not uploaded")
    return f"{len(shards)} shards merged: grades.csv as expected"


def step_leftovers(ctx: Context) -> str:
    """No process of the user's is left in our folders (a server that outlived its check)."""
    left = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if proc.stat().st_uid != ctx.who.uid:
                continue
            cwd = Path(os.readlink(proc / "cwd"))
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone, or not ours to read
        if cwd == ctx.base or ctx.base in cwd.parents:
            left.append((int(proc.name), cwd, command))
    for pid, _, _ in left:  # started by this run: end them
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    shown = "\n".join(f"  pid {pid} in {cwd}: {command}" for pid, cwd, command in left)
    must(not left, None, f"processes of the run were still running (now killed):\n{shown}")
    return "none"


STEPS: list[tuple[str, Callable[[Context], str]]] = [
    ("fixed-port-pair", step_fixed_port_pair),  # the lock's turns are the longest path: first
    ("the-rest", step_the_rest),
    ("check-registered", step_check_registered),
    ("ci-matrix", step_ci_matrix),
    ("gradescope", step_gradescope),
    ("github-classroom", step_github_classroom),
    ("grade", step_grade),
    ("check-select", step_check_select),
    ("pytest-plugin", step_pytest_plugin),
    ("version", step_version),
]


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    ok: bool
    seconds: float
    text: str


def attempt(name: str, body: Callable[[], str]) -> Outcome:
    say(f"start  {name}")
    began = time.monotonic()
    try:
        text, ok = body(), True
    except Skip:
        raise
    except StepFailed as exc:
        text, ok = str(exc), False
    except Exception as exc:  # a bug here, or a report that does not parse: still a failure
        text, ok = f"why: {type(exc).__name__}: {exc}", False
    took = time.monotonic() - began
    if ok:
        say(f"ok     {name} ({took:.1f} s): {text}")
    else:
        with print_lock:
            print(f"\n---- FAILED: {name} ({took:.1f} s) ----\n{text}\n", flush=True)
    return Outcome(name, ok, took, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", help="the wheel to check (default: $TOX_PACKAGE, else built)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    try:
        who = account()
        base = make_base(who)
    except StepFailed as exc:
        print(f"check_wheel: {exc}", file=sys.stderr)
        return 1
    outcomes: list[Outcome] = []
    skipped = ""
    tmp = base / "tmp"  # like /tmp: everyone's, sticky
    ctx = Context(who, base, base / "home", tmp, Path(), "")
    try:
        tmp.mkdir()
        tmp.chmod(0o1777)
        if who.dropped:
            # What a root run without namespaces may leave in /tmp: the port lock must not
            # depend on a file that another user owns.
            (tmp / f"echo-conformance-port-{FIXED_PORT}.lock").touch(0o644)
        ctx.folder(ctx.home)
        say(f"steps run as {who.name}, in {base}")

        def get_wheel() -> str:
            dist = base / "dist"
            dist.mkdir()
            wheel = find_wheel(args.wheel, dist)
            ctx.wheel = wheel if wheel.parent == dist else Path(shutil.copy(wheel, dist))
            ctx.wheel.chmod(0o644)
            ctx.version = check_wheel(ctx.wheel)
            return f"{ctx.wheel.name} (from {wheel.parent})"

        setup = attempt("wheel", get_wheel)
        outcomes.append(setup)
        if setup.ok:
            setup = attempt("install", lambda: install(ctx))
            outcomes.append(setup)
        if setup.ok:
            with ThreadPoolExecutor(len(STEPS)) as pool:
                futures = [pool.submit(attempt, n, partial(f, ctx)) for n, f in STEPS]
                outcomes += [f.result() for f in futures]
            outcomes.append(attempt("leftovers", lambda: step_leftovers(ctx)))
    except Skip as exc:
        skipped = str(exc)
    finally:
        failed = [o for o in outcomes if not o.ok]
        if args.keep or failed:
            say(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    if skipped:
        print(f"check_wheel: SKIPPED, nothing checked: {skipped}", flush=True)
        return 0
    print(f"\n{'step':<18} {'result':<7} seconds")
    for o in outcomes:
        print(f"{o.name:<18} {'ok' if o.ok else 'FAILED':<7} {o.seconds:7.1f}")
    print(
        f"\n{len(outcomes) - len(failed)} ok, {len(failed)} failed, as {who.name}, "
        f"in {time.monotonic() - started_at:.1f} s"
    )
    if failed:
        print(f"failed: {', '.join(o.name for o in failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
