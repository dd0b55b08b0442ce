"""The command that checks one requirement of a server again, as a report prints it under each
failure: `{id}` marks where the requirement goes (Report.replay_command fills it in)."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.driver.target import Target
from conformance.spec import DEFAULT_SPEC, Spec


def replay_template(
    spec: Spec,
    target: Target,
    *,
    folder: Path | None = None,
    shared: Sequence[str] = (),
    options: Sequence[str] = (),
    within: Path | None = None,
) -> str:
    """`echo-conformance check --only {id}` with what made the verdict (a spec of its own, the
    folders shared with the server, `options` such as the profile), then the server: a
    registered implementation by its `folder`, else its command, its paths relative to `within`
    (a student's folder, where they run it)."""
    words = ["echo-conformance", "check", "--only", "{id}"]
    if spec.path.resolve() != DEFAULT_SPEC.resolve():
        words += ["--spec", str(spec.path)]
    for path in shared:
        words += ["--share", path]
    words += options
    if folder is not None:
        return _join([*words, str(folder)])
    if target.fixed_port is not None:
        words += ["--fixed-port", str(target.fixed_port)]
    argv = list(target.argv)
    if within is not None:
        argv = [a.replace(f"{within}/", "").replace(str(within), ".") for a in argv]
    return _join(words) + " -- " + _join(argv).replace(sys.executable, "python3")


def _join(words: Sequence[str]) -> str:
    """Quoted for a shell, but for the placeholders ({id}, {port}, ...) that stand as they are."""
    return " ".join(w if "{" in w else shlex.quote(w) for w in words)
