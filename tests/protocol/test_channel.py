"""SecureChannel: the post-handshake message path, both roles over one real handshake."""

from __future__ import annotations

import pytest

from thalovant.errors import ThalovantProtocolError
from thalovant.protocol.binary import BinaryFrame
from thalovant.protocol.channel import MalformedMessageError, SecureChannel
from thalovant.protocol.envelope import HiveMessage, bus_message, bus_payload
from thalovant.protocol.framing import CHUNK_SIZE
from thalovant.protocol.handshake import ClientHandshake, HubHandshake, generate_static_private
from thalovant.protocol.hello import client_hello

PSK = bytes(range(32))


def _pair() -> tuple[SecureChannel, SecureChannel]:
    client = ClientHandshake(generate_static_private())
    hub = HubHandshake(generate_static_private(), node_id="node-1", psk=PSK)
    outgoing: list[str] = []
    for frame in hub.initial_frames():
        outgoing += client.receive(frame)
    assert client.needs_psk
    to_hub = client.provide_psk(PSK)
    while not (client.complete and hub.complete):
        to_client = [reply for frame in to_hub for reply in hub.receive(frame)]
        to_hub = [reply for frame in to_client for reply in client.receive(frame)]
    c, h = client.result, hub.result
    return SecureChannel(c.send_cipher, c.recv_cipher), SecureChannel(h.send_cipher, h.recv_cipher)


def _deliver(sender_frames: list[bytes], receiver: SecureChannel) -> list[object]:
    out = [receiver.decrypt(frame) for frame in sender_frames]
    return [m for m in out if m is not None]


def test_client_hello_shape() -> None:
    hello = client_hello("thalovant-python-abc", "kiosk")
    assert hello.msg_type == "hello"
    assert hello.payload == {
        "pubkey": "",
        "session": {"session_id": "thalovant-python-abc"},
        "site_id": "kiosk",
    }


def test_messages_both_ways() -> None:
    client, hub = _pair()
    [got] = _deliver(client.encrypt_message(client_hello("s", "site")), hub)
    assert isinstance(got, HiveMessage)
    assert got.payload["site_id"] == "site"
    reply = bus_message("speak", {"utterance": "hi"}, {"request_id": "r"})
    [back] = _deliver(hub.encrypt_message(reply), client)
    assert isinstance(back, HiveMessage)
    assert bus_payload(back).data == {"utterance": "hi"}


def test_large_message_is_chunked_and_reassembled() -> None:
    client, hub = _pair()
    big = bus_message("blob", {"text": "x" * (3 * CHUNK_SIZE)})
    frames = client.encrypt_message(big)
    assert len(frames) == 4
    assert all(len(frame) <= 65535 for frame in frames)
    [got] = _deliver(frames, hub)
    assert isinstance(got, HiveMessage)
    assert bus_payload(got).data["text"] == "x" * (3 * CHUNK_SIZE)


def test_binary_frames_are_sent_and_decoded() -> None:
    client, hub = _pair()
    audio = bytes(range(256)) * 1000
    frames = client.encrypt_binary(
        "bin", metadata={"lang": "en-us"}, binary_kind="raw_audio", data=audio
    )
    [got] = _deliver(frames, hub)
    assert isinstance(got, BinaryFrame)
    assert got.binary_kind == "raw_audio"
    assert got.data == audio
    assert got.metadata == {"lang": "en-us"}


def test_bad_binary_arguments_are_typed() -> None:
    client, _ = _pair()
    with pytest.raises(ThalovantProtocolError):
        client.encrypt_binary("intercom")


def test_tampered_frame_breaks_the_channel() -> None:
    client, hub = _pair()
    [frame] = client.encrypt_message(client_hello("s", "site"))
    tampered = bytes([frame[0] ^ 1]) + frame[1:]
    with pytest.raises(ThalovantProtocolError):
        hub.decrypt(tampered)
    with pytest.raises(ThalovantProtocolError, match="broken"):
        hub.decrypt(frame)
    with pytest.raises(ThalovantProtocolError, match="broken"):
        hub.encrypt_message(client_hello("s", "site"))


def test_replayed_frame_is_rejected() -> None:
    client, hub = _pair()
    [frame] = client.encrypt_message(client_hello("s", "site"))
    hub.decrypt(frame)
    with pytest.raises(ThalovantProtocolError):
        hub.decrypt(frame)


def test_malformed_message_keeps_channel_usable() -> None:
    client, hub = _pair()
    # Encrypt a marker-0 plaintext that is not a HiveMind envelope.
    garbage = client._send.encrypt(b"\x00not json")
    with pytest.raises(MalformedMessageError):
        hub.decrypt(garbage)
    [got] = _deliver(client.encrypt_message(client_hello("s", "site")), hub)
    assert isinstance(got, HiveMessage)
