"""Regenerate ``noise_vectors.json`` with the independent ``noiseprotocol`` package.

    .venv/bin/python tests/protocol/vectors/make_noise_vectors.py

Every input is fixed (static and ephemeral keys, PSK, prologue, payloads), so the output is
deterministic; ``test_noise.py`` replays the inputs through ``thalovant.protocol.noise`` and
asserts every handshake message, the handshake hash and the first transport message in each
direction match byte for byte. This script deliberately does not import thalovant's Noise code:
the expected bytes must come from the other implementation.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

from noise.connection import Keypair, NoiseConnection

OUT = Path(__file__).with_name("noise_vectors.json")

HELLO = {"node_id": "node-1", "peer": "hub-peer", "pubkey": "00ff", "note": "Grüße ☃"}
OFFER = {
    "noise": {
        "patterns": ["XXpsk2", "KKpsk0"],
        "suites": ["25519_ChaChaPoly_SHA256", "25519_AESGCM_SHA256"],
    },
    "max_protocol_version": 3,
}
MSG1_PAYLOAD = b'{"binarize":false,"encodings":[]}'
CLIENT_FIRST = b'\x00{"msg_type": "hello", "payload": {"site_id": "vectors"}}'
HUB_FIRST = b'\x00{"msg_type": "bus", "payload": {"type": "speak"}}'


def _key(label: str) -> bytes:
    return hashlib.sha256(f"thalovant noise vectors: {label}".encode()).digest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _transcript(pattern: str, suite: str) -> dict[str, Any]:
    name = f"Noise_{pattern}_{suite}"
    keys = {
        "initiator_static": _key("initiator static"),
        "initiator_ephemeral": _key(f"initiator ephemeral {pattern} {suite}"),
        "responder_static": _key("responder static"),
        "responder_ephemeral": _key(f"responder ephemeral {pattern} {suite}"),
    }
    psk = _key("psk")
    prologue = _canonical(HELLO) + _canonical(OFFER) + name.encode()
    kk = pattern == "KKpsk0"

    def party(initiator: bool) -> NoiseConnection:
        me, peer = ("initiator", "responder") if initiator else ("responder", "initiator")
        conn = NoiseConnection.from_name(name.encode())
        conn.set_psks(psk)
        conn.set_prologue(prologue)
        conn.set_keypair_from_private_bytes(Keypair.STATIC, keys[f"{me}_static"])
        conn.set_keypair_from_private_bytes(Keypair.EPHEMERAL, keys[f"{me}_ephemeral"])
        if kk:
            peer_conn = NoiseConnection.from_name(name.encode())
            peer_conn.set_keypair_from_private_bytes(Keypair.STATIC, keys[f"{peer}_static"])
            public = peer_conn.noise_protocol.keypairs["s"].public_bytes
            conn.set_keypair_from_public_bytes(Keypair.REMOTE_STATIC, public)
        if initiator:
            conn.set_as_initiator()
        else:
            conn.set_as_responder()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "ephemeral keypair already set": intended here
            conn.start_handshake()
        return conn

    initiator, responder = party(True), party(False)
    payloads = [MSG1_PAYLOAD, b""] if kk else [MSG1_PAYLOAD, b"", b""]
    messages = []
    writer, reader = initiator, responder
    for payload in payloads:
        message = bytes(writer.write_message(payload))
        assert bytes(reader.read_message(message)) == payload
        messages.append({"payload": payload.hex(), "message": message.hex()})
        writer, reader = reader, writer
    assert initiator.handshake_finished
    assert responder.handshake_finished
    to_responder = initiator.encrypt(CLIENT_FIRST)
    to_initiator = responder.encrypt(HUB_FIRST)
    assert responder.decrypt(to_responder) == CLIENT_FIRST
    assert initiator.decrypt(to_initiator) == HUB_FIRST
    return {
        "protocol_name": name,
        "pattern": pattern,
        "suite": suite,
        **{k: v.hex() for k, v in keys.items()},
        "psk": psk.hex(),
        "prologue": prologue.hex(),
        "messages": messages,
        "handshake_hash": initiator.get_handshake_hash().hex(),
        "transport": [
            {"direction": "initiator->responder", "plaintext": CLIENT_FIRST.hex(),
             "ciphertext": to_responder.hex()},
            {"direction": "responder->initiator", "plaintext": HUB_FIRST.hex(),
             "ciphertext": to_initiator.hex()},
        ],
    }  # fmt: skip


def main() -> None:
    vectors = {
        "generator": (
            "tests/protocol/vectors/make_noise_vectors.py with noiseprotocol "
            f"{version('noiseprotocol')} on cryptography {version('cryptography')}"
        ),
        "notes": (
            "All keys are raw 32-byte X25519 private keys (hex); KK pre-messages use the "
            "public keys derived from the static private keys. Prologue = canonical JSON of "
            "a HiveMind HELLO payload + offer payload + protocol name (docs/protocol.md 2.3)."
        ),
        "vectors": [
            _transcript(pattern, suite)
            for pattern in ("XXpsk2", "KKpsk0")
            for suite in ("25519_ChaChaPoly_SHA256", "25519_AESGCM_SHA256")
        ],
    }
    OUT.write_text(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
