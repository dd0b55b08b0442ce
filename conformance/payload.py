"""Payload bytes that are cheap to name: a size and a seed stand for megabytes."""

from __future__ import annotations

import random


class Block(bytes):
    """`size` reproducible bytes over all 256 values, shown as the call that makes them: a
    failing case reads block(4194304, 1), not four megabytes (which Hypothesis would also spend
    a moment printing for every explicit case it runs)."""

    def __new__(cls, size: int, seed: int) -> Block:
        made = super().__new__(cls, random.Random(seed).randbytes(size))
        made.seed = seed
        return made

    seed: int

    def __repr__(self) -> str:
        return f"block({len(self)}, {self.seed})"


def block(size: int, seed: int) -> bytes:
    """Generated structure, not generated content: Hypothesis draws the size and the seed
    (megabytes of drawn bytes would be slow to shrink)."""
    return Block(size, seed)
