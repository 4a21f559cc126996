"""Sans-I/O HiveMind v3 protocol core: envelopes, canonical JSON, Noise, framing, handshakes.

Nothing in this package opens a socket, reads a clock or imports asyncio/anyio: it turns bytes
into messages and back for both roles (initiator = SDK, responder = local hub). The modules:
:mod:`~thalovant.protocol.envelope` (envelopes and message kinds),
:mod:`~thalovant.protocol.hello` (HELLO messages and their recognition),
:mod:`~thalovant.protocol.query` (hive query frames), :mod:`~thalovant.protocol.canonical`,
:mod:`~thalovant.protocol.noise` (on :mod:`~thalovant.protocol.noise_cipher`),
:mod:`~thalovant.protocol.handshake` (on
:mod:`~thalovant.protocol.handshake_state`), :mod:`~thalovant.protocol.framing`,
:mod:`~thalovant.protocol.binary`, :mod:`~thalovant.protocol.channel` and
:mod:`~thalovant.protocol.psk`.

The protocol's own failure classes (``NoiseError``, ``NoiseDecryptError``,
``MalformedMessageError``) are internal: they are ThalovantProtocolError subclasses that the
link turns into a plain :class:`~thalovant.errors.ThalovantProtocolError` before a caller sees
one, and they are not exported here.
"""

from __future__ import annotations

from thalovant.protocol.binary import BinaryFrame, decode_binary_frame, encode_binary_frame
from thalovant.protocol.canonical import canonical_json, parse_cleartext
from thalovant.protocol.channel import SecureChannel
from thalovant.protocol.envelope import (
    HIVE_KINDS,
    MAX_DEPTH,
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
from thalovant.protocol.handshake import (
    ClientHandshake,
    HandshakeResult,
    HubHandshake,
    generate_static_private,
    x25519_public,
)
from thalovant.protocol.hello import cleartext_client_hello, client_hello, is_hello
from thalovant.protocol.noise import PATTERN_KK, PATTERN_XX, PATTERNS, SUITES
from thalovant.protocol.psk import PskDeriver, derive_psk
from thalovant.protocol.query import QUERY_KINDS, unwrap_query

__all__ = [
    "HIVE_KINDS",
    "MAX_DEPTH",
    "MESH_KINDS",
    "MSG_TYPES",
    "PATTERNS",
    "PATTERN_KK",
    "PATTERN_XX",
    "QUERY_KINDS",
    "SUITES",
    "BinaryFrame",
    "BusMessage",
    "ClientHandshake",
    "HandshakeResult",
    "HiveMessage",
    "HubHandshake",
    "PskDeriver",
    "SecureChannel",
    "bus_message",
    "bus_payload",
    "canonical_json",
    "cleartext_client_hello",
    "client_hello",
    "decode_binary_frame",
    "decode_message",
    "derive_psk",
    "encode_binary_frame",
    "encode_message",
    "generate_static_private",
    "inner_message",
    "is_hello",
    "mesh_message",
    "parse_cleartext",
    "unwrap_query",
    "x25519_public",
]
