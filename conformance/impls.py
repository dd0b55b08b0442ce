"""Implementations: a folder with an impl.toml manifest, and the registry of them under impls/.

```toml
name = "select"
description = "..."
spec = "echo.toml"                             # the spec in spec/ it implements (the default)
command = "{python} server.py {port} {host}"   # PORT and HOST are in its environment too
# port = 8080                                  # for a server that always listens on 8080
[expected_failures]                            # requirement id = why (strict)
idle-cpu = "busy polling"
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from conformance.bundled import IMPLS_DIR
from conformance.driver.target import Target
from conformance.outcome import UsageError
from conformance.spec import Spec, TableReader, read_toml

MANIFEST = "impl.toml"


class ManifestReader(TableReader):
    error = UsageError


@dataclass(frozen=True)
class Implementation:
    name: str
    description: str
    target: Target
    manifest: Path | None = None
    expected_failures: dict[str, str] = field(default_factory=dict)
    spec_name: str = "echo.toml"  # the spec (a file in spec/) it implements
    only: tuple[str, ...] = ()  # check only these requirements (empty: all)

    def validate(self, spec: Spec) -> None:
        """Expectations must name requirements of the spec being run."""
        for rid in self.expected_failures:
            if rid not in spec.ids:
                where = self.manifest or self.name
                raise UsageError(
                    f"{where}: expected_failures.{rid}: no such requirement in "
                    f"{spec.path.name} (known: {', '.join(spec.ids)})"
                )


def load_impl(path: str | Path) -> Implementation:
    path = Path(path)
    manifest = path / MANIFEST if path.is_dir() else path
    r = ManifestReader(manifest, read_toml(manifest, UsageError), "")
    r.no_extra(("name", "description", "spec", "command", "port", "host", "expected_failures"))
    port = r.get("port", int, None)
    if port is not None and not 0 < port < 65536:
        r.fail("port", f"must be a TCP port 1..65535, got {port}")
    command = r.get("command", (str, list))
    if isinstance(command, list) and not all(isinstance(a, str) for a in command):
        r.fail("command", "must be a string or an array of strings")
    name = r.get("name", str, manifest.parent.name)
    fails = ManifestReader(manifest, r.get("expected_failures", dict, {}), "expected_failures")
    reasons = {rid: fails.get(rid, str) for rid in fails.table}
    target = Target.from_command(
        name, command, cwd=manifest.parent, fixed_port=port, host=r.get("host", str, "127.0.0.1")
    )
    return Implementation(
        name,
        r.get("description", str, ""),
        target,
        manifest,
        reasons,
        r.get("spec", str, "echo.toml"),
    )


def registry(root: Path = IMPLS_DIR) -> dict[str, Implementation]:
    """Every implementation under `root`, by name."""
    found: dict[str, Implementation] = {}
    for manifest in sorted(root.glob(f"*/{MANIFEST}")):
        impl = load_impl(manifest)
        if impl.name in found:
            raise UsageError(f"{manifest}: name {impl.name!r} is already used by another impl")
        found[impl.name] = impl
    return found


def find_impl(name_or_path: str, root: Path = IMPLS_DIR) -> Implementation:
    path = Path(name_or_path)
    if path.exists():
        return load_impl(path)
    known = registry(root)
    if name_or_path in known:
        return known[name_or_path]
    raise UsageError(
        f"no implementation {name_or_path!r}: not a folder with {MANIFEST} nor a registered "
        f"name (registered: {', '.join(known) or 'none'})"
    )


def adhoc(
    command: str | list[str], fixed_port: int | None = None, name: str = ""
) -> Implementation:
    """An implementation given on the command line, with no expectations."""
    target = Target.from_command(name or "server", command, fixed_port=fixed_port)
    return Implementation(target.name, "given on the command line", target)
