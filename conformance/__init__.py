"""echo-conformance: a property-based conformance suite for TCP uppercase-echo servers.

Layers, each depending only on those before it: catalog, spec, bundled, impls (data) -> model
(sans-IO) -> net, launcher, procfs, locks, view, platforms (driver) -> attribution, session,
endings, backpressure, properties, checks/ (the checks) -> runner -> plugin -> cli/, settings,
progress, grade; report, about (what gave a verdict).
DEVELOPMENT.md (in a clone) has the whole map.
"""

__version__ = "0.1.0"  # the one place: pyproject.toml reads it from here
