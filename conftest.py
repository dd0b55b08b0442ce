"""`pytest` here runs the conformance matrix (spec/echo.toml: every registered implementation,
every requirement) and the runner's own tests (tests/)."""

pytest_plugins = ["conformance.plugin"]
