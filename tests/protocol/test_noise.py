"""Our Noise engine: both roles, against noiseprotocol, known answers, tampering, nonces."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, Protocol

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from noise.connection import Keypair, NoiseConnection

from thalovant.errors import ThalovantProtocolError
from thalovant.protocol import noise_cipher
from thalovant.protocol.noise import (
    MAX_MESSAGE_LEN,
    MAX_NONCE,
    PATTERN_KK,
    PATTERNS,
    SUITES,
    CipherState,
    HandshakeState,
    NoiseDecryptError,
    NoiseError,
    SymmetricState,
    generate_private_key,
    protocol_name,
    public_key,
)

COMBOS = [(p, s) for p in PATTERNS for s in SUITES]
VECTORS = json.loads((Path(__file__).parent / "vectors" / "noise_vectors.json").read_text("utf-8"))
PAYLOAD1 = b'{"binarize":false,"encodings":[]}'


class Party(Protocol):
    def write(self, payload: bytes) -> bytes: ...
    def read(self, message: bytes) -> bytes: ...
    def encrypt(self, plaintext: bytes) -> bytes: ...
    def decrypt(self, ciphertext: bytes) -> bytes: ...
    def done(self) -> bool: ...
    def hash(self) -> bytes: ...


class Ours:
    def __init__(self, hs: HandshakeState) -> None:
        self.hs = hs

    def write(self, payload: bytes) -> bytes:
        return self.hs.write_message(payload)

    def read(self, message: bytes) -> bytes:
        return self.hs.read_message(message)

    def encrypt(self, plaintext: bytes) -> bytes:
        return self.hs.send_cipher.encrypt(plaintext)

    def decrypt(self, ciphertext: bytes) -> bytes:
        return self.hs.recv_cipher.decrypt(ciphertext)

    def done(self) -> bool:
        return self.hs.is_complete

    def hash(self) -> bytes:
        return self.hs.handshake_hash


class Theirs:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def write(self, payload: bytes) -> bytes:
        return bytes(self.conn.write_message(payload))

    def read(self, message: bytes) -> bytes:
        return bytes(self.conn.read_message(message))

    def encrypt(self, plaintext: bytes) -> bytes:
        return bytes(self.conn.encrypt(plaintext))

    def decrypt(self, ciphertext: bytes) -> bytes:
        return bytes(self.conn.decrypt(ciphertext))

    def done(self) -> bool:
        return bool(self.conn.handshake_finished)

    def hash(self) -> bytes:
        return bytes(self.conn.get_handshake_hash())


class Keys:
    def __init__(self) -> None:
        self.si, self.sr = generate_private_key(), generate_private_key()
        self.ei, self.er = generate_private_key(), generate_private_key()
        self.psk = os.urandom(32)
        self.prologue = b"prologue \xe2\x98\x83"


def ours(pattern: str, suite: str, keys: Keys, *, initiator: bool, fixed_e: bool = False) -> Ours:
    mine, theirs = (keys.si, keys.sr) if initiator else (keys.sr, keys.si)
    return Ours(
        HandshakeState(
            pattern,
            suite,
            initiator=initiator,
            static_private=mine,
            psk=keys.psk,
            prologue=keys.prologue,
            remote_static=public_key(theirs) if pattern == PATTERN_KK else None,
            ephemeral_private=(keys.ei if initiator else keys.er) if fixed_e else None,
        )
    )


def theirs(pattern: str, suite: str, keys: Keys, *, initiator: bool) -> Theirs:
    mine, other = (keys.si, keys.sr) if initiator else (keys.sr, keys.si)
    conn = NoiseConnection.from_name(protocol_name(pattern, suite).encode())
    conn.set_psks(keys.psk)
    conn.set_prologue(keys.prologue)
    conn.set_keypair_from_private_bytes(Keypair.STATIC, mine)
    if pattern == PATTERN_KK:
        conn.set_keypair_from_public_bytes(Keypair.REMOTE_STATIC, public_key(other))
    if initiator:
        conn.set_as_initiator()
    else:
        conn.set_as_responder()
    conn.start_handshake()
    return Theirs(conn)


def run_handshake(initiator: Party, responder: Party, pattern: str) -> None:
    count = 2 if pattern == PATTERN_KK else 3
    writer, reader = initiator, responder
    for i in range(count):
        payload = PAYLOAD1 if i == 0 else bytes([i]) * i
        assert reader.read(writer.write(payload)) == payload
        writer, reader = reader, writer
    assert initiator.done()
    assert responder.done()
    assert initiator.hash() == responder.hash()


def exchange(a: Party, b: Party, count: int) -> None:
    for i in range(count):
        data = os.urandom(i % 50)
        assert b.decrypt(a.encrypt(data)) == data
        assert a.decrypt(b.encrypt(data[::-1])) == data[::-1]


@pytest.mark.parametrize(("pattern", "suite"), COMBOS)
def test_ours_both_roles(pattern: str, suite: str) -> None:
    keys = Keys()
    i = ours(pattern, suite, keys, initiator=True)
    r = ours(pattern, suite, keys, initiator=False)
    run_handshake(i, r, pattern)
    assert i.hs.remote_static == public_key(keys.sr)
    assert r.hs.remote_static == public_key(keys.si)
    assert i.hs.local_static == public_key(keys.si)
    exchange(i, r, 20)


@pytest.mark.parametrize(("pattern", "suite"), COMBOS)
@pytest.mark.parametrize("our_role", ["initiator", "responder"])
def test_cross_implementation(pattern: str, suite: str, our_role: str) -> None:
    keys = Keys()
    if our_role == "initiator":
        a: Party = ours(pattern, suite, keys, initiator=True)
        b: Party = theirs(pattern, suite, keys, initiator=False)
    else:
        a = theirs(pattern, suite, keys, initiator=True)
        b = ours(pattern, suite, keys, initiator=False)
    run_handshake(a, b, pattern)
    # Past nonce 256, where a wrong counter byte order would first diverge.
    exchange(a, b, 300)


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["protocol_name"])
def test_known_answers(vector: dict[str, Any]) -> None:
    h = bytes.fromhex
    kk = vector["pattern"] == PATTERN_KK
    si, sr = h(vector["initiator_static"]), h(vector["responder_static"])

    def party(initiator: bool) -> HandshakeState:
        return HandshakeState(
            vector["pattern"],
            vector["suite"],
            initiator=initiator,
            static_private=si if initiator else sr,
            psk=h(vector["psk"]),
            prologue=h(vector["prologue"]),
            remote_static=public_key(sr if initiator else si) if kk else None,
            ephemeral_private=h(
                vector["initiator_ephemeral" if initiator else "responder_ephemeral"]
            ),
        )

    i, r = party(True), party(False)
    assert i.protocol_name == vector["protocol_name"]
    writer, reader = i, r
    for step in vector["messages"]:
        message = writer.write_message(h(step["payload"]))
        assert message.hex() == step["message"]
        assert reader.read_message(message) == h(step["payload"])
        writer, reader = reader, writer
    assert i.handshake_hash.hex() == r.handshake_hash.hex() == vector["handshake_hash"]
    to_r, to_i = vector["transport"]
    assert i.send_cipher.encrypt(h(to_r["plaintext"])).hex() == to_r["ciphertext"]
    assert r.recv_cipher.decrypt(h(to_r["ciphertext"])).hex() == to_r["plaintext"]
    assert r.send_cipher.encrypt(h(to_i["plaintext"])).hex() == to_i["ciphertext"]
    assert i.recv_cipher.decrypt(h(to_i["ciphertext"])).hex() == to_i["plaintext"]


def test_vectors_cover_every_pattern_and_suite() -> None:
    assert {(v["pattern"], v["suite"]) for v in VECTORS["vectors"]} == set(COMBOS)
    assert "noiseprotocol" in VECTORS["generator"]


@pytest.mark.parametrize(("pattern", "suite"), COMBOS)
def test_flipping_any_handshake_byte_is_detected(pattern: str, suite: str) -> None:
    keys = Keys()
    count = 2 if pattern == PATTERN_KK else 3
    # With fixed ephemerals every run produces the same transcript, so message k of a fresh
    # run is the honest message k and we can tamper with one byte of it at a time.
    honest = [ours(pattern, suite, keys, initiator=True, fixed_e=True)]
    honest.append(ours(pattern, suite, keys, initiator=False, fixed_e=True))
    transcript = []
    for k in range(count):
        message = honest[k % 2].write(b"p" * k)
        honest[1 - k % 2].read(message)
        transcript.append(message)

    for k, message in enumerate(transcript):
        for pos in range(len(message)):
            parties = [ours(pattern, suite, keys, initiator=True, fixed_e=True)]
            parties.append(ours(pattern, suite, keys, initiator=False, fixed_e=True))
            for j in range(k):
                assert parties[j % 2].write(b"p" * j) == transcript[j]
                parties[1 - j % 2].read(transcript[j])
            assert parties[k % 2].write(b"p" * k) == message
            tampered = bytearray(message)
            tampered[pos] ^= 0xFF
            reader = parties[1 - k % 2].hs
            with pytest.raises(ThalovantProtocolError):
                reader.read_message(bytes(tampered))
            with pytest.raises(NoiseError, match="already failed"):
                reader.read_message(message)
        # Truncated or extended messages are typed errors too.
        for bad in (message[:-1], message[:31], b"", message + b"\0"):
            parties = [ours(pattern, suite, keys, initiator=True, fixed_e=True)]
            parties.append(ours(pattern, suite, keys, initiator=False, fixed_e=True))
            for j in range(k):
                parties[1 - j % 2].read(parties[j % 2].write(b"p" * j))
            parties[k % 2].write(b"p" * k)
            with pytest.raises(ThalovantProtocolError):
                parties[1 - k % 2].read(bad)


@pytest.mark.parametrize("suite", SUITES)
def test_flipping_any_transport_byte_is_detected(suite: str) -> None:
    key = os.urandom(32)
    cipher = suite.split("_")[1]
    sender, receiver = CipherState(cipher, key), CipherState(cipher, key)
    message = sender.encrypt(os.urandom(64))
    for pos in range(len(message)):
        tampered = bytearray(message)
        tampered[pos] ^= 0x01
        with pytest.raises(NoiseDecryptError):
            receiver.decrypt(bytes(tampered))
    # A failed decrypt does not advance the nonce: the honest message still opens.
    assert receiver.nonce == 0
    receiver.decrypt(message)
    assert receiver.nonce == 1
    with pytest.raises(NoiseDecryptError):
        receiver.decrypt(message)  # replay: wrong nonce now


@pytest.mark.parametrize(
    ("suite", "aead", "byteorder"),
    [
        ("25519_ChaChaPoly_SHA256", ChaCha20Poly1305, "little"),
        ("25519_AESGCM_SHA256", AESGCM, "big"),
    ],
)
@pytest.mark.parametrize("n", [0, 1, 255, 256, 2**32 + 7, MAX_NONCE - 1])
def test_nonce_layout(suite: str, aead: Any, byteorder: Any, n: int) -> None:
    key = os.urandom(32)
    state = CipherState(suite.split("_")[1], key)
    state.set_nonce(n)
    nonce = b"\0\0\0\0" + n.to_bytes(8, byteorder)
    assert state.encrypt(b"hello") == aead(key).encrypt(nonce, b"hello", None)


@pytest.mark.parametrize("cipher", ["ChaChaPoly", "AESGCM"])
def test_nonce_exhaustion(cipher: str) -> None:
    key = os.urandom(32)
    sender, receiver = CipherState(cipher, key), CipherState(cipher, key)
    sender.set_nonce(MAX_NONCE - 1)
    receiver.set_nonce(MAX_NONCE - 1)
    assert receiver.decrypt(sender.encrypt(b"last")) == b"last"
    assert sender.nonce == MAX_NONCE
    with pytest.raises(NoiseError, match="exhausted"):
        sender.encrypt(b"one more")
    with pytest.raises(NoiseError, match="exhausted"):
        receiver.decrypt(b"\0" * 20)
    with pytest.raises(ValueError):
        sender.set_nonce(MAX_NONCE + 1)


@pytest.mark.parametrize("cipher", ["ChaChaPoly", "AESGCM"])
def test_message_size_limits(cipher: str) -> None:
    key = os.urandom(32)
    sender, receiver = CipherState(cipher, key), CipherState(cipher, key)
    biggest = sender.encrypt(b"x" * (MAX_MESSAGE_LEN - 16))
    assert len(biggest) == MAX_MESSAGE_LEN
    assert receiver.decrypt(biggest) == b"x" * (MAX_MESSAGE_LEN - 16)
    with pytest.raises(NoiseError, match="exceeds"):
        sender.encrypt(b"x" * (MAX_MESSAGE_LEN - 15))
    with pytest.raises(NoiseError, match="exceeds"):
        receiver.decrypt(b"x" * (MAX_MESSAGE_LEN + 1))
    with pytest.raises(NoiseError, match="shorter"):
        receiver.decrypt(b"x" * 15)
    with pytest.raises(NoiseError, match="no key"):
        CipherState(cipher).encrypt(b"")
    with pytest.raises(NoiseError, match="no key"):
        CipherState(cipher).decrypt(b"x" * 16)


def test_protocol_name_of_exactly_hashlen_is_padded_not_hashed() -> None:
    # Both AESGCM names are exactly 32 bytes (used as h directly); ChaChaPoly ones are hashed.
    for pattern in PATTERNS:
        name = protocol_name(pattern, "25519_AESGCM_SHA256")
        assert len(name) == 32
        assert SymmetricState(name, "AESGCM").h == name.encode()
        longer = protocol_name(pattern, "25519_ChaChaPoly_SHA256")
        assert SymmetricState(longer, "ChaChaPoly").h == hashlib.sha256(longer.encode()).digest()


def test_handshake_misuse_is_typed() -> None:
    keys = Keys()
    i = ours("XXpsk2", SUITES[0], keys, initiator=True).hs
    r = ours("XXpsk2", SUITES[0], keys, initiator=False).hs
    with pytest.raises(NoiseError, match="cannot read"):
        i.read_message(b"x" * 64)
    with pytest.raises(NoiseError, match="cannot write"):
        r.write_message(b"")
    with pytest.raises(NoiseError, match="not complete"):
        _ = r.send_cipher
    r.read_message(i.write_message(b""))
    i.read_message(r.write_message(b""))
    r.read_message(i.write_message(b""))
    with pytest.raises(NoiseError, match="already complete"):
        i.write_message(b"")
    with pytest.raises(NoiseError, match="exceed"):
        ours("XXpsk2", SUITES[0], keys, initiator=True).hs.write_message(b"x" * MAX_MESSAGE_LEN)
    with pytest.raises(NoiseError, match="exceeds"):
        ours("XXpsk2", SUITES[0], keys, initiator=False).hs.read_message(b"x" * 70000)


def test_invalid_peer_key_is_typed() -> None:
    # An all-zero (low-order) point gives an all-zero shared secret, which must be refused.
    with pytest.raises(NoiseError, match="invalid X25519"):
        noise_cipher.dh(noise_cipher.load_private(generate_private_key()), b"\0" * 32)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pattern": "NN"},
        {"suite": "25519_ChaChaPoly_BLAKE2s"},
        {"psk": b"short"},
        {"static_private": b"short"},
        {"pattern": "KKpsk0"},  # no remote static
        {"remote_static": b"\1" * 32},  # XX must not get one
        {"pattern": "KKpsk0", "remote_static": b"\1" * 31},
    ],
)
def test_constructor_validation(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {
        "pattern": "XXpsk2",
        "suite": SUITES[0],
        "initiator": True,
        "static_private": generate_private_key(),
        "psk": b"\0" * 32,
    }
    args.update(kwargs)
    with pytest.raises(ValueError):
        HandshakeState(**args)


def test_noiseprotocol_fixed_ephemeral_matches_ours() -> None:
    # Guards the vector generator's assumption that noiseprotocol honours fixed ephemerals.
    keys = Keys()
    conn = NoiseConnection.from_name(protocol_name("XXpsk2", SUITES[0]).encode())
    conn.set_psks(keys.psk)
    conn.set_prologue(keys.prologue)
    conn.set_keypair_from_private_bytes(Keypair.STATIC, keys.si)
    conn.set_keypair_from_private_bytes(Keypair.EPHEMERAL, keys.ei)
    conn.set_as_initiator()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        conn.start_handshake()
    mine = ours("XXpsk2", SUITES[0], keys, initiator=True, fixed_e=True)
    assert bytes(conn.write_message(b"abc")) == mine.write(b"abc")
