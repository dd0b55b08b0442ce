"""Render what happened for a person: transcripts, byte windows, deviations, as text and as data.

The data form (`details`, described in spec/report.schema.json) is what HTML reports draw from;
bytes in it are lowercase hex.
"""

from __future__ import annotations

from typing import Any

from conformance.driver.net import Event, Transcript
from conformance.model import Deviation, ReplyStream

SHOW = 40  # bytes of a payload shown inline
MAX_LINES = 40  # transcript lines kept (first and last halves)
MAX_ROWS = 200  # transcript rows kept in the data form (first and last halves)
CLIP = 6000  # characters of one text kept (head and tail): Hypothesis prints MiB-sized cases
AROUND = 32  # bytes shown before a first difference (and as many after it) in the data form


def clip(text: str, limit: int = CLIP) -> str:
    """At most about `limit` characters of `text`: its head and tail, saying what was left out."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 2 // 3], text[-(limit // 3) :]
    return f"{head}\n[... {len(text) - len(head) - len(tail):,} characters left out ...]\n{tail}"


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


# -- the data form --------------------------------------------------------------------------


def details(
    transcript: Transcript,
    streams: dict[str, ReplyStream],
    deviation: tuple[str, Deviation] | None,
    server: dict[str, str],
) -> dict[str, Any]:
    """The evidence as data: each client's streams around its first difference (where the model
    saw one), the folded transcript, and the server's account."""
    sent: dict[str, bytearray] = {name: bytearray() for name in streams}
    received: dict[str, bytearray] = {name: bytearray() for name in streams}
    for ev in transcript.events:
        if ev.conn in streams and ev.what in ("send", "recv"):
            (sent if ev.what == "send" else received)[ev.conn] += ev.data
    out: dict[str, Any] = {
        "clients": [
            client_window(
                name,
                stream,
                bytes(sent[name]),
                bytes(received[name]),
                deviation[1].offset if deviation and deviation[0] == name else None,
            )
            for name, stream in streams.items()
        ],
        "transcript": transcript_rows(transcript),
        "server": server,
    }
    if deviation is not None:
        name, dev = deviation
        out["deviation"] = {
            "client": name,
            "kind": dev.kind.value,
            "message": dev.message,
            "offset": dev.offset,
        }
    return out


def client_window(
    name: str, stream: ReplyStream, sent: bytes, received: bytes, difference: int | None
) -> dict[str, Any]:
    """Sent, expected and received bytes of one client, from AROUND bytes before its first
    difference (or before the end of what it received, when the model saw none)."""
    anchor = len(received) if difference is None else difference
    start = max(0, anchor - AROUND)
    window = slice(start, anchor + AROUND)
    return {
        "name": name,
        "state": stream.state.value,
        "sent_bytes": len(sent),
        "received_bytes": len(received),
        "first_difference": difference,
        "window_offset": start,
        "sent": sent[window].hex(),
        "expected": stream.transform(sent[window]).hex(),
        "received": received[window].hex(),
    }


def transcript_rows(transcript: Transcript) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for ev, count, size in _merge(transcript.events):
        row: dict[str, Any] = {"t": round(ev.t, 4), "client": ev.conn, "event": ev.what}
        if ev.what in ("send", "recv"):
            row.update(bytes=size, count=count, data=ev.data[:SHOW].hex())
        elif ev.data:
            row["note"] = ev.data.decode(errors="replace")
        rows.append(row)
    if len(rows) > MAX_ROWS:
        half = MAX_ROWS // 2
        gap = {"t": rows[half]["t"], "client": "", "event": "omitted"}
        gap["note"] = f"{len(rows) - MAX_ROWS} rows"
        rows = [*rows[:half], gap, *rows[-half:]]
    return rows
