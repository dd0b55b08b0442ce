"""The explanations of surviving mutants (tests/mutants/*.toml) name mutants that exist, one each.

Running the mutants takes many minutes (tests/mutate.py); this only keeps the explanations from
going stale when a model's source changes: each must match a mutant of today's source.
"""

from __future__ import annotations

import ast
from collections import Counter

import pytest

from tests.mutate import EXPLAINED, ROOT, explain, explanations, mutant, sites

MODELS = sorted(path.stem for path in EXPLAINED.glob("*.toml"))


@pytest.mark.parametrize("model", MODELS)
def test_every_explanation_names_a_mutant(model: str) -> None:
    impl = ROOT / "impls" / model
    source = (impl / "server.py").read_text()
    found = explanations(impl)
    matched: Counter[int] = Counter()
    for k in range(len(list(sites(ast.parse(source))))):
        _, line, what = mutant(source, k)
        entry = explain(found, source, line, what)
        if entry is not None:
            matched[id(entry)] += 1
    entries = [e for listed in found.values() for e in listed]
    stale = [e for e in entries if matched[id(e)] == 0]
    assert stale == [], "explanations that match no mutant of today's source"
    shared = [e for e in entries if matched[id(e)] > 1]
    assert shared == [], "explanations that match more than one mutant: one explanation each"
