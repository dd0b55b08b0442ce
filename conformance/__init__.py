"""echo-conformance: a property-based conformance suite for TCP uppercase-echo servers.

Layers, each depending only on those before it: catalog, spec, bundled, impls (data) -> model
(sans-IO) -> driver/ (sockets, processes, the sandbox, /proc) -> attribution, session, endings,
backpressure, properties, checks/ (the checks) -> runner -> plugin -> cli/, settings, grade;
reports/ (what the runner found: data and renderings), compare/ (the I/O models measured).
DEVELOPMENT.md (in a clone) has the whole map.

Public, kept stable across minor versions: the `echo-conformance` command and its reports' JSON
schema, the pytest plugin's options, and for checks of one's own the names in the `__all__` of
conformance.catalog (Check, Param), conformance.checks (Context, round_trip, payloads),
conformance.spec and conformance.outcome.  Everything else may move between versions.
"""

__version__ = "0.1.0"  # the one place: pyproject.toml reads it from here
