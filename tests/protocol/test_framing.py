"""Transport framing: chunking, strict reassembly, the 32 MiB cap, fuzzing."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thalovant.errors import ThalovantProtocolError, ThalovantRuntimeError
from thalovant.protocol.framing import (
    CHUNK_SIZE,
    MAX_MESSAGE_BYTES,
    Reassembler,
    frame_plaintexts,
)


def _feed_each(reassembler: Reassembler, plaintexts: list[bytes]) -> None:
    for plaintext in plaintexts:
        reassembler.feed(plaintext)


def _feed_all(plaintexts: list[bytes]) -> tuple[bool, bytes]:
    reassembler = Reassembler()
    for plaintext in plaintexts[:-1]:
        assert reassembler.feed(plaintext) is None
    done = reassembler.feed(plaintexts[-1])
    assert done is not None
    assert not reassembler.in_progress
    return done


@pytest.mark.parametrize("size", [0, 1, 65000, 65001, 130000, 200001])
@pytest.mark.parametrize("binary", [False, True])
def test_roundtrip_sizes(size: int, binary: bool) -> None:
    body = os.urandom(size)
    plaintexts = frame_plaintexts(body, binary=binary)
    assert all(len(p) <= CHUNK_SIZE + 1 for p in plaintexts)
    assert _feed_all(plaintexts) == (binary, body)


@pytest.mark.parametrize(
    ("size", "markers"),
    [
        (0, [0x00]),
        (65000, [0x00]),
        (65001, [0x02, 0x05]),
        (130000, [0x02, 0x05]),
        (130001, [0x02, 0x04, 0x05]),
        (200001, [0x02, 0x04, 0x04, 0x05]),
    ],
)
def test_markers_and_chunk_sizes(size: int, markers: list[int]) -> None:
    plaintexts = frame_plaintexts(b"x" * size)
    assert [p[0] for p in plaintexts] == markers
    assert all(len(p) == CHUNK_SIZE + 1 for p in plaintexts[:-1])


def test_binary_markers() -> None:
    assert frame_plaintexts(b"ab", binary=True) == [b"\x01ab"]
    assert frame_plaintexts(b"a" * 65001, binary=True)[0][0] == 0x03


def test_frame_accepts_bytes_like() -> None:
    assert frame_plaintexts(bytearray(b"ab")) == [b"\x00ab"]
    assert frame_plaintexts(memoryview(b"a" * 70000))[1] == b"\x05" + b"a" * 5000


def test_sender_refuses_oversized_body() -> None:
    with pytest.raises(ThalovantRuntimeError):
        frame_plaintexts(bytes(MAX_MESSAGE_BYTES + 1))


def test_interleaved_complete_messages_between_sequences() -> None:
    reassembler = Reassembler()
    assert reassembler.feed(b"\x00{}") == (False, b"{}")
    assert reassembler.feed(b"\x03ab") is None
    assert reassembler.in_progress
    assert reassembler.buffered == 2
    assert reassembler.feed(b"\x04") is None  # empty chunks are tolerated
    assert reassembler.feed(b"\x05cd") == (True, b"abcd")
    assert reassembler.feed(b"\x01x") == (True, b"x")


def test_accepts_bytearray_and_does_not_pin_it() -> None:
    reassembler = Reassembler()
    chunk = bytearray(b"\x02abc")
    assert reassembler.feed(chunk) is None
    chunk.extend(b"more")  # would raise BufferError if the reassembler held a view of it
    assert reassembler.feed(memoryview(b"\x05d")) == (False, b"abcd")


@pytest.mark.parametrize(
    "sequence",
    [
        [b""],
        [b"\x04abc"],
        [b"\x05abc"],
        [b"\x06abc"],
        [b"\xffabc"],
        [b"\x02abc", b"\x00x"],
        [b"\x02abc", b"\x01x"],
        [b"\x02abc", b"\x02x"],
        [b"\x02abc", b"\x03x"],
        [b"\x03abc", b"\x04x", b"\x02x"],
        [b"\x02abc", b""],
        [b"\x02abc", b"\x07"],
        [b"\x02abc", b"\x05x", b"\x05y"],
    ],
)
def test_illegal_sequences_are_fatal(sequence: list[bytes]) -> None:
    reassembler = Reassembler()
    with pytest.raises(ThalovantProtocolError):
        _feed_each(reassembler, sequence)
    # no frame skipping: the reassembler stays failed until reset
    with pytest.raises(ThalovantProtocolError, match="already failed"):
        reassembler.feed(b"\x00{}")
    reassembler.reset()
    assert reassembler.feed(b"\x00{}") == (False, b"{}")


def test_cap_is_checked_before_storing() -> None:
    reassembler = Reassembler()
    chunk = b"\x04" + bytes(CHUNK_SIZE)  # one object, referenced repeatedly: cheap to hold
    assert reassembler.feed(b"\x02" + bytes(CHUNK_SIZE)) is None
    while reassembler.buffered + CHUNK_SIZE <= MAX_MESSAGE_BYTES:
        assert reassembler.feed(chunk) is None
    held = reassembler.buffered
    assert held <= MAX_MESSAGE_BYTES
    with pytest.raises(ThalovantProtocolError, match="32 MiB"):
        reassembler.feed(chunk)
    assert reassembler.buffered == 0  # everything released, nothing grown


def test_exactly_the_cap_is_accepted() -> None:
    body = bytes(MAX_MESSAGE_BYTES)
    is_binary, out = _feed_all(frame_plaintexts(body, binary=True))
    assert is_binary
    assert len(out) == MAX_MESSAGE_BYTES


def test_one_byte_over_the_cap_in_the_last_chunk() -> None:
    plaintexts = frame_plaintexts(bytes(MAX_MESSAGE_BYTES))
    plaintexts[-1] += b"\x00"
    reassembler = Reassembler()
    with pytest.raises(ThalovantProtocolError, match="32 MiB"):
        _feed_each(reassembler, plaintexts)


def test_oversized_complete_frame_is_fatal() -> None:
    with pytest.raises(ThalovantProtocolError):
        Reassembler().feed(b"\x00" + bytes(MAX_MESSAGE_BYTES + 1))


plaintext_strategy = st.one_of(
    st.binary(max_size=40),
    st.builds(
        lambda marker, rest: bytes([marker]) + rest,
        st.integers(0, 7),
        st.binary(max_size=40),
    ),
)


@given(st.lists(plaintext_strategy, max_size=30))
@settings(max_examples=500)
def test_fuzz_reassembler(sequence: list[bytes]) -> None:
    reassembler = Reassembler()
    fed = 0
    for plaintext in sequence:
        try:
            done = reassembler.feed(plaintext)
        except ThalovantProtocolError:
            return
        fed += len(plaintext)
        assert reassembler.buffered <= fed
        if done is not None:
            is_binary, body = done
            assert isinstance(is_binary, bool)
            assert isinstance(body, bytes)
            assert len(body) <= fed


@given(st.binary(max_size=300_000), st.booleans())
@settings(max_examples=50)
def test_fuzz_roundtrip(body: bytes, binary: bool) -> None:
    assert _feed_all(frame_plaintexts(body, binary=binary)) == (binary, body)
