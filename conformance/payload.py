"""Payload bytes that are cheap to name: a size and a seed stand for megabytes."""

from __future__ import annotations

import random
import threading
from collections import OrderedDict


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


# Large blocks are made again and again: by every example that draws them, and by every server a
# class is graded on (the same derandomized cases).  The latest are kept, up to this many bytes.
KEPT_BYTES = 64 << 20
KEPT_FROM = 4096  # smaller ones cost less to make than to keep
_kept: OrderedDict[tuple[int, int], Block] = OrderedDict()
_kept_lock = threading.Lock()
_kept_bytes = 0


def block(size: int, seed: int) -> bytes:
    """Generated structure, not generated content: Hypothesis draws the size and the seed
    (megabytes of drawn bytes would be slow to shrink)."""
    global _kept_bytes
    if size < KEPT_FROM:
        return Block(size, seed)
    key = (size, seed)
    with _kept_lock:
        if (kept := _kept.get(key)) is not None:
            _kept.move_to_end(key)
            return kept
    made = Block(size, seed)
    with _kept_lock:
        if key not in _kept:
            _kept[key] = made
            _kept_bytes += size
        while _kept_bytes > KEPT_BYTES:
            _kept_bytes -= len(_kept.popitem(last=False)[1])
    return made
