"""Envelope codecs: shape on the wire, strict decoding, mesh nesting, fuzzing."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thalovant.errors import ThalovantProtocolError
from thalovant.protocol.envelope import (
    MESH_KINDS,
    MSG_TYPES,
    BusMessage,
    HiveMessage,
    bus_message,
    bus_payload,
    decode_message,
    encode_message,
    inner_message,
    mesh_message,
)

EIGHT_KEYS = [
    "msg_type",
    "payload",
    "metadata",
    "route",
    "node",
    "target_site_id",
    "target_pubkey",
    "source_peer",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def test_encode_writes_all_eight_keys_in_order() -> None:
    raw = encode_message(HiveMessage("ping", {}))
    decoded = json.loads(raw)
    assert list(decoded) == EIGHT_KEYS
    assert decoded == {
        "msg_type": "ping",
        "payload": {},
        "metadata": {},
        "route": [],
        "node": None,
        "target_site_id": None,
        "target_pubkey": None,
        "source_peer": None,
    }


def test_encode_is_utf8_json_with_raw_non_ascii() -> None:
    raw = encode_message(bus_message("speak", {"utterance": "grüß dich ☃"}))
    assert isinstance(raw, bytes)
    assert "grüß dich ☃".encode() in raw


def test_bus_message_shape() -> None:
    msg = bus_message("recognizer_loop:utterance", {"utterances": ["hi"]}, {"request_id": "r"})
    decoded = json.loads(encode_message(msg))
    assert decoded["msg_type"] == "bus"
    assert decoded["payload"] == {
        "type": "recognizer_loop:utterance",
        "data": {"utterances": ["hi"]},
        "context": {"request_id": "r"},
    }
    assert list(decoded) == EIGHT_KEYS


def test_bus_message_defaults_are_fresh_dicts() -> None:
    one, two = bus_message("a"), bus_message("b")
    bus_payload(one).data["x"] = 1
    assert bus_payload(two).data == {}


@pytest.mark.parametrize("bad", ["", 3, None])
def test_bus_message_rejects_bad_type(bad: Any) -> None:
    with pytest.raises(ValueError):
        bus_message(bad)


def test_roundtrip_bus() -> None:
    msg = bus_message("speak", {"utterance": "hello"}, {"session": {"session_id": "s"}})
    msg.metadata["k"] = "v"
    msg.route.append({"source": "a", "targets": ["b"]})
    msg.target_site_id = "kitchen"
    back = decode_message(encode_message(msg))
    assert back.msg_type == "bus"
    assert back.metadata == {"k": "v"}
    assert back.route == [{"source": "a", "targets": ["b"]}]
    assert back.target_site_id == "kitchen"
    assert bus_payload(back) == bus_payload(msg)


def test_decode_accepts_str_bytearray_memoryview() -> None:
    raw = encode_message(HiveMessage("hello", {"node_id": "n"}))
    for form in (raw, raw.decode(), bytearray(raw), memoryview(raw)):
        assert decode_message(form).payload == {"node_id": "n"}


def test_decode_minimal_cleartext_frames() -> None:
    hello = decode_message(b'{"msg_type":"hello","payload":{"node_id":"n"}}')
    assert hello.metadata == {}
    assert hello.route == []
    assert hello.node is None
    shake = decode_message(b'{"msg_type":"shake","payload":{"noise":{}},"metadata":{},"route":[]}')
    assert shake.msg_type == "shake"


def test_handshake_alias_decodes_as_shake() -> None:
    assert decode_message(b'{"msg_type":"handshake","payload":{}}').msg_type == "shake"


def test_unknown_msg_type_passes_through_unchanged() -> None:
    msg = decode_message(b'{"msg_type":"future_kind","payload":[1,2]}')
    assert msg.msg_type == "future_kind"
    assert msg.msg_type not in MSG_TYPES


def test_unknown_fields_are_ignored() -> None:
    msg = decode_message(b'{"msg_type":"ping","payload":{},"extra":1}')
    assert msg.msg_type == "ping"


def test_null_metadata_and_route_read_as_empty() -> None:
    msg = decode_message(b'{"msg_type":"ping","payload":{},"metadata":null,"route":null}')
    assert msg.metadata == {}
    assert msg.route == []


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        (b"", "malformed JSON"),
        (b"not json", "malformed JSON"),
        (b'{"msg_type":"bus"', "malformed JSON"),
        (b"[1,2]", "invalid envelope"),
        (b'"text"', "invalid envelope"),
        (b'{"payload":{}}', "msg_type"),
        (b'{"msg_type":"ping"}', "payload"),
        (b'{"msg_type":7,"payload":{}}', "msg_type"),
        (b'{"msg_type":"","payload":{}}', "empty msg_type"),
        (b'{"msg_type":"ping","payload":{},"metadata":[]}', "metadata"),
        (b'{"msg_type":"ping","payload":{},"route":{}}', "route"),
        (b'{"msg_type":"bus","payload":[]}', "bus"),
        (b'{"msg_type":"bus","payload":{"data":{}}}', "bus"),
        (b'{"msg_type":"bus","payload":{"type":5}}', "bus"),
        (b'{"msg_type":"broadcast","payload":"x"}', "broadcast"),
        (b'{"msg_type":"ping","payload":1e400}', "invalid envelope"),
        (b'{"msg_type":"\xff","payload":{}}', "malformed JSON"),
    ],
)
def test_strict_errors_are_typed(frame: bytes, fragment: str) -> None:
    with pytest.raises(ThalovantProtocolError, match=fragment):
        decode_message(frame)


def test_deep_nesting_is_a_protocol_error() -> None:
    frame = b'{"msg_type":"ping","payload":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ThalovantProtocolError):
        decode_message(frame)


def test_error_text_is_bounded_and_does_not_echo_frame() -> None:
    secret = "s3cr3t" * 10_000
    frame = json.dumps({"msg_type": "bus", "payload": {"type": 1, "data": secret}})
    with pytest.raises(ThalovantProtocolError) as info:
        decode_message(frame)
    assert "s3cr3t" not in str(info.value)
    assert len(str(info.value)) < 300


def test_bus_payload_validation() -> None:
    ok = HiveMessage("bus", {"type": "t", "data": None})
    assert bus_payload(ok) == BusMessage("t", {}, {})
    for bad in ({"type": "t", "data": []}, {"type": "t", "context": "x"}, {"type": 1}, [1]):
        with pytest.raises(ThalovantProtocolError):
            bus_payload(HiveMessage("bus", bad))


def test_bus_payload_shares_dicts() -> None:
    msg = decode_message(b'{"msg_type":"bus","payload":{"type":"t","data":{"a":1}}}')
    bus_payload(msg).data["b"] = 2
    assert msg.payload["data"] == {"a": 1, "b": 2}


def test_mesh_nesting_roundtrip() -> None:
    inner = bus_message("speak", {"utterance": "hi"})
    outer = mesh_message("broadcast", inner, target_site_id="kitchen", route=[{"a": 1}])
    raw = encode_message(outer)
    decoded = json.loads(raw)
    assert list(decoded["payload"]) == EIGHT_KEYS
    assert decoded["payload"]["payload"]["type"] == "speak"
    back = decode_message(raw)
    assert back.msg_type == "broadcast"
    assert back.target_site_id == "kitchen"
    nested = inner_message(back)
    assert nested.msg_type == "bus"
    assert bus_payload(nested).data == {"utterance": "hi"}
    # a locally built message returns its own nested struct
    assert inner_message(outer) is inner


def test_mesh_two_levels_deep() -> None:
    msg = mesh_message("propagate", mesh_message("escalate", bus_message("x")))
    back = decode_message(encode_message(msg))
    assert bus_payload(inner_message(inner_message(back))).type == "x"


@pytest.mark.parametrize("kind", sorted(MESH_KINDS))
def test_every_mesh_kind_nests(kind: str) -> None:
    back = decode_message(encode_message(mesh_message(kind, bus_message("x"))))
    assert back.msg_type == kind
    assert inner_message(back).msg_type == "bus"


def test_inner_message_validation() -> None:
    with pytest.raises(ThalovantProtocolError, match="nested"):
        inner_message(HiveMessage("broadcast", {"payload": {}}))
    with pytest.raises(ThalovantProtocolError, match="bus"):
        inner_message(HiveMessage("broadcast", {"msg_type": "bus", "payload": {"type": 3}}))
    with pytest.raises(ThalovantProtocolError):
        inner_message(HiveMessage("broadcast", ["x"]))
    nested = inner_message(
        HiveMessage("broadcast", {"msg_type": "handshake", "payload": {}, "metadata": None})
    )
    assert nested.msg_type == "shake"
    assert nested.metadata == {}


def test_mesh_message_argument_checks() -> None:
    with pytest.raises(ValueError):
        mesh_message("bus", bus_message("x"))
    with pytest.raises(TypeError):
        mesh_message("broadcast", {"msg_type": "bus"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mesh_message("broadcast", bus_message("x"), colour="red")


def test_encode_unencodable_payload_is_type_error() -> None:
    with pytest.raises(TypeError):
        encode_message(HiveMessage("bus", BusMessage("x", {"obj": object()})))


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    try:
        msg = decode_message(data)
    except ThalovantProtocolError:
        return
    assert isinstance(msg, HiveMessage)


@given(json_values)
@settings(max_examples=300)
def test_fuzz_arbitrary_json(value: Any) -> None:
    with contextlib.suppress(ThalovantProtocolError):
        decode_message(msgspec.json.encode(value))


@given(
    st.sampled_from(sorted(MSG_TYPES | {"handshake", "odd"})),
    json_values,
    st.dictionaries(st.text(), json_values, max_size=3) | st.none() | json_values,
    st.lists(json_values, max_size=3) | st.none() | json_values,
)
@settings(max_examples=300)
def test_fuzz_envelope_shaped_json(kind: str, payload: Any, metadata: Any, route: Any) -> None:
    frame = msgspec.json.encode(
        {"msg_type": kind, "payload": payload, "metadata": metadata, "route": route}
    )
    try:
        msg = decode_message(frame)
    except ThalovantProtocolError:
        return
    for accessor in (bus_payload, inner_message):
        with contextlib.suppress(ThalovantProtocolError):
            accessor(msg)
    # whatever decoded must encode again
    assert decode_message(encode_message(msg)).msg_type == msg.msg_type


def test_swap_routing_answers_the_sender() -> None:
    from thalovant.protocol.envelope import swap_routing

    assert swap_routing({"source": "a", "destination": ["b", "c"], "x": 1}) == {
        "source": "b",
        "destination": "a",
        "x": 1,
    }
    assert swap_routing({"destination": []}) == {}
    assert swap_routing({"source": "hub"}) == {"destination": "hub"}
