"""`pytest` here runs the conformance matrix (spec/echo.toml: every registered implementation,
every requirement) and the runner's own tests (tests/).

Installed (editable, as tox and the Quick start do), the plugin comes through its `pytest11` entry
point; named here only for a clone that is not installed or where plugin autoload is off.  (It
must not be named otherwise: pytest refuses `pytest_plugins` in a conftest it reaches from
another folder, as when a student's folder checks a server against this clone's spec.)
"""

import os
from importlib.metadata import entry_points

if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") or not any(
    ep.value == "conformance.plugin" for ep in entry_points(group="pytest11")
):
    pytest_plugins = ["conformance.plugin"]
