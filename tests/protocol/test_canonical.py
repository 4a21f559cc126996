"""Canonical JSON must equal Python's json.dumps(sort_keys, compact, raw UTF-8) byte for byte."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thalovant.errors import ThalovantProtocolError
from thalovant.protocol.canonical import canonical_json, parse_cleartext

# Any text without lone surrogates (those have no UTF-8 form; tested separately).
TEXT = st.text(st.characters(codec="utf-8"), max_size=20)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=25,
)


def reference(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


@given(JSON_VALUES)
def test_matches_reference(value: Any) -> None:
    assert canonical_json(value) == reference(value)


@given(JSON_VALUES)
def test_parse_then_canonical_is_stable(value: Any) -> None:
    # What a hub sends (any formatting) -> parsed -> canonical equals canonical of the source.
    for text in (json.dumps({"v": value}), json.dumps({"v": value}, indent=3, ensure_ascii=False)):
        assert canonical_json(parse_cleartext(text)) == reference({"v": value})
        assert canonical_json(parse_cleartext(text.encode("utf-8"))) == reference({"v": value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [True, None]}, b'{"a":[true,null],"b":1}'),
        ({"k": "Grüße"}, '{"k":"Grüße"}'.encode()),
        # Control characters: Python's short escapes and \u00XX; DEL and U+2028 stay raw.
        ({"k": "\x00\x1f\n\t\"\\/\x7f\u2028"},
         b'{"k":"\\u0000\\u001f\\n\\t\\"\\\\/\x7f\xe2\x80\xa8"}'),
        # Keys sort by code point (U+FFFF before U+1F600), not by UTF-16 unit.
        ({"\U0001f600": 2, "\uffff": 1, "a": 0, "B": 3},
         b'{"B":3,"a":0,"\xef\xbf\xbf":1,"\xf0\x9f\x98\x80":2}'),
        ({"f": [1.0, 0.1, 1e16, -0.0, 1e-7, 2**64]},
         b'{"f":[1.0,0.1,1e+16,-0.0,1e-07,18446744073709551616]}'),
        ({"n": float("nan"), "i": float("-inf")}, b'{"i":-Infinity,"n":NaN}'),
        ({"x": {"z": {}, "y": []}}, b'{"x":{"y":[],"z":{}}}'),
    ],
)  # fmt: skip
def test_golden(value: Any, expected: bytes) -> None:
    assert canonical_json(value) == expected


def test_lone_surrogate_is_typed_error() -> None:
    with pytest.raises(ThalovantProtocolError):
        canonical_json({"k": "\ud800"})
    # A hub can send one as an escape; parsing works, the canonical form cannot exist.
    parsed = parse_cleartext('{"k": "\\ud800"}')
    with pytest.raises(ThalovantProtocolError):
        canonical_json(parsed)


def test_non_json_value_is_typed_error() -> None:
    with pytest.raises(ThalovantProtocolError):
        canonical_json({"k": object()})


def test_parse_object() -> None:
    assert parse_cleartext('{"msg_type":"hello","payload":{"a":1}}') == {
        "msg_type": "hello",
        "payload": {"a": 1},
    }
    # Duplicate keys: the last wins, as in the reference.
    assert parse_cleartext('{"a":1,"a":2}') == {"a": 2}


@pytest.mark.parametrize(
    "frame",
    [
        "",
        "not json",
        "[1,2]",
        "42",
        '"text"',
        "null",
        '{"a":1',
        '{"a":1} trailing',
        "[" * 100_000 + "]" * 100_000,  # recursion limit
        '{"a":' + "1" * 5000 + "}",  # beyond Python's int digits limit
        b"\xff\xfe{}",  # not UTF-8
        b'\xef\xbb\xbf{"a":1}',  # BOM
        '{"a":1}'.encode("utf-16"),  # json.loads(bytes) would sniff this; we do not
    ],
)
def test_parse_errors_are_typed(frame: str | bytes) -> None:
    with pytest.raises(ThalovantProtocolError):
        parse_cleartext(frame)


@given(st.text(max_size=200))
def test_parse_arbitrary_text_only_raises_typed(text: str) -> None:
    with contextlib.suppress(ThalovantProtocolError):
        assert isinstance(parse_cleartext(text), dict)


@given(st.binary(max_size=200))
def test_parse_arbitrary_bytes_only_raises_typed(data: bytes) -> None:
    with contextlib.suppress(ThalovantProtocolError):
        assert isinstance(parse_cleartext(data), dict)
