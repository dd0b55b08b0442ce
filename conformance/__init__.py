"""echo-conformance: a property-based conformance suite for TCP uppercase-echo servers.

Layers, each depending only on those before it: spec (data) -> model (sans-IO) -> net, launcher
(driver) -> session, checks, machine, properties (the checks) -> runner -> plugin -> cli, report.
"""

__version__ = "0.1.0"
