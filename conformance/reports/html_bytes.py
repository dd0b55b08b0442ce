"""What a server wrote, made safe to show in HTML: text escaped with its control characters
visible, and bytes as text and as hex with one byte marked (the first difference)."""

from __future__ import annotations

import re
from html import escape

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ESCAPES = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x5C: "\\\\"}
# One byte as text: printable ASCII as itself (HTML-escaped), anything else as \xNN.
BYTE_TEXT = [
    _ESCAPES.get(b, escape(chr(b)) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in range(256)
]
END = '<mark class="end" title="the stream ends here">(end)</mark>'


def text(value: object) -> str:
    """Escaped for HTML, with control characters (a hostile stderr's terminal codes) and lone
    surrogates made visible instead of passed on."""
    s = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    return escape(s.encode("utf-8", "backslashreplace").decode("utf-8"))


def byte_views(data: bytes, mark: int | None) -> tuple[str, str]:
    """`data` as escaped text and as hex, the byte at `mark` highlighted in both (an end marker
    when `mark` is just past the data: the stream ended there)."""
    texts, hexes = [], []
    for i, b in enumerate(data):
        t, h = BYTE_TEXT[b], f"{b:02x}"
        if i == mark:
            t, h = f"<mark>{t}</mark>", f"<mark>{h}</mark>"
        texts.append(t)
        hexes.append(h)
    if mark is not None and mark == len(data):
        texts.append(END)
        hexes.append(END)
    return "".join(texts), " ".join(hexes)
