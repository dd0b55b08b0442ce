"""The pytest plugin: one test per (implementation, requirement), generated from the spec.

`pytest spec/echo.toml` collects the spec file as a test file: one node per implementation, one
test per requirement (`spec/echo.toml::select::upper`).  Declared expected failures become strict
xfails that only a NonConformance satisfies, so a runner error is never mistaken for one.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.impls import Implementation, adhoc, find_impl, registry
from conformance.outcome import NonConformance, RunnerError, UsageError
from conformance.profiles import PROFILES, get_profile
from conformance.runner import Options, check_requirement
from conformance.sandbox import FALLBACK_NOTE, isolation
from conformance.spec import DEFAULT_SPEC, Requirement, Spec, SpecError, load_spec

RESULT_KEY = "echo-conformance"  # user_properties key of an item's result (crosses xdist)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("echo-conformance", "uppercase-echo conformance")
    group.addoption("--spec", default=str(DEFAULT_SPEC), help="protocol spec (TOML)")
    group.addoption(
        "--impl",
        action="append",
        default=[],
        help="implementation to check: a registered name or a folder with impl.toml "
        "(repeatable; default: every registered implementation)",
    )
    group.addoption(
        "--impl-cmd", help="check this server command instead ({port}, {host} substituted)"
    )
    group.addoption(
        "--impl-json",
        metavar="FILE",
        help="check the implementations listed in this JSON file (written by `grade`)",
    )
    group.addoption(
        "--fixed-port", type=int, help="with --impl-cmd: the server always listens on this port"
    )
    group.addoption(
        "--require",
        action="append",
        default=[],
        metavar="ID",
        help="treat this SHOULD requirement as required (repeatable)",
    )
    group.addoption(
        "--only",
        action="append",
        default=[],
        metavar="ID",
        help="check only this requirement (repeatable)",
    )
    group.addoption("--profile", choices=sorted(PROFILES), help="Hypothesis profile")
    group.addoption("--seed", type=int, help="vary the generated cases (default: derandomized)")
    group.addoption("--reply-timeout", type=float, help="override the spec's reply timeout (s)")


class Config:
    """What the options select, resolved once per process."""

    def __init__(self, config: pytest.Config) -> None:
        opt = config.getoption
        self.spec: Spec = load_spec(opt("--spec"))
        self.options = Options(
            profile=get_profile(opt("--profile")),
            seed=opt("--seed"),
            reply_timeout=opt("--reply-timeout"),
        )
        self.required = set(opt("--require"))
        self.only = set(opt("--only"))
        for rid in self.required | self.only:
            self.spec.requirement(rid)  # KeyError names the known ids
        self.impls = self._impls(
            opt("--impl"), opt("--impl-cmd"), opt("--fixed-port"), opt("--impl-json")
        )

    def _impls(
        self, names: list[str], command: str | None, port: int | None, listed: str | None
    ) -> list[Implementation]:
        if listed:
            with open(listed, encoding="utf-8") as f:
                impls = [Implementation.from_json(data) for data in json.load(f)]
        elif command:
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
        return req.level == "MUST" or req.id in self.required


def _same_spec(impl: Implementation, spec: Spec) -> bool:
    return impl.spec_name == spec.path.name


def pytest_configure(config: pytest.Config) -> None:
    try:
        config._echo_conformance = Config(config)  # type: ignore[attr-defined]
    except (SpecError, UsageError) as exc:
        raise pytest.UsageError(str(exc)) from None
    except KeyError as exc:
        raise pytest.UsageError(str(exc.args[0])) from None


def pytest_report_header(config: pytest.Config) -> str | None:
    available, why = isolation()
    return None if available else f"echo-conformance: {FALLBACK_NOTE.format(why=why)}"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.File | None:
    cfg: Config = parent.config._echo_conformance  # type: ignore[attr-defined]
    if file_path.suffix == ".toml" and file_path.resolve() == cfg.spec.path.resolve():
        return SpecFile.from_parent(parent, path=file_path)
    return None


# Rough seconds each check takes on a correct server: the slow ones start first, so that with
# parallel workers no long check is left to run alone at the end.  (Kept here, not in checks.py:
# collecting need not import Hypothesis, and a parallel run starts no test before every worker
# has collected.)
COST = {
    "concurrent": 1.7,
    "survive-reset": 1.3,
    "persist": 1.3,
    "idle-cpu": 1.0,
    "stream": 1.0,
    "capacity": 0.9,
    "close-on-eof": 0.8,
    "many-connections": 0.4,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow checks first (a stable sort: other tests keep their order and their place)."""
    ours = [i for i, item in enumerate(items) if isinstance(item, RequirementItem)]
    ordered = sorted(
        (items[i] for i in ours),
        key=lambda item: -COST.get(item.req.check, 0.5),  # type: ignore[attr-defined]
    )
    for i, item in zip(ours, ordered):
        items[i] = item


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
        result: dict[str, Any] = {"outcome": "pass", "summary": "", "evidence": "", "details": {}}
        try:
            check_requirement(cfg.spec, self.req, self.impl, cfg.options)
        except NonConformance as exc:
            result.update(
                outcome="fail", summary=exc.summary, evidence=exc.evidence, details=exc.details
            )
            raise
        except Exception as exc:
            result.update(outcome="error", summary=f"the check could not run: {exc}")
            raise
        finally:
            result.update(
                impl=self.impl.name,
                requirement=self.req.id,
                required=cfg.is_required(self.req),
                expected="fail" if self.req.id in self.impl.expected_failures else "pass",
            )
            self.user_properties.append((RESULT_KEY, json.dumps(result)))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        exc = excinfo.value
        if isinstance(exc, NonConformance):
            return explain(self.req, exc.summary, exc.evidence, self.replay_hint())
        if isinstance(exc, RunnerError):
            return f"error (not the server's fault): {exc}"
        return str(super().repr_failure(excinfo))

    def replay_hint(self) -> str:
        return f"replay: pytest '{self.nodeid}'"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.impl.name}: {self.req.id} ({self.req.level})"


def explain(req: Requirement, summary: str, evidence: str, replay: str) -> str:
    """A failure, for a person: which requirement, what it says, what happened, how to replay."""
    return "\n".join(
        [
            f"{req.id} ({req.level}) violated: {summary}",
            f"requirement: {req.text}",
            evidence,
            replay,
        ]
    )
