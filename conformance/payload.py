"""Payload bytes that are cheap to name: a size and a seed stand for megabytes."""

from __future__ import annotations

import random


def block(size: int, seed: int) -> bytes:
    """`size` reproducible bytes over all 256 values: generated structure, not generated content
    (Hypothesis draws the size and seed; megabytes of drawn bytes would be slow to shrink)."""
    return random.Random(seed).randbytes(size)
