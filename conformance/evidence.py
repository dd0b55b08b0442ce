"""Render what happened for a person: transcripts, byte windows, deviations."""

from __future__ import annotations

from conformance.model import Deviation
from conformance.net import Event, Transcript

SHOW = 40  # bytes of a payload shown inline
MAX_LINES = 40  # transcript lines kept (first and last halves)


def show_bytes(data: bytes, limit: int = SHOW) -> str:
    head = repr(bytes(data[:limit]))
    return head + (f"...(+{len(data) - limit} bytes)" if len(data) > limit else "")


def hex_bytes(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data) or "(nothing)"


def describe_deviation(dev: Deviation) -> str:
    """The bytes around a deviation, as text and hex (the message itself is the summary)."""
    lines = []
    if dev.expected or dev.received:
        where = f" at reply offset {dev.offset}" if dev.offset is not None else ""
        lines.append(f"  expected{where}: {show_bytes(dev.expected)}  [{hex_bytes(dev.expected)}]")
        lines.append(f"  received{where}: {show_bytes(dev.received)}  [{hex_bytes(dev.received)}]")
    return "\n".join(lines)


def _merge(events: list[Event]) -> list[tuple[Event, int, int]]:
    """Fold runs of sends (or receives) on one connection into one line: (first, count, bytes)."""
    out: list[tuple[Event, int, int]] = []
    data: dict[int, bytearray] = {}
    for ev in events:
        if out and ev.what in ("send", "recv"):
            first, count, size = out[-1]
            if first.conn == ev.conn and first.what == ev.what:
                data[len(out) - 1] += ev.data
                out[-1] = (first, count + 1, size + len(ev.data))
                continue
        out.append((ev, 1, len(ev.data)))
        data[len(out) - 1] = bytearray(ev.data)
    return [
        (Event(e.t, e.conn, e.what, bytes(data[i])), n, size) for i, (e, n, size) in enumerate(out)
    ]


def render_transcript(transcript: Transcript) -> str:
    rows = []
    for ev, count, size in _merge(transcript.events):
        line = f"  {ev.t:8.3f}s  {ev.conn:<6} {ev.what}"
        if ev.what in ("send", "recv"):
            writes = (
                f" in {count} {'writes' if ev.what == 'send' else 'reads'}" if count > 1 else ""
            )
            line += f" {size} bytes{writes}: {show_bytes(ev.data)}"
        elif ev.data:
            line += f" ({ev.data.decode(errors='replace')})"
        rows.append(line)
    if len(rows) > MAX_LINES:
        half = MAX_LINES // 2
        rows = [*rows[:half], f"  ... {len(rows) - MAX_LINES} more lines ...", *rows[-half:]]
    return "transcript (time, connection, event):\n" + "\n".join(rows) if rows else ""
