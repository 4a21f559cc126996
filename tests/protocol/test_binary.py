"""WIRE-1 binary frames: hand-built vectors, padding, versions, compression, bombs, fuzzing."""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thalovant.errors import ThalovantProtocolError
from thalovant.protocol.binary import (
    BINARY_KINDS,
    MAX_INFLATED_BYTES,
    TYPE_CODES,
    BinaryFrame,
    decode_binary_frame,
    encode_binary_frame,
)


def _bits(data: bytes) -> str:
    return "".join(f"{byte:08b}" for byte in data)


def _frame(
    type_code: int,
    meta: bytes,
    tail: bytes = b"",
    *,
    kind: int | None = None,
    compressed: bool = False,
    version: int | None = None,
    pad: int = 0,
) -> bytes:
    """Build a frame bit by bit: ``pad`` leading zeros, then zeros at the end to fill a byte."""
    bits = "0" * pad + "1"
    bits += "0" if version is None else "1" + f"{version:08b}"
    bits += f"{type_code:05b}" + ("1" if compressed else "0") + f"{len(meta):08b}" + _bits(meta)
    if kind is not None:
        bits += f"{kind:04b}"
    bits += _bits(tail)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def test_official_layout_vector() -> None:
    meta, payload = b'{"a":1}', b'{"type":"speak","data":{},"context":{}}'
    frame = bytes([0x80 | 1 << 1, len(meta)]) + meta + payload
    assert frame == _frame(1, meta, payload)
    decoded = decode_binary_frame(frame)
    assert decoded == BinaryFrame(
        "bus", {"a": 1}, {"type": "speak", "data": {}, "context": {}}, None, None, None
    )
    assert encode_binary_frame("bus", metadata={"a": 1}, payload=json.loads(payload)) == frame


@pytest.mark.parametrize(("name", "code"), [(n, c) for n, c in TYPE_CODES.items() if c != 12])
def test_type_numbers(name: str, code: int) -> None:
    decoded = decode_binary_frame(bytes([0x80 | code << 1, 2]) + b"{}{}")
    assert decoded.msg_type == ("shake" if name == "handshake" else name)


@pytest.mark.parametrize("code", [11, 13, 20, 31])
def test_unknown_type_numbers_are_3rdparty(code: int) -> None:
    assert decode_binary_frame(_frame(code, b"{}", b'{"x":1}')).msg_type == "3rdparty"


@pytest.mark.parametrize("pad", range(17))
def test_arbitrary_leading_padding(pad: int) -> None:
    frame = _frame(1, b'{"m":true}', b'{"type":"t"}', pad=pad)
    assert decode_binary_frame(frame) == BinaryFrame("bus", {"m": True}, {"type": "t"})


@pytest.mark.parametrize("pad", range(17))
def test_bin_with_arbitrary_padding(pad: int) -> None:
    data = bytes(range(256)) * 3
    frame = _frame(12, b'{"lang":"en"}', data, kind=1, pad=pad)
    decoded = decode_binary_frame(frame)
    assert decoded.msg_type == "bin"
    assert decoded.metadata == {"lang": "en"}
    assert decoded.binary_kind == "raw_audio"
    assert decoded.binary_kind_code == 1
    assert decoded.data == data
    assert decoded.payload is None


def test_official_unpadded_bin_has_four_trailing_bits() -> None:
    # byte 0 = 0x80 | 12 << 1 with the 4-bit kind shifting the data by half a byte
    frame = _frame(12, b"{}", b"\xab\xcd", kind=3)
    assert frame[0] == 0x80 | 12 << 1
    assert len(frame) == 2 + 2 + 3  # header, metadata, 4 + 16 + 4 padding bits
    decoded = decode_binary_frame(frame)
    assert (decoded.binary_kind, decoded.data) == ("file", b"\xab\xcd")


@pytest.mark.parametrize("version", [0, 1])
def test_versioned_header(version: int) -> None:
    frame = _frame(9, b"{}", b'{"p":1}', version=version, pad=3)
    assert decode_binary_frame(frame) == BinaryFrame("ping", {}, {"p": 1})


@pytest.mark.parametrize("version", [2, 255])
def test_unsupported_version_rejected(version: int) -> None:
    with pytest.raises(ThalovantProtocolError, match="version"):
        decode_binary_frame(_frame(9, b"{}", b"{}", version=version))


def test_compressed_metadata_and_payload() -> None:
    meta = zlib.compress(b'{"utterance":"' + b"a" * 2000 + b'"}')
    payload = zlib.compress(b'{"type":"speak"}')
    decoded = decode_binary_frame(_frame(1, meta, payload, compressed=True, pad=5))
    assert decoded.metadata == {"utterance": "a" * 2000}
    assert decoded.payload == {"type": "speak"}


def test_compressed_bin_inflates_metadata_only() -> None:
    raw = zlib.compress(b"not inflated")
    frame = _frame(12, zlib.compress(b'{"k":"v"}'), raw, kind=6, compressed=True)
    decoded = decode_binary_frame(frame)
    assert decoded.metadata == {"k": "v"}
    assert decoded.data == raw
    assert decoded.binary_kind == "tts_audio"


@pytest.mark.parametrize("kind", range(16))
def test_binary_kinds(kind: int) -> None:
    decoded = decode_binary_frame(_frame(12, b"{}", b"xyz", kind=kind))
    assert decoded.binary_kind_code == kind
    assert decoded.binary_kind == BINARY_KINDS.get(kind, f"binary:{kind}")


def test_empty_metadata_and_payload() -> None:
    assert decode_binary_frame(_frame(1, b"")) == BinaryFrame("bus", {}, {})
    assert decode_binary_frame(_frame(12, b"", kind=1)).data == b""


def test_zlib_bomb_is_capped() -> None:
    bomb = zlib.compress(bytes(40 * 1024 * 1024), 9)
    assert len(bomb) < 100_000
    with pytest.raises(ThalovantProtocolError, match="32 MiB"):
        decode_binary_frame(_frame(1, zlib.compress(b"{}"), bomb, compressed=True))


def test_metadata_bomb_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    # 255 bytes cannot inflate past ~260 KB, so shrink the cap to see the check work
    monkeypatch.setattr("thalovant.protocol.binary.MAX_INFLATED_BYTES", 1000)
    meta = zlib.compress(b'{"a":"' + b"x" * 5000 + b'"}')
    with pytest.raises(ThalovantProtocolError, match="inflates"):
        decode_binary_frame(_frame(1, meta, zlib.compress(b"{}"), compressed=True))


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        (b"", "start marker"),
        (b"\x00\x00\x00", "start marker"),
        (b"\x82", "truncated"),
        (bytes([0x82, 10]) + b"{}", "truncated"),
        (bytes([0xC0]), "truncated"),  # versioned bit with no version
        (_frame(1, b"[1]"), "metadata is not a JSON object"),
        (_frame(1, b"{bad"), "metadata is not valid JSON"),
        (_frame(1, b"\xff\xfe"), "metadata is not valid JSON"),
        (_frame(1, b"{}", b"[]"), "payload is not a JSON object"),
        (_frame(1, b"{}", b"nope"), "payload is not valid JSON"),
        (_frame(1, b"{}", b"{}", compressed=True), "not valid zlib"),
        (_frame(1, zlib.compress(b"{}")[:-2], b"", compressed=True), "truncated or padded"),
        (_frame(1, zlib.compress(b"{}") + b"x", b"", compressed=True), "truncated or padded"),
    ],
)
def test_malformed_frames(frame: bytes, fragment: str) -> None:
    with pytest.raises(ThalovantProtocolError, match=fragment):
        decode_binary_frame(frame)


def test_bin_missing_kind_is_truncated() -> None:
    with pytest.raises(ThalovantProtocolError, match="truncated"):
        decode_binary_frame(bytes([0x80 | 12 << 1, 2]) + b"{}")


def test_encoder_bin_layout_is_front_padded_and_aligned() -> None:
    data = os.urandom(1000)
    frame = encode_binary_frame("bin", metadata={"a": 1}, binary_kind="file", data=data)
    assert frame[0] >> 4 == 0  # four bits of front padding
    assert frame.endswith(data)  # so the raw data is byte-aligned at the end
    assert decode_binary_frame(frame).data == data


def test_encoder_compresses_long_metadata() -> None:
    meta = {"utterance": "b" * 1000}
    frame = encode_binary_frame("bus", metadata=meta, payload={"type": "t"})
    assert frame[0] & 1  # compression flag switched on
    assert decode_binary_frame(frame) == BinaryFrame("bus", meta, {"type": "t"})


def test_encoder_rejects_incompressible_metadata() -> None:
    meta = {"noise": os.urandom(400).hex()}
    with pytest.raises(ThalovantProtocolError, match="255"):
        encode_binary_frame("bus", metadata=meta)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"msg_type": "intercom"},
        {"msg_type": "nope"},
        {"msg_type": "bin", "binary_kind": "raw_audio"},
        {"msg_type": "bin", "data": b"x"},
        {"msg_type": "bin", "binary_kind": "weird", "data": b"x"},
        {"msg_type": "bin", "binary_kind": 16, "data": b"x"},
        {"msg_type": "bin", "binary_kind": "binary:99", "data": b"x"},
        {"msg_type": "bin", "binary_kind": 1, "data": b"x", "payload": {}},
        {"msg_type": "bus", "data": b"x"},
        {"msg_type": "bus", "binary_kind": 1},
    ],
)
def test_encoder_argument_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        encode_binary_frame(**kwargs)


def test_encoder_kind_spellings() -> None:
    for spelling in ("numpy_image", 2, "binary:2"):
        frame = encode_binary_frame("bin", binary_kind=spelling, data=b"img")
        assert decode_binary_frame(frame).binary_kind == "numpy_image"
    frame = encode_binary_frame("bin", binary_kind="binary:9", data=bytearray(b"q"))
    assert decode_binary_frame(frame).binary_kind == "binary:9"


def test_large_unaligned_bin() -> None:
    data = os.urandom(1 << 18)
    frame = _frame(12, b'{"lang":"en"}', data, kind=1, pad=3)
    assert decode_binary_frame(frame).data == data


json_objects = st.dictionaries(
    st.text(max_size=8),
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    max_size=5,
)
numbered_types = sorted(name for name, code in TYPE_CODES.items() if code < 11)


@given(
    st.sampled_from(numbered_types),
    json_objects,
    json_objects,
    st.booleans(),
)
@settings(max_examples=200)
def test_roundtrip_json_kinds(name: str, metadata: Any, payload: Any, compress: bool) -> None:
    try:
        frame = encode_binary_frame(name, metadata=metadata, payload=payload, compress=compress)
    except ThalovantProtocolError:
        return  # metadata that does not fit even compressed
    decoded = decode_binary_frame(frame)
    assert decoded.msg_type == ("shake" if name == "handshake" else name)
    assert (decoded.metadata, decoded.payload) == (metadata, payload)


@given(json_objects, st.integers(0, 15), st.binary(max_size=2000), st.booleans())
@settings(max_examples=200)
def test_roundtrip_bin(metadata: Any, kind: int, data: bytes, compress: bool) -> None:
    try:
        frame = encode_binary_frame(
            "bin", metadata=metadata, binary_kind=kind, data=data, compress=compress
        )
    except ThalovantProtocolError:
        return
    decoded = decode_binary_frame(frame)
    assert (decoded.metadata, decoded.binary_kind_code, decoded.data) == (metadata, kind, data)
    # and the same frame shifted by any padding still decodes
    for pad in (1, 7, 9):
        value = int.from_bytes(frame, "big")
        bits = 8 * len(frame) + pad
        shifted = (value << (-bits % 8)).to_bytes((bits + 7) // 8, "big")
        assert decode_binary_frame(shifted).data == data


@given(st.binary(max_size=400))
@settings(max_examples=1000)
def test_fuzz_decode(data: bytes) -> None:
    try:
        frame = decode_binary_frame(data)
    except ThalovantProtocolError:
        return
    assert isinstance(frame, BinaryFrame)


@given(st.integers(0, 31), st.booleans(), st.binary(max_size=300), st.binary(max_size=300))
@settings(max_examples=500)
def test_fuzz_decode_plausible_headers(
    code: int, compressed: bool, meta: bytes, tail: bytes
) -> None:
    frame = _frame(code, meta[:255], tail, compressed=compressed, kind=3 if code == 12 else None)
    with contextlib.suppress(ThalovantProtocolError):
        decode_binary_frame(frame)


def test_max_inflated_constant() -> None:
    assert MAX_INFLATED_BYTES == 32 * 1024 * 1024


def test_compressed_flag_with_empty_sections() -> None:
    assert decode_binary_frame(_frame(1, b"", compressed=True)) == BinaryFrame("bus", {}, {})
