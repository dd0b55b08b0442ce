"""The pytest plugin: one test per (implementation, requirement), generated from the spec.

Installed, it is registered with pytest (the `pytest11` entry point `conformance.plugin`) and stays
inert until asked: its options all start with `--echo-`, and it collects nothing unless a server
is named (`--echo-server "CMD {port}"`, `--echo-impl`) or the spec file is among the paths pytest
collects.  `pytest --echo-server "python3 server.py {port}"` in any folder checks that server
against the bundled spec; `pytest spec/echo.toml` in a clone runs the registered matrix.

The spec file is collected as a test file: one node per implementation, one test per requirement
(`spec/echo.toml::select::upper`).  Declared expected failures become strict xfails that only a
NonConformance satisfies, so a runner error is never mistaken for one.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from conformance.driver.platforms import require_linux
from conformance.driver.sandbox import FALLBACK_NOTE, isolation
from conformance.driver.view import shared_folders
from conformance.impls import Implementation, adhoc, find_impl, registry
from conformance.outcome import NonConformance, NotJudged, RunnerError, UsageError
from conformance.profiles import PROFILES, get_profile
from conformance.runner import Options, evaluate
from conformance.spec import DEFAULT_SPEC, Requirement, Spec, SpecError, load_spec

RESULT_KEY = "echo-conformance"  # user_properties key of an item's result (crosses xdist)


def pytest_addoption(parser: pytest.Parser) -> None:
    # Every option under one prefix: the plugin is loaded into every pytest run of the
    # environment it is installed in, and must not clash with other plugins' --spec or --profile.
    group = parser.getgroup("echo-conformance", "uppercase-echo conformance")
    group.addoption(
        "--echo-server",
        metavar="COMMAND",
        help='check this server command, e.g. "python3 server.py {port}" ({port}, {host} '
        "substituted; also in its environment as PORT and HOST)",
    )
    group.addoption(
        "--echo-fixed-port",
        type=int,
        metavar="N",
        help="with --echo-server: the server always listens on N and takes no port",
    )
    group.addoption(
        "--echo-impl",
        action="append",
        default=[],
        metavar="NAME_OR_PATH",
        help="implementation to check: a registered name or a folder with impl.toml "
        "(repeatable; default: every registered implementation of the spec)",
    )
    group.addoption(
        "--echo-spec",
        metavar="PATH",
        default=str(DEFAULT_SPEC),
        help="protocol spec (TOML; default: the bundled echo.toml)",
    )
    group.addoption(
        "--echo-only",
        action="append",
        default=[],
        metavar="ID",
        help="check only this requirement (repeatable)",
    )
    group.addoption(
        "--echo-require",
        action="append",
        default=[],
        metavar="ID",
        help="treat this SHOULD requirement as required (repeatable)",
    )
    group.addoption(
        "--echo-share",
        action="append",
        default=[],
        metavar="PATH",
        help="a folder the server also sees, read-only, in its sandbox (a course's shared "
        "files; repeatable)",
    )
    group.addoption("--echo-profile", choices=sorted(PROFILES), help="Hypothesis profile")
    group.addoption(
        "--echo-seed", type=int, help="vary the generated cases (default: derandomized)"
    )
    group.addoption(
        "--echo-reply-timeout", type=float, metavar="S", help="override the spec's reply timeout"
    )


class Config:
    """What the options select, resolved once per process."""

    def __init__(self, config: pytest.Config) -> None:
        opt = config.getoption
        self.spec: Spec = load_spec(opt("--echo-spec"))
        self.options = Options(
            profile=get_profile(opt("--echo-profile")),
            seed=opt("--echo-seed"),
            reply_timeout=opt("--echo-reply-timeout"),
            shared=shared_folders(opt("--echo-share")),
        )
        self.required = set(opt("--echo-require"))
        self.only = set(opt("--echo-only"))
        for rid in self.required | self.only:
            self.spec.requirement(rid)  # KeyError names the known ids
        self.server: str | None = opt("--echo-server")
        self.fixed_port: int | None = opt("--echo-fixed-port")
        self.impls = self._impls(opt("--echo-impl"), self.server, self.fixed_port)

    def _impls(
        self, names: list[str], command: str | None, port: int | None
    ) -> list[Implementation]:
        if command:
            impls = [adhoc(shlex.split(command), port)]
        elif names:
            impls = [find_impl(n) for n in names]
        else:
            impls = [i for i in registry().values() if _same_spec(i, self.spec)]
        for impl in impls:
            impl.validate(self.spec)
        return impls

    def requirements(self) -> list[Requirement]:
        return [r for r in self.spec.requirements if not self.only or r.id in self.only]

    def is_required(self, req: Requirement) -> bool:
        return req.is_required(self.required)


def _same_spec(impl: Implementation, spec: Spec) -> bool:
    return impl.spec_name == spec.path.name


def _named(config: pytest.Config) -> bool:
    """Is a server to check named on the command line?"""
    opt = config.getoption
    return bool(opt("--echo-server") or opt("--echo-impl"))


def _collects(config: pytest.Config, spec: Path) -> bool:
    """Is the spec file among, or under, the paths pytest was given (or its testpaths)?"""
    for arg in config.args:
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path == spec or path in spec.parents:
            return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    spec = Path(config.getoption("--echo-spec")).resolve()
    named, collected = _named(config), _collects(config, spec)
    if not (named or collected):
        return  # not asked for: this is someone else's test run
    try:
        require_linux()
        config._echo_conformance = Config(config)  # type: ignore[attr-defined]
    except (SpecError, UsageError) as exc:
        raise pytest.UsageError(str(exc)) from None
    except KeyError as exc:
        raise pytest.UsageError(str(exc.args[0])) from None
    if named and config.args_source != pytest.Config.ArgsSource.ARGS:
        # No paths given (a student's folder): check the server, not the folder's other tests.
        config.args[:] = [str(spec)]
    elif named and not collected:
        config.args.append(str(spec))


def _ours(config: pytest.Config) -> Config | None:
    return getattr(config, "_echo_conformance", None)


def pytest_report_header(config: pytest.Config) -> str | None:
    if _ours(config) is None:
        return None
    available, why = isolation()
    return None if available else f"echo-conformance: {FALLBACK_NOTE.format(why=why)}"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.File | None:
    cfg = _ours(parent.config)
    if cfg is None or file_path.suffix != ".toml":
        return None
    if file_path.resolve() != cfg.spec.path.resolve():
        return None
    if parent.config.rootpath in file_path.parents:
        return SpecFile.from_parent(parent, path=file_path)
    # The bundled spec, outside the folder pytest runs in: ids read `echo.toml::server::upper`.
    return SpecFile.from_parent(parent, path=file_path, nodeid=file_path.name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow checks first (a stable sort: other tests keep their order and their place), each
    paired with a quick one: pytest-xdist hands each worker two tests at the start, and the
    second waits for the first to end, so the one behind each long check (persist, idle for
    seconds) must be short, and no worker may get two long ones."""
    cfg = _ours(config)
    ours = [i for i, item in enumerate(items) if isinstance(item, RequirementItem)]
    if cfg is None or not ours:
        return
    profile = cfg.options.profile
    ordered = sorted(
        (items[i] for i in ours),
        key=lambda item: -item.req.cost(profile),  # type: ignore[attr-defined]
    )
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    for i, item in zip(ours, paired(ordered, workers)):
        items[i] = item


T = TypeVar("T")


def paired(ordered: list[T], workers: int) -> list[T]:
    """Of `ordered`, longest first: the first `workers` pairs of (a long one, a short one),
    then the rest, longest first."""
    pairs = min(workers, len(ordered) // 2)
    head = [x for i in range(pairs) for x in (ordered[i], ordered[-1 - i])]
    return head + ordered[pairs : len(ordered) - pairs]


class SpecFile(pytest.File):
    def collect(self) -> Iterator[pytest.Collector]:
        cfg: Config = self.config._echo_conformance  # type: ignore[attr-defined]
        for impl in cfg.impls:
            yield ImplNode.from_parent(self, name=impl.name, impl=impl)


class ImplNode(pytest.Collector):
    def __init__(self, *, impl: Implementation, **kw: Any) -> None:
        super().__init__(**kw)
        self.impl = impl

    def collect(self) -> Iterator[pytest.Item]:
        cfg: Config = self.config._echo_conformance  # type: ignore[attr-defined]
        for req in cfg.requirements():
            if self.impl.only and req.id not in self.impl.only:
                continue
            item = RequirementItem.from_parent(self, name=req.id, impl=self.impl, req=req)
            reason = self.impl.expected_failures.get(req.id)
            if reason is not None:
                item.add_marker(
                    pytest.mark.xfail(reason=reason, strict=True, raises=NonConformance)
                )
            yield item


class RequirementItem(pytest.Item):
    def __init__(self, *, impl: Implementation, req: Requirement, **kw: Any) -> None:
        super().__init__(**kw)
        self.impl = impl
        self.req = req

    def runtest(self) -> None:
        cfg: Config = self.config._echo_conformance  # type: ignore[attr-defined]
        result = evaluate(cfg.spec, self.req, self.impl, cfg.options)
        entry = {
            "outcome": result.outcome,
            "summary": result.summary,
            "evidence": result.evidence,
            "details": result.details,
            "impl": self.impl.name,
            "requirement": self.req.id,
            "required": cfg.is_required(self.req),
            "expected": "fail" if self.req.id in self.impl.expected_failures else "pass",
        }
        self.user_properties.append((RESULT_KEY, json.dumps(entry)))
        if result.raised is not None:
            raise result.raised  # pytest's verdict: a strict xfail takes only NonConformance

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        exc = excinfo.value
        if isinstance(exc, NonConformance):
            verb = "" if isinstance(exc, NotJudged) else " violated:"
            return explain(self.req, verb, exc.summary, exc.evidence, self.replay_hint())
        if isinstance(exc, RunnerError):
            return f"error (not the server's fault): {exc}"
        return str(super().repr_failure(excinfo))

    def replay_hint(self) -> str:
        """Options, not the node id: they work from any folder, whatever the spec's path."""
        cfg: Config = self.config._echo_conformance  # type: ignore[attr-defined]
        words = ["pytest"]
        if cfg.spec.path.resolve() != DEFAULT_SPEC.resolve():
            words += ["--echo-spec", str(cfg.spec.path)]
        if cfg.server is not None:
            words += ["--echo-server", cfg.server]
            if cfg.fixed_port is not None:
                words += ["--echo-fixed-port", str(cfg.fixed_port)]
        elif self.impl.manifest is not None:
            words += ["--echo-impl", str(self.impl.manifest.parent)]
        else:
            return f"replay: pytest '{self.nodeid}'"
        return "replay: " + shlex.join([*words, "--echo-only", self.req.id])

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.impl.name}: {self.req.id} ({self.req.level})"


def explain(req: Requirement, verb: str, summary: str, evidence: str, replay: str) -> str:
    """A failure, for a person: which requirement, what it says, what happened, how to replay."""
    return "\n".join(
        [
            f"{req.id} ({req.level}){verb} {summary}",
            f"requirement: {req.text}",
            evidence,
            replay,
        ]
    )
