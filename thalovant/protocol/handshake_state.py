"""What both roles' handshake machines share (docs/protocol.md §2.2-2.3): the states, failure
latching, the result handed to the link, and the codecs of cleartext handshake frames.

:mod:`thalovant.protocol.handshake` builds the client and hub machines on
:class:`HandshakeMachine`.
"""

from __future__ import annotations

import binascii
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from thalovant.errors import ThalovantError, ThalovantProtocolError, ThalovantRuntimeError
from thalovant.protocol.canonical import parse_cleartext
from thalovant.protocol.envelope import exceeds_depth
from thalovant.protocol.noise import MAX_MESSAGE_LEN, CipherState, HandshakeState

__all__ = [
    "AWAIT_HELLO",
    "AWAIT_MSG1",
    "AWAIT_MSG2",
    "AWAIT_MSG3",
    "AWAIT_OFFER",
    "COMPLETE",
    "FAILED",
    "HANDSHAKE_MSG_TYPES",
    "MAX_CLEARTEXT_FRAME_CHARS",
    "MAX_NOISE_HEX_CHARS",
    "MESSAGE1_PAYLOAD",
    "NEED_PSK",
    "HandshakeMachine",
    "HandshakeResult",
    "handshake_frame",
    "json_roundtrip",
    "key_bytes",
    "lenient_object",
    "noise_block",
    "noise_msg",
    "payload_of",
    "str_list",
]

HANDSHAKE_MSG_TYPES = frozenset({"shake", "handshake"})
"""``msg_type`` values of handshake frames (``shake`` is HiveMind's wire value)."""
MESSAGE1_PAYLOAD = b'{"binarize":false,"encodings":[]}'
"""The client's message-1 payload, byte for byte."""
MAX_NOISE_HEX_CHARS = 2 * MAX_MESSAGE_LEN
"""Longest ``noise.msg`` accepted: 131070 hex chars = one maximal Noise message."""
MAX_CLEARTEXT_FRAME_CHARS = 256 * 1024
"""Longest cleartext handshake frame accepted (the SDK's WebSocket frame limit)."""

AWAIT_HELLO = "awaiting hub HELLO"
AWAIT_OFFER = "awaiting handshake offer"
NEED_PSK = "waiting for the PSK"
AWAIT_MSG1 = "awaiting Noise message 1"
AWAIT_MSG2 = "awaiting Noise message 2"
AWAIT_MSG3 = "awaiting Noise message 3"
COMPLETE = "complete"
FAILED = "failed"


@dataclass(frozen=True, eq=False)
class HandshakeResult:
    """What a completed handshake hands to the link.

    ``send_cipher`` encrypts what this side sends (client→hub on the client), ``recv_cipher``
    decrypts what it receives. ``remote_static`` is the peer's static public key: the hub key
    for the client to pin, the client key for the hub to pin. ``node_id`` and
    ``hello_payload`` are the hub's.
    """

    send_cipher: CipherState
    recv_cipher: CipherState
    remote_static: bytes
    pattern: str
    suite: str
    node_id: str
    hello_payload: dict[str, Any]
    handshake_hash: bytes

    @property
    def remote_static_hex(self) -> str:
        """``remote_static`` as 64 lowercase hex chars (the pin file format)."""
        return self.remote_static.hex()


class HandshakeMachine(ABC):
    """State shared by both roles: the state name, failure latching, frame plumbing.

    Args:
        state: The initial state.
    """

    _noise: HandshakeState | None

    def __init__(self, state: str) -> None:
        self._state = state
        self._noise = None
        self._result: HandshakeResult | None = None
        self._prologue: bytes | None = None

    @property
    def complete(self) -> bool:
        """The handshake finished; :attr:`result` is available."""
        return self._state == COMPLETE

    @property
    def failed(self) -> bool:
        """A frame was rejected; this machine is dead and the link must close."""
        return self._state == FAILED

    @property
    def prologue(self) -> bytes | None:
        """The Noise prologue, once it is known."""
        return self._prologue

    @property
    def result(self) -> HandshakeResult:
        """The outcome; only after :attr:`complete`."""
        if self._result is None:
            raise ThalovantRuntimeError(f"the handshake is not complete ({self._state})")
        return self._result

    def receive(self, frame: str | bytes) -> list[str]:
        """Process one frame from the peer.

        Args:
            frame: A cleartext frame; ``bytes`` (a binary carrier frame) is never valid before the
                session.

        Returns:
            The frames to send back, in order.

        Raises:
            ThalovantProtocolError: Anything out of order or malformed; the machine is failed.
            ThalovantHubRefusedError: The peer's message failed to authenticate (client side).
            ThalovantHubKeyChangedError: The hub presented another key than the pinned one.
        """
        if self._state == FAILED:
            raise ThalovantProtocolError("the handshake already failed")
        try:
            if self._state == COMPLETE:
                raise ThalovantProtocolError("cleartext frame after the Noise session exists")
            if not isinstance(frame, str):
                raise ThalovantProtocolError("binary frame before the Noise session exists")
            if len(frame) > MAX_CLEARTEXT_FRAME_CHARS:
                raise ThalovantProtocolError("cleartext handshake frame is too large")
            message = parse_cleartext(frame)
            msg_type = message.get("msg_type")
            if not isinstance(msg_type, str):
                raise ThalovantProtocolError("handshake frame has no string msg_type")
            return self._on_frame(msg_type, message)
        except ThalovantError:
            self._state = FAILED
            raise

    @abstractmethod
    def _on_frame(self, msg_type: str, message: dict[str, Any]) -> list[str]:
        """Handle one cleartext handshake frame; return the frames to send."""

    def _unexpected(self, msg_type: str) -> ThalovantProtocolError:
        return ThalovantProtocolError(
            f"unexpected {msg_type[:40]!r} frame while {self._state} in the handshake"
        )

    def _finish(self, node_id: str, hello_payload: dict[str, Any]) -> None:
        noise = self._noise
        assert noise is not None
        assert noise.remote_static is not None
        self._result = HandshakeResult(
            send_cipher=noise.send_cipher,
            recv_cipher=noise.recv_cipher,
            remote_static=noise.remote_static,
            pattern=noise.pattern,
            suite=noise.suite,
            node_id=node_id,
            hello_payload=hello_payload,
            handshake_hash=noise.handshake_hash,
        )
        self._state = COMPLETE


# -- frame codecs --------------------------------------------------------------------------


def handshake_frame(msg_type: str, payload: dict[str, Any]) -> str:
    """A cleartext handshake frame's JSON text.

    Args:
        msg_type: ``hello`` or ``shake``.
        payload: Its payload.

    Returns:
        Compact JSON with raw UTF-8.
    """
    return json.dumps(
        {"msg_type": msg_type, "payload": payload, "metadata": {}, "route": []},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def payload_of(message: dict[str, Any], what: str) -> dict[str, Any]:
    """The ``payload`` object of a frame.

    Args:
        message: The parsed frame.
        what: The frame's name, for the error.

    Returns:
        The payload.

    Raises:
        ThalovantProtocolError: No payload object.
    """
    payload = message.get("payload")
    if not isinstance(payload, dict):
        raise ThalovantProtocolError(f"{what} frame has no payload object")
    return payload


def noise_block(payload: dict[str, Any], what: str) -> dict[str, Any]:
    """The ``payload.noise`` object of a frame.

    Args:
        payload: The frame's payload.
        what: The frame's name, for the error.

    Returns:
        The ``noise`` object.

    Raises:
        ThalovantProtocolError: No ``noise`` object.
    """
    noise = payload.get("noise")
    if not isinstance(noise, dict):
        raise ThalovantProtocolError(f"{what} has no payload.noise object")
    return noise


def str_list(noise: dict[str, Any], key: str) -> list[str]:
    """A list of strings of the offer's ``noise`` block.

    Args:
        noise: The ``noise`` object.
        key: ``patterns`` or ``suites``.

    Returns:
        The list.

    Raises:
        ThalovantProtocolError: Not a list of strings.
    """
    value = noise.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ThalovantProtocolError(f"offer payload.noise.{key} must be a list of strings")
    return value


def noise_msg(noise: dict[str, Any]) -> bytes:
    """The Noise message in ``noise.msg``.

    Args:
        noise: The ``noise`` object.

    Returns:
        The message bytes.

    Raises:
        ThalovantProtocolError: Missing, too long or not strict hex.
    """
    value = noise.get("msg")
    if not isinstance(value, str):
        raise ThalovantProtocolError("handshake frame has no payload.noise.msg hex string")
    if len(value) > MAX_NOISE_HEX_CHARS:
        raise ThalovantProtocolError(
            f"payload.noise.msg is {len(value)} hex chars; the limit is {MAX_NOISE_HEX_CHARS}"
        )
    try:
        # unhexlify, unlike bytes.fromhex, rejects whitespace; non-ASCII raises ValueError.
        return binascii.unhexlify(value)
    except ValueError:
        raise ThalovantProtocolError("payload.noise.msg is not valid hex") from None


def key_bytes(key: bytes | str | None, what: str) -> bytes | None:
    """A 32-byte key given as bytes or 64 hex chars.

    Args:
        key: The key, or None.
        what: The argument's name, for the error.

    Returns:
        The raw key, or None.

    Raises:
        ValueError: Not 32 bytes.
    """
    if key is None:
        return None
    raw = bytes.fromhex(key) if isinstance(key, str) else bytes(key)
    if len(raw) != 32:
        raise ValueError(f"{what} must be 32 bytes (or 64 hex chars)")
    return raw


def json_roundtrip(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as a peer parses it (tuples become lists, keys strings).

    Args:
        value: A JSON-able object.

    Returns:
        The re-parsed object.
    """
    result: dict[str, Any] = json.loads(json.dumps(value, ensure_ascii=False))
    return result


def lenient_object(data: bytes) -> dict[str, Any]:
    """A JSON object from bytes, or ``{}``.

    Args:
        data: UTF-8 JSON.

    Returns:
        The object, or ``{}`` when ``data`` is not a JSON object within the nesting limit.
    """
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return {}
    if not isinstance(value, dict) or exceeds_depth(data):
        return {}
    return value
