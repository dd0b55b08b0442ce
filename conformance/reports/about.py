"""What ran a verdict: the suite's version, the spec, the Python and the isolation mode.

Every report carries it (JSON `suite`, JUnit properties, the HTML header, grades.csv's last column,
Gradescope's `extra_data`), so that a grade can be traced to the suite that gave it.
"""

from __future__ import annotations

import platform

from conformance import __version__
from conformance.driver.sandbox import MODES, isolation
from conformance.spec import Spec


def isolation_mode() -> str:
    """"namespaces" (as root), "user namespaces", or "fallback (why)"."""
    mode, why = isolation()
    return MODES[mode] if mode else f"fallback ({why})"


def suite_info(spec: Spec | None = None) -> dict[str, str]:
    info = {
        "name": "echo-conformance",
        "version": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(terse=True),
        "isolation": isolation_mode(),
    }
    if spec is not None:
        info["spec"] = f"{spec.name} {spec.version}"
    return info


def graded_by(spec: Spec) -> str:
    """One line for reports that are text or a table cell."""
    info = suite_info(spec)
    return (
        f"echo-conformance {info['version']}; spec {info['spec']}; {info['python']}; "
        f"isolation: {info['isolation']}"
    )


def version_text(spec: Spec) -> str:
    """`echo-conformance --version`: the first line is the version alone, for scripts."""
    info = suite_info(spec)
    return "\n".join(
        [
            f"echo-conformance {__version__}",
            f"spec: {info['spec']} ({spec.path})",
            f"python: {info['python']} ({info['platform']})",
            f"isolation: {info['isolation']}",
        ]
    )
