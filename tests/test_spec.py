"""Loading the spec, and refusing malformed ones with file, key and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.catalog import CATALOG, function
from conformance.model import Transform
from conformance.spec import DEFAULT_SPEC, SPEC_DIR, SpecError, load_spec

ECHO_TEXT = DEFAULT_SPEC.read_text()


def test_default_spec_declares_the_issue_requirements(spec):
    assert spec.ids == (
        "listen",
        "upper",
        "stream",
        "prompt",
        "persist",
        "close-on-eof",
        "survive-reset",
        "many-connections",
        "concurrent",
        "idle-cpu",
        "capacity",
        "survive-fd-limit",
    )
    levels = {r.id: r.level for r in spec.requirements}
    assert [i for i, lv in levels.items() if lv == "SHOULD"] == [
        "concurrent",
        "idle-cpu",
        "capacity",
        "survive-fd-limit",
    ]
    assert all(r.points > 0 and r.text and r.title for r in spec.requirements)


def test_transform_declared_as_data_is_bytes_upper(spec):
    everything = bytes(range(256))
    assert Transform.of(spec)(everything) == everything.upper()


def test_rfc862_variant_is_identity():
    spec = load_spec(SPEC_DIR / "rfc862-echo.toml")
    assert Transform.of(spec)(bytes(range(256))) == bytes(range(256))
    assert "echo" in spec.ids and "upper" not in spec.ids


def broken(tmp_path: Path, old: str, new: str) -> Path:
    assert old in ECHO_TEXT, old
    path = tmp_path / "bad.toml"
    path.write_text(ECHO_TEXT.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('level = "MUST"', 'level = "MAY"', "requirement[0].level: must be one of MUST, SHOULD"),
        ('id = "upper"', 'id = "listen"', "requirement[1].id: duplicate id 'listen'"),
        ("reply = 2.0", 'reply = "soon"', "timeouts.reply: must be float, got str"),
        ("reply = 2.0", "reply = -1.0", "timeouts.reply: must be > 0"),
        ("nofile = 512 ", "nofile = true", "limits.nofile: must be int, got bool"),
        ("last = 0x7A", "last = 0x17A", "protocol.transform[0]: needs 0 <= first <= last <= 255"),
        ('check = "stream"', 'check = "streaming"', "requirement[2].check: must be one of"),
        ("max_size = 300", "max_sise = 300", "requirement[1].params.max_sise: unknown key"),
        ("points = 15", "", "requirement[1].points: missing"),
        ("[limits]", "[limit]", "limit: unknown key"),
        (
            'on_client_half_close = "flush-then-close"',
            'on_client_half_close = "close"',
            "protocol.end_of_stream.on_client_half_close: must be one of flush-then-close",
        ),
        ("[timeouts]", "[timeouts", "not valid TOML"),
    ],
)
def test_malformed_spec_names_file_key_and_problem(tmp_path, old, new, message):
    path = broken(tmp_path, old, new)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_overlapping_ranges_are_refused(tmp_path):
    path = broken(
        tmp_path,
        "[protocol.end_of_stream]",
        "[[protocol.transform]]\nfirst = 0x7A\nlast = 0x7B\noffset = 1\n\n[protocol.end_of_stream]",
    )
    with pytest.raises(SpecError, match=r"protocol.transform\[1\]: overlaps the range 97..122"):
        load_spec(path)


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "nope.toml")


def test_a_parameter_left_out_is_the_catalogs_default_which_is_the_bundled_specs(tmp_path):
    """The catalog types each check's parameters and gives each a default: echo.toml's value,
    so a spec that leaves one out checks as the bundled one does."""
    bundled = load_spec(DEFAULT_SPEC)
    for req in bundled.requirements:
        schema = CATALOG[req.check].params
        assert {name: p.default for name, p in schema.items()} == req.params, req.id
        assert all(isinstance(v, schema[k].kind) for k, v in req.params.items()), req.id
    path = broken(tmp_path, "params = { max_size = 64 }", "")
    assert load_spec(path).requirement("prompt").params == {"max_size": 64}
    path = broken(tmp_path, "max_size = 64 }", "max_size = 0 }")
    with pytest.raises(SpecError, match=r"requirement\[3\].params.max_size: must be > 0"):
        load_spec(path)


def test_every_check_in_the_catalog_names_its_function():
    for name, check in CATALOG.items():
        assert callable(function(name)), name
        assert check.condition and check.cost > 0, name
