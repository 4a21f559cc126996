"""ClientHandshake <-> HubHandshake end to end, frame shapes, every refusal path, fuzzing."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thalovant.errors import (
    ThalovantError,
    ThalovantHubKeyChangedError,
    ThalovantHubRefusedError,
    ThalovantProtocolError,
    ThalovantRuntimeError,
)
from thalovant.protocol.handshake import (
    MAX_NOISE_HEX_CHARS,
    ClientHandshake,
    HubHandshake,
    generate_static_private,
    x25519_public,
)
from thalovant.protocol.noise import SUITES, HandshakeState, NoiseDecryptError

CHACHA, AESGCM = SUITES
HELLO_EXTRA = {"pubkey": "ab" * 16, "peer": "hub::1"}


class World:
    """One hub identity and one client identity with a shared password-derived PSK."""

    def __init__(self) -> None:
        self.client_key = generate_static_private()
        self.hub_key = generate_static_private()
        self.psk = os.urandom(32)

    def client(self, **kw: Any) -> ClientHandshake:
        return ClientHandshake(self.client_key, **kw)

    def hub(self, **kw: Any) -> HubHandshake:
        args: dict[str, Any] = {"node_id": "node-1", "psk": self.psk, "hello_extra": HELLO_EXTRA}
        args.update(kw)
        return HubHandshake(self.hub_key, **args)


def offer_to(client: ClientHandshake, hub: HubHandshake) -> None:
    for frame in hub.initial_frames():
        assert client.receive(frame) == []
    assert client.needs_psk


def run(client: ClientHandshake, hub: HubHandshake, psk: bytes) -> list[str]:
    """Shuttle frames until both are complete; returns every frame the client sent."""
    offer_to(client, hub)
    sent = client.provide_psk(psk)
    outbox = list(sent)
    while outbox:
        replies = [reply for frame in outbox for reply in hub.receive(frame)]
        outbox = [frame for reply in replies for frame in client.receive(reply)]
        sent += outbox
    return sent


def assert_session(client: ClientHandshake, hub: HubHandshake) -> None:
    assert client.complete
    assert hub.complete
    c, h = client.result, hub.result
    assert c.remote_static == x25519_public(hub._static)
    assert h.remote_static == x25519_public(client._static)
    assert c.handshake_hash == h.handshake_hash
    assert (c.pattern, c.suite) == (h.pattern, h.suite)
    assert c.node_id == h.node_id == "node-1"
    assert c.hello_payload == h.hello_payload == {"node_id": "node-1", **HELLO_EXTRA}
    assert hub.client_options == {"binarize": False, "encodings": []}
    for n in range(3):
        data = b"\x00" + json.dumps({"n": n}).encode()
        assert h.recv_cipher.decrypt(c.send_cipher.encrypt(data)) == data
        assert c.recv_cipher.decrypt(h.send_cipher.encrypt(data)) == data


@pytest.mark.parametrize("suite", SUITES)
def test_xx_end_to_end(suite: str) -> None:
    w = World()
    client, hub = w.client(suites=(suite,)), w.hub()
    sent = run(client, hub, w.psk)
    assert client.pattern == "XXpsk2"
    assert client.result.suite == suite
    assert len(sent) == 2
    assert_session(client, hub)


@pytest.mark.parametrize("suite", SUITES)
def test_kk_end_to_end_with_pins(suite: str) -> None:
    w = World()
    hub_pub = x25519_public(w.hub_key)
    client = w.client(pinned_hub_key=hub_pub, suites=(suite,))
    hub = w.hub(known_client_key=x25519_public(w.client_key))
    sent = run(client, hub, w.psk)
    assert client.result.pattern == "KKpsk0"
    assert len(sent) == 1
    assert_session(client, hub)
    assert client.result.remote_static_hex == hub_pub.hex()


def test_xx_with_matching_pin_and_hex_pin() -> None:
    w = World()
    pin = x25519_public(w.hub_key).hex().upper()  # hex pins compare case-insensitively
    client, hub = w.client(pinned_hub_key=pin, allow_kk=False), w.hub()
    run(client, hub, w.psk)
    assert client.result.pattern == "XXpsk2"
    assert_session(client, hub)


def test_frame_shapes() -> None:
    w = World()
    client, hub = w.client(), w.hub(offer_extra={"max_protocol_version": 3})
    hello, offer = (json.loads(f) for f in hub.initial_frames())
    assert hello == {
        "msg_type": "hello",
        "payload": {"node_id": "node-1", **HELLO_EXTRA},
        "metadata": {},
        "route": [],
    }
    assert offer == {
        "msg_type": "shake",
        "payload": {
            "noise": {"patterns": ["XXpsk2", "KKpsk0"], "suites": list(SUITES)},
            "max_protocol_version": 3,
        },
        "metadata": {},
        "route": [],
    }
    offer_to(client, hub)
    (msg1,) = client.provide_psk(w.psk)
    parsed1 = json.loads(msg1)
    hex1 = parsed1["payload"]["noise"]["msg"]
    assert parsed1 == {
        "msg_type": "shake",
        "payload": {"noise": {"pattern": "XXpsk2", "suite": CHACHA, "msg": hex1}},
        "metadata": {},
        "route": [],
    }
    assert len(hex1) == 2 * (32 + 33 + 16)  # e + encrypted {"binarize":false,"encodings":[]}
    (msg2,) = hub.receive(msg1)
    parsed2 = json.loads(msg2)
    assert parsed2 == {
        "msg_type": "shake",
        "payload": {"noise": {"msg": parsed2["payload"]["noise"]["msg"]}},
        "metadata": {},
        "route": [],
    }
    (msg3,) = client.receive(msg2)
    parsed3 = json.loads(msg3)
    hex3 = parsed3["payload"]["noise"]["msg"]
    assert parsed3 == {
        "msg_type": "shake",
        "payload": {"noise": {"msg": hex3}},
        "metadata": {},
        "route": [],
    }
    assert len(hex3) == 2 * (48 + 16)  # encrypted s + empty payload tag
    assert hex3 == hex3.lower()
    assert hub.receive(msg3) == []
    assert_session(client, hub)


def test_handshake_msg_type_alias_and_extra_keys_accepted() -> None:
    w = World()
    client, hub = w.client(), w.hub()
    hello, offer = (json.loads(f) for f in hub.initial_frames())
    offer["msg_type"] = "handshake"
    hello["node"] = None
    client.receive(json.dumps(hello, indent=2))
    client.receive(json.dumps(offer, ensure_ascii=True))
    msg2 = hub.receive(client.provide_psk(w.psk)[0])
    hub.receive(client.receive(msg2[0])[0])
    assert_session(client, hub)


@pytest.mark.parametrize(
    ("client_suites", "hub_suites", "expected"),
    [
        (SUITES, SUITES, CHACHA),
        (SUITES, (AESGCM, CHACHA), CHACHA),  # the client's preference wins
        (SUITES, (AESGCM,), AESGCM),
        ((AESGCM, CHACHA), SUITES, AESGCM),
    ],
)
def test_suite_selection(client_suites: Any, hub_suites: Any, expected: str) -> None:
    w = World()
    client, hub = w.client(suites=client_suites), w.hub(suites=hub_suites)
    run(client, hub, w.psk)
    assert client.result.suite == hub.result.suite == expected


@pytest.mark.parametrize(
    ("pinned", "allow_kk", "hub_patterns", "expected"),
    [
        (True, True, ("XXpsk2", "KKpsk0"), "KKpsk0"),
        (True, False, ("XXpsk2", "KKpsk0"), "XXpsk2"),
        (True, True, ("XXpsk2",), "XXpsk2"),
        (False, True, ("KKpsk0", "XXpsk2"), "XXpsk2"),
    ],
)
def test_pattern_selection(pinned: bool, allow_kk: bool, hub_patterns: Any, expected: str) -> None:
    w = World()
    pin = x25519_public(w.hub_key) if pinned else None
    client = w.client(pinned_hub_key=pin, allow_kk=allow_kk)
    hub = w.hub(patterns=hub_patterns, known_client_key=x25519_public(w.client_key))
    run(client, hub, w.psk)
    assert client.result.pattern == expected


def test_no_common_suite() -> None:
    w = World()
    client, hub = w.client(suites=(CHACHA,)), w.hub(suites=(AESGCM,))
    hello, offer = hub.initial_frames()
    client.receive(hello)
    with pytest.raises(ThalovantProtocolError, match="no common Noise suite"):
        client.receive(offer)
    assert client.failed


@pytest.mark.parametrize("pinned", [False, True])
def test_no_acceptable_pattern(pinned: bool) -> None:
    w = World()
    pin = x25519_public(w.hub_key) if pinned else None
    client = w.client(pinned_hub_key=pin, allow_kk=False)
    hub = w.hub(patterns=("KKpsk0",), known_client_key=x25519_public(w.client_key))
    hello, offer = hub.initial_frames()
    client.receive(hello)
    with pytest.raises(ThalovantProtocolError, match="no acceptable Noise pattern"):
        client.receive(offer)


def test_hub_key_changed_in_xx() -> None:
    w = World()
    client = w.client(pinned_hub_key=x25519_public(generate_static_private()), allow_kk=False)
    hub = w.hub()
    offer_to(client, hub)
    msg2 = hub.receive(client.provide_psk(w.psk)[0])
    with pytest.raises(ThalovantHubKeyChangedError, match="pinned"):
        client.receive(msg2[0])  # no message 3 is produced: our static is never sent
    assert not client.complete


def test_hub_key_changed_in_kk_is_refused_by_the_hub() -> None:
    w = World()
    client = w.client(pinned_hub_key=x25519_public(generate_static_private()))
    hub = w.hub(known_client_key=x25519_public(w.client_key))
    offer_to(client, hub)
    with pytest.raises(NoiseDecryptError):
        hub.receive(client.provide_psk(w.psk)[0])


def test_wrong_password_xx_refused_at_message_2() -> None:
    w = World()
    client, hub = w.client(), w.hub()
    offer_to(client, hub)
    msg2 = hub.receive(client.provide_psk(os.urandom(32))[0])  # psk2: msg1 still opens
    with pytest.raises(ThalovantHubRefusedError, match="wrong password"):
        client.receive(msg2[0])
    assert client.pattern == "XXpsk2"


def test_wrong_password_kk_refused_by_the_hub_at_message_1() -> None:
    w = World()
    client = w.client(pinned_hub_key=x25519_public(w.hub_key))
    hub = w.hub(known_client_key=x25519_public(w.client_key))
    offer_to(client, hub)
    with pytest.raises(NoiseDecryptError):
        hub.receive(client.provide_psk(os.urandom(32))[0])
    assert hub.failed


def test_tampered_kk_message_2_names_kk_for_the_retry() -> None:
    w = World()
    client = w.client(pinned_hub_key=x25519_public(w.hub_key))
    hub = w.hub(known_client_key=x25519_public(w.client_key))
    offer_to(client, hub)
    frame = json.loads(hub.receive(client.provide_psk(w.psk)[0])[0])
    data = bytearray.fromhex(frame["payload"]["noise"]["msg"])
    data[-1] ^= 1
    frame["payload"]["noise"]["msg"] = data.hex()
    with pytest.raises(ThalovantHubRefusedError, match="KKpsk0") as info:
        client.receive(json.dumps(frame))
    assert "XXpsk2" in str(info.value)
    assert client.pattern == "KKpsk0"


def test_tampered_message_3_fails_on_the_hub() -> None:
    w = World()
    client, hub = w.client(), w.hub()
    offer_to(client, hub)
    msg3 = json.loads(client.receive(hub.receive(client.provide_psk(w.psk)[0])[0])[0])
    data = bytearray.fromhex(msg3["payload"]["noise"]["msg"])
    data[0] ^= 1  # always a change ("00" + rest was none when the first byte was 00)
    msg3["payload"]["noise"]["msg"] = data.hex()
    with pytest.raises(NoiseDecryptError):
        hub.receive(json.dumps(msg3))


def test_changed_hello_breaks_the_prologue() -> None:
    w = World()
    client, hub = w.client(), w.hub()
    hello, offer = (json.loads(f) for f in hub.initial_frames())
    hello["payload"]["peer"] = "someone else"  # a man in the middle editing cleartext
    client.receive(json.dumps(hello))
    client.receive(json.dumps(offer))
    msg1 = client.provide_psk(w.psk)[0]
    with pytest.raises(NoiseDecryptError):
        hub.receive(msg1)


def hello_frame(payload: Any) -> str:
    return json.dumps({"msg_type": "hello", "payload": payload})


def shake(noise: Any) -> str:
    return json.dumps({"msg_type": "shake", "payload": {"noise": noise}})


OFFER = shake({"patterns": ["XXpsk2"], "suites": [CHACHA]})


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        ([hello_frame({"node_id": "n"}), hello_frame({"node_id": "n"})], "second cleartext HELLO"),
        ([OFFER], "before the hub's HELLO"),
        ([hello_frame({})], "no node_id"),
        ([hello_frame({"node_id": ""})], "no node_id"),
        ([hello_frame({"node_id": 7})], "no node_id"),
        ([hello_frame([1])], "no payload object"),
        ([json.dumps({"msg_type": "hello"})], "no payload object"),
        ([b'{"msg_type":"hello","payload":{"node_id":"n"}}'], "binary frame"),
        (["garbage"], "not valid JSON"),
        (["[]"], "JSON object"),
        (['{"payload":{}}'], "msg_type"),
        ([json.dumps({"msg_type": "bus", "payload": {}})], "unexpected 'bus'"),
        ([hello_frame({"node_id": "n"}), json.dumps({"msg_type": "shake", "payload": {}})],
         "payload.noise"),
        ([hello_frame({"node_id": "n"}),
          shake({"patterns": "XXpsk2", "suites": []})],
         "list of strings"),
        ([hello_frame({"node_id": "n"}),
          shake({"patterns": [], "suites": [], "msg": "00"})],
         "before the hub's handshake offer"),
        ([hello_frame({"node_id": "n"}), OFFER, OFFER], "unexpected 'shake'"),  # PSK not given yet
        (["x" * (256 * 1024 + 1)], "too large"),
        ([hello_frame({"node_id": "n", "bad": "\ud800"})], "canonical"),
    ],
)  # fmt: skip
def test_client_rejects(frames: list[Any], match: str) -> None:
    client = ClientHandshake(generate_static_private())
    for frame in frames[:-1]:
        client.receive(frame)
    with pytest.raises(ThalovantProtocolError, match=match):
        client.receive(frames[-1])
    assert client.failed
    with pytest.raises(ThalovantProtocolError, match="already failed"):
        client.receive(hello_frame({"node_id": "n"}))


def msg2_frame(msg: Any) -> str:
    return shake({"msg": msg})


@pytest.mark.parametrize(
    ("frame", "error", "match"),
    [
        (msg2_frame("00" * (MAX_NOISE_HEX_CHARS // 2 + 1)), ThalovantProtocolError, "limit"),
        (msg2_frame("abc"), ThalovantProtocolError, "not valid hex"),
        (msg2_frame("zz"), ThalovantProtocolError, "not valid hex"),
        (msg2_frame("aa bb"), ThalovantProtocolError, "not valid hex"),
        (msg2_frame("é0"), ThalovantProtocolError, "not valid hex"),
        (msg2_frame(42), ThalovantProtocolError, "hex string"),
        (msg2_frame(""), ThalovantProtocolError, "too short"),
        (msg2_frame("11" * 40), ThalovantProtocolError, "too short"),
        (msg2_frame("00" * 40), ThalovantProtocolError, "invalid X25519"),
        (msg2_frame("11" * 200), ThalovantHubRefusedError, "wrong password"),
        (hello_frame({"node_id": "n"}), ThalovantProtocolError, "second cleartext HELLO"),
    ],
)
def test_client_rejects_bad_message_2(frame: str, error: type[Exception], match: str) -> None:
    w = World()
    client, hub = w.client(), w.hub()
    offer_to(client, hub)
    client.provide_psk(w.psk)
    with pytest.raises(error, match=match):
        client.receive(frame)
    assert client.failed


def test_oversized_but_valid_length_msg2_is_refused_without_decoding() -> None:
    w = World()
    client, hub = w.client(), w.hub()
    offer_to(client, hub)
    client.provide_psk(w.psk)
    with pytest.raises(ThalovantProtocolError, match="131070"):
        client.receive(msg2_frame("ab" * 65536))


def test_api_misuse_is_typed() -> None:
    w = World()
    client, hub = w.client(), w.hub()
    with pytest.raises(ThalovantRuntimeError):
        client.provide_psk(w.psk)
    with pytest.raises(ThalovantRuntimeError):
        _ = client.result
    with pytest.raises(ThalovantRuntimeError):
        _ = hub.result
    offer_to(client, hub)
    with pytest.raises(ValueError):
        client.provide_psk(b"short")
    run_rest = hub.receive(client.provide_psk(w.psk)[0])
    hub.receive(client.receive(run_rest[0])[0])
    with pytest.raises(ThalovantProtocolError, match="after the Noise session"):
        client.receive(hello_frame({"node_id": "n"}))
    with pytest.raises(ThalovantProtocolError, match="after the Noise session"):
        hub.receive(msg2_frame("00"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"static_private": b"short"},
        {"pinned_hub_key": b"x" * 31},
        {"pinned_hub_key": "zz"},
        {"suites": ()},
        {"suites": ("25519_ChaChaPoly_BLAKE2s",)},
    ],
)
def test_client_constructor_validation(kwargs: dict[str, Any]) -> None:
    static = kwargs.pop("static_private", generate_static_private())
    with pytest.raises(ValueError):
        ClientHandshake(static, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"node_id": ""},
        {"psk": b"short"},
        {"patterns": ()},
        {"patterns": ("NN",)},
        {"suites": ("x",)},
        {"hello_extra": {"node_id": "other"}},
        {"offer_extra": {"noise": {}}},
        {"known_client_key": b"short"},
    ],
)
def test_hub_constructor_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        World().hub(**kwargs)


def msg1_frame(pattern: Any, suite: Any, msg: Any = "00" * 81) -> str:
    return shake({"pattern": pattern, "suite": suite, "msg": msg})


@pytest.mark.parametrize(
    ("frame", "error", "match"),
    [
        (msg1_frame("NNpsk0", CHACHA), ThalovantProtocolError, "pattern that was not offered"),
        (msg1_frame("XXpsk2", AESGCM), ThalovantProtocolError, "suite that was not offered"),
        (msg1_frame(None, CHACHA), ThalovantProtocolError, "pattern"),
        (msg1_frame("XXpsk2", CHACHA, "0"), ThalovantProtocolError, "not valid hex"),
        (msg1_frame("XXpsk2", CHACHA), NoiseDecryptError, "authenticate"),
        (msg1_frame("KKpsk0", CHACHA), ThalovantHubRefusedError, "static key is unknown"),
        (hello_frame({"a": 1}) + " ", ThalovantProtocolError, "unexpected 'hello'"),  # 2nd
        (b"\x00\x01", ThalovantProtocolError, "binary frame"),
        (msg2_frame("00"), ThalovantProtocolError, "pattern"),
        ('{"msg_type":"shake","payload":{"noise":[]}}', ThalovantProtocolError, "payload.noise"),
    ],
)
def test_hub_rejects(frame: Any, error: type[Exception], match: str) -> None:
    hub = World().hub(suites=(CHACHA,))
    hub.receive(hello_frame({"site_id": "x"}))  # MQTT clients send a cleartext HELLO first
    assert hub.client_hello == {"site_id": "x"}
    with pytest.raises(error, match=match):
        hub.receive(frame)
    assert hub.failed


@pytest.mark.parametrize("payload", [b"not json", b"[1]", b"\xff", b""])
def test_hub_parses_message_1_payload_leniently(payload: bytes) -> None:
    w = World()
    client, hub = w.client(), w.hub()
    offer_to(client, hub)
    assert client.prologue is not None
    # A client with other message-1 options: same prologue and keys, different payload.
    other = HandshakeState(
        "XXpsk2", CHACHA, initiator=True, static_private=w.client_key, psk=w.psk,
        prologue=client.prologue,
    )  # fmt: skip
    noise = {"pattern": "XXpsk2", "suite": CHACHA, "msg": other.write_message(payload).hex()}
    msg2 = hub.receive(json.dumps({"msg_type": "shake", "payload": {"noise": noise}}))
    assert hub.client_options == {}
    assert msg2


# -- prologue -------------------------------------------------------------------------------

KEYS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8)
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(st.characters(codec="utf-8"), max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
EXTRAS = st.dictionaries(KEYS.filter(lambda k: k not in ("node_id", "noise")), VALUES, max_size=5)


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(hello_extra=EXTRAS, offer_extra=EXTRAS, ascii_frames=st.booleans())
def test_prologue_agrees_and_is_canonical(
    hello_extra: dict[str, Any], offer_extra: dict[str, Any], ascii_frames: bool
) -> None:
    w = World()
    client = w.client()
    hub = w.hub(hello_extra={"ünïcode": "☃", **hello_extra}, offer_extra=offer_extra)
    for frame in hub.initial_frames():
        # Re-encode the way another hub might (escaped non-ASCII, indentation): same values.
        client.receive(json.dumps(json.loads(frame), ensure_ascii=ascii_frames, indent=1))
    hub.receive(client.provide_psk(w.psk)[0])
    expected = (
        canonical(hub.hello_payload)
        + canonical(hub.offer_payload)
        + b"Noise_XXpsk2_25519_ChaChaPoly_SHA256"
    )
    assert client.prologue == hub.prologue == expected


# -- fuzzing: only ThalovantError may escape -------------------------------------------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
MSG_TYPES = st.sampled_from(["hello", "shake", "handshake", "bus", ""]) | st.text(max_size=5)
NOISE_BLOCKS = st.fixed_dictionaries(
    {},
    optional={
        "pattern": st.sampled_from(["XXpsk2", "KKpsk0"]) | JSONISH,
        "suite": st.sampled_from(SUITES) | JSONISH,
        "patterns": st.lists(st.sampled_from(["XXpsk2", "KKpsk0", "x"])) | JSONISH,
        "suites": st.lists(st.sampled_from([*SUITES, "x"])) | JSONISH,
        "msg": st.binary(max_size=120).map(bytes.hex) | st.text(max_size=8) | JSONISH,
    },
)
PAYLOADS = st.fixed_dictionaries(
    {}, optional={"node_id": st.text(max_size=5) | JSONISH, "noise": NOISE_BLOCKS | JSONISH}
)
FRAMES = (
    st.sampled_from([hello_frame({"node_id": "n"}), OFFER])  # reach the later states too
    | st.builds(
        lambda t, p: json.dumps({"msg_type": t, "payload": p}), MSG_TYPES, PAYLOADS | JSONISH
    )
    | st.text(max_size=40)
    | st.binary(max_size=40)
    | JSONISH.map(json.dumps)
)


@settings(max_examples=300)
@given(frames=st.lists(FRAMES, max_size=5), psk_after=st.integers(0, 5))
def test_fuzz_client(frames: list[Any], psk_after: int) -> None:
    client = ClientHandshake(generate_static_private(), pinned_hub_key=b"\1" * 32)
    try:
        for index, frame in enumerate(frames):
            if index == psk_after and client.needs_psk:
                client.provide_psk(b"\2" * 32)
            client.receive(frame)
    except ThalovantError:
        pass


@settings(max_examples=150)
@given(prefix=st.lists(FRAMES, max_size=2), tail=st.lists(FRAMES, max_size=3))
def test_fuzz_client_after_a_real_offer(prefix: list[Any], tail: list[Any]) -> None:
    w = World()
    client, hub = w.client(), w.hub()
    try:
        offer_to(client, hub)
        for frame in prefix:
            client.receive(frame)
    except ThalovantError:
        return
    try:
        client.provide_psk(w.psk)
        for frame in tail:
            client.receive(frame)
    except ThalovantError:
        pass


@settings(max_examples=300)
@given(frames=st.lists(FRAMES, max_size=5), known=st.booleans())
def test_fuzz_hub(frames: list[Any], known: bool) -> None:
    hub = World().hub(known_client_key=b"\3" * 32 if known else None)
    try:
        for frame in frames:
            hub.receive(frame)
    except ThalovantError:
        pass


@settings(max_examples=150)
@given(frames=st.lists(FRAMES, min_size=1, max_size=3))
def test_fuzz_hub_after_a_real_message_1(frames: list[Any]) -> None:
    w = World()
    client, hub = w.client(), w.hub()
    offer_to(client, hub)
    hub.receive(client.provide_psk(w.psk)[0])
    try:
        for frame in frames:
            hub.receive(frame)
    except ThalovantError:
        pass
