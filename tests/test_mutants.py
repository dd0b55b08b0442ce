"""The explanations of surviving mutants (tests/mutants/*.toml) name mutants that exist.

Running the mutants takes many minutes (tests/mutate.py); this only keeps the explanations from
going stale when a model's source changes: each must match a mutant of today's source.
"""

from __future__ import annotations

import ast

import pytest

from tests.mutate import EXPLAINED, ROOT, explain, explanations, mutant, sites

MODELS = sorted(path.stem for path in EXPLAINED.glob("*.toml"))


@pytest.mark.parametrize("model", MODELS)
def test_every_explanation_names_a_mutant(model: str) -> None:
    impl = ROOT / "impls" / model
    source = (impl / "server.py").read_text()
    found = explanations(impl)
    matched = set()
    for k in range(len(list(sites(ast.parse(source))))):
        _, line, what = mutant(source, k)
        entry = explain(found, source, line, what)
        if entry is not None:
            matched.add(id(entry))
    stale = [e for entries in found.values() for e in entries if id(e) not in matched]
    assert stale == [], "explanations that match no mutant of today's source"
