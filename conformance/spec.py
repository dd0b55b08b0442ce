"""Load and validate a protocol spec (spec/*.toml): data in, frozen dataclasses out.

A malformed spec is refused with a SpecError naming the file, the key and what is wrong.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.bundled import SPEC_DIR
from conformance.catalog import checks
from conformance.profiles import Profile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "DEFAULT_SPEC",
    "ByteRange",
    "Limits",
    "Requirement",
    "Spec",
    "SpecError",
    "Timeouts",
    "load_spec",
    "read_toml",
]

DEFAULT_SPEC = SPEC_DIR / "echo.toml"

LEVELS = ("MUST", "SHOULD")
HALF_CLOSE_BEHAVIOURS = ("flush-then-close",)
RESET_BEHAVIOURS = ("drop-connection",)

TIMEOUTS = ("startup", "connect", "reply", "close", "stall", "settle", "grace")


class SpecError(Exception):
    """The spec file is malformed; the message names the file and key."""


@dataclass(frozen=True)
class ByteRange:
    first: int
    last: int
    offset: int


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    points: int
    title: str
    text: str
    check: str
    params: dict[str, Any] = field(default_factory=dict)

    def is_required(self, also: Collection[str] = ()) -> bool:
        """A MUST, or a SHOULD this run treats as required (`also`: --require)."""
        return self.level == "MUST" or self.id in also

    def scaled_wait(self, profile: Profile) -> float:
        """Seconds its check waits on purpose with `profile`: the check's `scaled_wait`
        parameter (catalog) scaled by the profile (quick looks shorter, thorough longer); 0 for
        a check without one."""
        name = checks()[self.check].scaled_wait
        return 0.0 if name is None else float(self.params[name]) * profile.idle_scale

    def cost(self, profile: Profile) -> float:
        """Rough seconds its check takes on a correct server with `profile` (for scheduling)."""
        return checks()[self.check].cost + self.scaled_wait(profile)


@dataclass(frozen=True)
class Timeouts:
    startup: float
    connect: float
    reply: float
    close: float
    stall: float
    settle: float
    grace: float


@dataclass(frozen=True)
class Limits:
    """What the server under test may use (the sandbox enforces them)."""

    nofile: int = 512  # descriptors (RLIMIT_NOFILE)
    address_space_mib: int = 8192  # virtual memory (RLIMIT_AS; a thread stack is 8 MiB)
    cpu_seconds: int = 600  # CPU time of each process (RLIMIT_CPU)
    processes: int = 1024  # processes and threads at once (a pids cgroup, where there is one)
    memory_mib: int = 1024  # memory in use (a memory cgroup, where there is one)
    file_size_mib: int = 64  # largest file it may write (RLIMIT_FSIZE)
    output_kib: int = 1024  # stdout and stderr each kept up to this; the rest is dropped


@dataclass(frozen=True)
class Spec:
    path: Path
    name: str
    version: str
    title: str
    summary: str
    transform: tuple[ByteRange, ...]
    on_client_half_close: str
    server_may_close_first: bool
    on_client_reset: str
    timeouts: Timeouts
    limits: Limits
    requirements: tuple[Requirement, ...]

    def requirement(self, rid: str) -> Requirement:
        for req in self.requirements:
            if req.id == rid:
                return req
        known = ", ".join(r.id for r in self.requirements)
        raise KeyError(f"no requirement {rid!r} in {self.path.name} (known: {known})")

    def checked_by(self, check: str) -> str | None:
        """The id of the requirement that the check procedure `check` judges, if any."""
        return next((r.id for r in self.requirements if r.check == check), None)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.requirements)


class TableReader:
    """Typed access to a TOML table that reports errors as `file: key: problem`."""

    error: type[Exception] = SpecError

    def __init__(self, path: Path, table: Any, where: str) -> None:
        self.path = path
        self.where = where
        if not isinstance(table, dict):
            self.fail(where or "(top level)", f"must be a table, got {_kind(table)}")
        self.table: dict[str, Any] = table

    def fail(self, key: str, problem: str) -> None:
        raise self.error(f"{self.path}: {key}: {problem}")

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if name not in self.table:
            if default is ...:
                self.fail(self.key(name), "missing")
            return default
        value = self.table[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int in Python, never in a spec; an int is a fine float.
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            names = " or ".join(k.__name__ for k in kinds)
            self.fail(self.key(name), f"must be {names}, got {_kind(value)} {value!r}")
        return value

    def sub(self, name: str) -> TableReader:
        return type(self)(self.path, self.get(name, dict), self.key(name))

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value: str = self.get(name, str)
        if value not in allowed:
            self.fail(self.key(name), f"must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def no_extra(self, allowed: tuple[str, ...] | dict[str, Any]) -> None:
        for name in self.table:
            if name not in allowed:
                self.fail(self.key(name), f"unknown key (known: {', '.join(allowed)})")


def _kind(value: Any) -> str:
    names: dict[type, str] = {dict: "a table", list: "an array"}
    return names.get(type(value), type(value).__name__)


def read_toml(path: Path, error: type[Exception]) -> Any:
    """Parse a TOML file, or raise `error` with one line that names the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text: {exc.reason}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None


def load_spec(path: str | Path = DEFAULT_SPEC) -> Spec:
    path = Path(path)
    top = TableReader(path, read_toml(path, SpecError), "")
    top.no_extra(("protocol", "timeouts", "limits", "requirement"))
    proto = top.sub("protocol")
    proto.no_extra(("name", "version", "title", "summary", "transform", "end_of_stream", "reset"))
    eos = proto.sub("end_of_stream")
    eos.no_extra(("on_client_half_close", "server_may_close_first"))
    reset = proto.sub("reset")
    reset.no_extra(("on_client_reset",))
    times = top.sub("timeouts")
    times.no_extra(TIMEOUTS)
    limits = top.sub("limits")
    limits.no_extra(tuple(Limits.__dataclass_fields__))
    timeouts = Timeouts(**{name: _positive(times, name, float) for name in TIMEOUTS})
    return Spec(
        path=path,
        name=proto.get("name", str),
        version=proto.get("version", str),
        title=proto.get("title", str),
        summary=proto.get("summary", str, ""),
        transform=_transform(proto),
        on_client_half_close=eos.choice("on_client_half_close", HALF_CLOSE_BEHAVIOURS),
        server_may_close_first=eos.get("server_may_close_first", bool),
        on_client_reset=reset.choice("on_client_reset", RESET_BEHAVIOURS),
        timeouts=timeouts,
        limits=Limits(
            **{
                name: _positive(limits, name, int)
                for name in Limits.__dataclass_fields__
                if name in limits.table
            }
        ),
        requirements=_requirements(top),
    )


def _positive(reader: TableReader, name: str, kind: type, default: Any = ...) -> Any:
    value = reader.get(name, kind, default)
    if value <= 0:
        reader.fail(reader.key(name), f"must be > 0, got {value}")
    return value


def _transform(proto: TableReader) -> tuple[ByteRange, ...]:
    ranges = proto.get("transform", list, [])
    out: list[ByteRange] = []
    for i, table in enumerate(ranges):
        r = TableReader(proto.path, table, f"protocol.transform[{i}]")
        r.no_extra(("first", "last", "offset"))
        first, last, offset = r.get("first", int), r.get("last", int), r.get("offset", int)
        if not 0 <= first <= last <= 255:
            r.fail(r.where, f"needs 0 <= first <= last <= 255, got first={first} last={last}")
        if not (first + offset >= 0 and last + offset <= 255):
            r.fail(r.key("offset"), f"maps bytes {first}..{last} outside 0..255")
        for prev in out:
            if first <= prev.last and prev.first <= last:
                r.fail(r.where, f"overlaps the range {prev.first}..{prev.last}")
        out.append(ByteRange(first, last, offset))
    return tuple(out)


def _requirements(top: TableReader) -> tuple[Requirement, ...]:
    tables = top.get("requirement", list)
    if not tables:
        top.fail("requirement", "must list at least one requirement")
    out: list[Requirement] = []
    for i, table in enumerate(tables):
        r = TableReader(top.path, table, f"requirement[{i}]")
        r.no_extra(("id", "level", "points", "title", "text", "check", "params"))
        rid = r.get("id", str)
        if not rid or not all(c.isalnum() or c == "-" for c in rid):
            r.fail(r.key("id"), f"must be letters, digits and '-', got {rid!r}")
        if any(prev.id == rid for prev in out):
            r.fail(r.key("id"), f"duplicate id {rid!r}")
        check = r.choice("check", tuple(checks()))
        params = _params(r, check)
        points = r.get("points", int)
        if points < 0:
            r.fail(r.key("points"), f"must be >= 0, got {points}")
        out.append(
            Requirement(
                id=rid,
                level=r.choice("level", LEVELS),
                points=points,
                title=r.get("title", str),
                text=" ".join(r.get("text", str).split()),
                check=check,
                params=params,
            )
        )
    return tuple(out)


def _params(req: TableReader, check: str) -> dict[str, Any]:
    """The check's parameters (catalog): those the spec gives, else their defaults."""
    schema = checks()[check].params
    p = TableReader(req.path, req.get("params", dict, {}), req.key("params"))
    p.no_extra(dict(schema))
    return {name: _positive(p, name, param.kind, param.default) for name, param in schema.items()}
