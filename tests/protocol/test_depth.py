"""Issue #11 defect 9: one nesting limit (``MAX_DEPTH``) for every JSON document of the
protocol: envelope decoder and encoder, binary-frame header, cleartext handshake frames, and
the hub's copy of request contexts."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from thalovant.errors import ThalovantProtocolError
from thalovant.protocol.binary import decode_binary_frame, encode_binary_frame
from thalovant.protocol.canonical import parse_cleartext
from thalovant.protocol.envelope import (
    MAX_DEPTH,
    HiveMessage,
    bus_message,
    decode_message,
    encode_message,
    exceeds_depth,
)


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


def nested(levels: int, leaf: Any = 1) -> Any:
    """``levels`` containers (alternating objects and arrays) around ``leaf``."""
    value = leaf
    for n in range(levels):
        value = {"k": value} if n % 2 else [value]
    return value


def bus_frame(context_levels: int) -> bytes:
    """A bus envelope whose context holds ``context_levels`` more levels (envelope 1,
    payload 2, context 3)."""
    return json.dumps(
        {
            "msg_type": "bus",
            "payload": {"type": "t", "data": {}, "context": {"x": nested(context_levels)}},
        }
    ).encode()


@pytest.mark.parametrize("seed", range(40))
def test_exceeds_depth_matches_a_recursive_count(seed: int) -> None:
    rng = random.Random(seed)
    tricky = ['"[[[{{', '\\"]]}}', "\\\\", '"', "\u2028", "\\u005b", "}{][", "ü"]

    def build(budget: int) -> Any:
        roll = rng.random()
        if budget == 0 or roll < 0.3:
            return rng.choice([1, -2.5, True, None, "".join(rng.choices(tricky, k=3))])
        if roll < 0.65:
            return [build(budget - 1) for _ in range(rng.randint(0, 3))]
        return {"".join(rng.choices(tricky, k=2)) + str(i): build(budget - 1) for i in range(3)}

    value = build(rng.randint(0, 12))
    text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
    real = depth_of(value)
    for limit in (0, 1, max(0, real - 1), real, real + 1):
        assert exceeds_depth(text, limit) is (real > limit), (text, limit)
        assert exceeds_depth(text.encode(), limit) is (real > limit)


def test_the_envelope_decoder_takes_max_depth_and_refuses_one_more() -> None:
    decode_message(bus_frame(MAX_DEPTH - 3))
    with pytest.raises(ThalovantProtocolError, match="deeper than"):
        decode_message(bus_frame(MAX_DEPTH - 2))
    with pytest.raises(ThalovantProtocolError):  # what issue #11 sent: 900 deep
        decode_message(bus_frame(900))


@pytest.mark.parametrize("field", ["data", "context", "metadata", "route", "node"])
def test_the_limit_holds_in_every_field(field: str) -> None:
    def frame(levels: int) -> bytes:
        envelope: dict[str, Any] = {"msg_type": "bus", "payload": {"type": "t", "data": {}}}
        if field in ("data", "context"):
            envelope["payload"][field] = {"x": nested(levels - 3)}  # payload 2, field 3
        elif field == "route":
            envelope["route"] = [nested(levels - 2)]
        else:
            envelope[field] = {"x": nested(levels - 2)}
        assert depth_of(json.loads(json.dumps(envelope))) == levels
        return json.dumps(envelope).encode()

    decode_message(frame(MAX_DEPTH))
    with pytest.raises(ThalovantProtocolError):
        decode_message(frame(MAX_DEPTH + 1))


def test_the_encoder_refuses_what_the_decoder_would() -> None:
    ok = bus_message("t", {}, {"x": nested(MAX_DEPTH - 3)})
    assert decode_message(encode_message(ok)) is not None
    for levels in (MAX_DEPTH - 2, 900, 5000):
        with pytest.raises(ValueError, match="deeper than"):
            encode_message(bus_message("t", {}, {"x": nested(levels)}))
    # a deeply nested *struct* (mesh envelopes inside mesh envelopes) counts the same
    inner = bus_message("t")
    for _ in range(MAX_DEPTH):
        inner = HiveMessage("propagate", inner)
    with pytest.raises(ValueError):
        encode_message(inner)


def test_binary_frame_header_and_handshake_frames_use_the_same_limit() -> None:
    good = encode_binary_frame("bus", payload={"x": nested(MAX_DEPTH - 1)})
    decode_binary_frame(good)
    with pytest.raises(ValueError, match="deeper than"):
        encode_binary_frame("bus", payload={"x": nested(MAX_DEPTH)})
    empty = encode_binary_frame("bus", payload={})
    assert empty.endswith(b"{}")  # the JSON payload is the frame's tail
    bad = empty[:-2] + json.dumps({"x": nested(MAX_DEPTH)}).encode()
    with pytest.raises(ThalovantProtocolError, match="deeper than"):
        decode_binary_frame(bad)
    parse_cleartext(json.dumps({"payload": nested(MAX_DEPTH - 1)}))
    with pytest.raises(ThalovantProtocolError, match="deeper than"):
        parse_cleartext(json.dumps({"payload": nested(MAX_DEPTH)}))
