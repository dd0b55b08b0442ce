"""The sans-IO protocol model: what a client may receive next."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.model import Kind, LearnedTransform, ReplyStream, State, Transform
from conformance.spec import ByteRange

UPPER = Transform((ByteRange(0x61, 0x7A, -0x20),))


def stream(sent: bytes = b"") -> ReplyStream:
    s = ReplyStream(UPPER)
    if sent:
        s.on_send(sent)
    return s


@given(st.binary())
def test_transform_matches_bytes_upper(data):
    assert UPPER(data) == data.upper()


def test_changed_bytes_are_exactly_a_to_z():
    assert UPPER.changed == bytes(range(0x61, 0x7B))


@given(st.binary(min_size=1), st.data())
def test_any_split_of_the_right_reply_is_accepted(data, draw):
    s = stream(data)
    reply = data.upper()
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(reply)), max_size=5)))
    for a, b in zip([0, *cuts], [*cuts, len(reply)]):
        assert s.on_receive(reply[a:b]) is None
    assert s.owed == 0 and s.complete


def test_wrong_byte_reports_offset_and_window():
    s = stream(b"hello, world")
    assert s.on_receive(b"HELLO") is None
    dev = s.on_receive(b", wORLD")
    assert dev is not None and dev.kind is Kind.MISMATCH
    assert dev.offset == 7
    assert "0x77 'w'" in dev.message and "0x57 'W'" in dev.message
    assert dev.expected.endswith(b"WORLD") and dev.received.endswith(b"wORLD")


def test_wrong_byte_in_a_later_write_names_the_byte_sent_there():
    s = stream(b"hello ")
    s.on_send(b"w0rld")
    assert s.on_receive(b"HELLO W") is None
    dev = s.on_receive(b"0RlD")
    assert dev is not None and dev.offset == 9
    assert "0x6C 'l'" in dev.message and "the sent byte 0x6C 'l'" in dev.message
    # The windows start 8 bytes before the offset: in the earlier receive.
    assert (dev.expected, dev.received) == (b"ELLO W0RLD", b"ELLO W0RlD")


def test_extra_bytes_after_the_reply():
    s = stream(b"abc")
    dev = s.on_receive(b"ABC\n")
    assert dev is not None and dev.kind is Kind.EXTRA and dev.offset == 3
    assert dev.received == b"\n"


def test_server_closing_first_is_early_close():
    s = stream(b"abc")
    s.on_receive(b"ABC")
    dev = s.on_eof()
    assert dev is not None and dev.kind is Kind.EARLY_CLOSE
    assert s.state is State.CLOSED


def test_eof_after_half_close_needs_every_owed_byte_first():
    s = stream(b"abcdef")
    s.on_half_close()
    s.on_receive(b"ABC")
    dev = s.on_eof()
    assert dev is not None and dev.kind is Kind.UNFLUSHED_CLOSE and "3 owed" in dev.message
    ok = stream(b"abc")
    ok.on_half_close()
    ok.on_receive(b"ABC")
    assert not ok.complete  # the EOF is still owed
    assert ok.on_eof() is None


def test_timeouts_name_what_was_owed():
    s = stream(b"line without newline")
    dev = s.on_timeout(2.0)
    assert dev is not None and dev.kind is Kind.MISSING and "20 owed" in dev.message
    s.on_receive(b"LINE WITHOUT NEWLINE")
    assert s.on_timeout(2.0) is None  # owing nothing, an open connection may stay quiet
    s.on_half_close()
    dev = s.on_timeout(5.0)
    assert dev is not None and dev.kind is Kind.NO_CLOSE


def test_reset_by_server_is_always_a_deviation():
    s = stream(b"abc")
    s.on_receive(b"ABC")
    assert s.on_reset().kind is Kind.RESET


def test_identity_transform_for_plain_echo():
    plain = ReplyStream(Transform(()))
    plain.on_send(b"abc")
    assert plain.on_receive(b"abc") is None


# -- a server's own consistent answers (every check but the transform's) ---------------------


def learning(*sent: bytes) -> tuple[LearnedTransform, list[ReplyStream]]:
    t = LearnedTransform((ByteRange(0x61, 0x7A, -0x20),))
    streams = [ReplyStream(t) for _ in sent]
    for s, data in zip(streams, sent):
        s.on_send(data)
    return t, streams


def test_the_spec_transform_takes_no_other_answer():
    assert stream(b"zoo").on_receive(b"zOO").kind is Kind.MISMATCH


@given(st.binary(min_size=1), st.binary(min_size=256, max_size=256))
def test_any_consistent_answer_per_byte_value_is_learned(data, table):
    """A server that maps byte values its own way (forgets z, swaps case, lowercases) is judged
    on everything else: nothing lost, added, duplicated or reordered."""
    _, (s,) = learning(data)
    assert s.on_receive(data.translate(table)) is None
    assert s.owed == 0


def test_a_learned_answer_holds_for_later_bytes_and_other_clients():
    t, (a, b) = learning(b"fizz", b"zap")
    assert a.on_receive(b"FIzz") is None
    assert t.learned == {ord("z"): ord("z")}
    assert b.on_receive(b"zAP") is None
    a.on_send(b"z")
    dev = a.on_receive(b"Z")  # now the other way: not this server's answer to z
    assert dev is not None and dev.kind is Kind.MISMATCH
    assert "this server's own answer to the sent byte 0x7A 'z'" in dev.message


def test_a_byte_answered_by_the_spec_before_is_not_learned_otherwise():
    """Inconsistent answers (uppercasing only the first byte of each read) are still wrong."""
    _, (s,) = learning(b"ab")
    assert s.on_receive(b"A") is None
    s.on_send(b"a")
    dev = s.on_receive(b"Ba")
    assert dev is not None and dev.offset == 2
    assert "as this server answered it earlier" in dev.message


def test_lost_or_added_bytes_are_not_learned_away():
    _, (lost,) = learning(b"abc")
    assert lost.on_receive(b"AC") is None  # b's answer may be C...
    assert lost.on_timeout(1.0).kind is Kind.MISSING  # ...but then one is missing
    _, (added,) = learning(b"abc")
    assert added.on_receive(b"ABCC").kind is Kind.EXTRA
