"""Settings a folder keeps for `echo-conformance check`: a course hands students a repository in
which `echo-conformance check` alone checks the right server the right way.

```toml
# pyproject.toml                        # or echo-conformance.toml, without the table header
[tool.echo-conformance]
command = "python3 server.py {port}"    # run in this file's folder
fixed-port = 8080                       # instead of {port}: a server that always uses 8080
spec = "my-protocol.toml"               # relative to this file (default: the bundled echo.toml)
profile = "quick"
```

The nearest folder (the current one, then its parents) with either file wins; the command line
overrides it key by key, and $ECHO_CONFORMANCE_PROFILE overrides its profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.outcome import UsageError
from conformance.profiles import PROFILES
from conformance.spec import TableReader, read_toml

FILE = "echo-conformance.toml"
TABLE = ("tool", "echo-conformance")
KEYS = ("command", "fixed-port", "spec", "profile")


class SettingsReader(TableReader):
    error = UsageError


@dataclass(frozen=True)
class Settings:
    source: str  # the file, and the table in it, for messages
    folder: Path  # the command runs here; the spec is found from here
    command: str | list[str] | None = None
    fixed_port: int | None = None
    spec: Path | None = None
    profile: str | None = None


def find_settings(start: Path) -> Settings | None:
    for folder in (start, *start.parents):
        own = folder / FILE
        if own.is_file():
            return _read(own, read_toml(own, UsageError), "")
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = read_toml(pyproject, UsageError)
            if isinstance(table.get(TABLE[0]), dict) and TABLE[1] in table[TABLE[0]]:
                return _read(pyproject, table[TABLE[0]][TABLE[1]], ".".join(TABLE))
    return None


def _read(path: Path, table: object, where: str) -> Settings:
    r = SettingsReader(path, table, where)
    r.no_extra(KEYS)
    command = r.get("command", (str, list), None)
    if isinstance(command, list) and not (command and all(isinstance(a, str) for a in command)):
        r.fail(r.key("command"), "must be a string or a non-empty array of strings")
    port = r.get("fixed-port", int, None)
    if port is not None and not 0 < port < 65536:
        r.fail(r.key("fixed-port"), f"must be a TCP port 1..65535, got {port}")
    profile = r.choice("profile", tuple(PROFILES)) if "profile" in r.table else None
    spec = r.get("spec", str, None)
    return Settings(
        source=f"{path} [{where}]" if where else str(path),
        folder=path.parent,
        command=command,
        fixed_port=port,
        spec=path.parent / spec if spec is not None else None,
        profile=profile,
    )
