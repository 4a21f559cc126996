"""The HiveMind v3 handshake (docs/protocol.md §2.2-2.3) as sans-I/O state machines for both roles.

Feed cleartext frames in, get cleartext frames out; a carrier moves them. The client (Noise
initiator) runs::

    hub HELLO  ->  hub offer  ->  [needs_psk: provide_psk()] -> message 1
    hub message 2  ->  (XXpsk2 only) message 3  ->  complete

and the hub (responder) sends HELLO and offer from :meth:`HubHandshake.initial_frames`, then
answers message 1 with message 2 and, for XXpsk2, reads message 3. After completion each side's
``result`` holds its transport ciphers (:class:`~thalovant.protocol.noise.CipherState`).

Every frame a peer can send is checked; anything out of order or malformed raises a
:class:`~thalovant.errors.ThalovantProtocolError` (or a subclass) and leaves the machine failed.
Message 2 failing to authenticate on the client raises :class:`ThalovantHubRefusedError` (wrong
password or tampering; after a KK attempt the caller may retry once with XX). Calling the API
in the wrong state raises :class:`~thalovant.errors.ThalovantRuntimeError`; bad constructor
arguments raise ``ValueError``.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Any

from thalovant.errors import (
    ThalovantHubKeyChangedError,
    ThalovantHubRefusedError,
    ThalovantProtocolError,
    ThalovantRuntimeError,
)
from thalovant.protocol.canonical import canonical_json
from thalovant.protocol.handshake_state import (
    AWAIT_HELLO,
    AWAIT_MSG1,
    AWAIT_MSG2,
    AWAIT_MSG3,
    AWAIT_OFFER,
    HANDSHAKE_MSG_TYPES,
    MAX_CLEARTEXT_FRAME_CHARS,
    MAX_NOISE_HEX_CHARS,
    MESSAGE1_PAYLOAD,
    NEED_PSK,
    HandshakeMachine,
    HandshakeResult,
    handshake_frame,
    json_roundtrip,
    key_bytes,
    lenient_object,
    noise_block,
    noise_msg,
    payload_of,
    str_list,
)
from thalovant.protocol.noise import (
    PATTERN_KK,
    PATTERN_XX,
    PATTERNS,
    SUITES,
    HandshakeState,
    NoiseDecryptError,
    generate_private_key,
    protocol_name,
    public_key,
)

__all__ = [
    "HANDSHAKE_MSG_TYPES",
    "MAX_CLEARTEXT_FRAME_CHARS",
    "MAX_NOISE_HEX_CHARS",
    "MESSAGE1_PAYLOAD",
    "ClientHandshake",
    "HandshakeResult",
    "HubHandshake",
    "generate_static_private",
    "x25519_public",
]


def generate_static_private() -> bytes:
    """A fresh X25519 static private key.

    Returns:
        32 raw bytes.
    """
    return generate_private_key()


def x25519_public(private: bytes) -> bytes:
    """The X25519 public key of a private key.

    Args:
        private: 32 raw bytes.

    Returns:
        32 raw bytes.

    Raises:
        ValueError: Not a 32-byte key.
    """
    return public_key(private)


class ClientHandshake(HandshakeMachine):
    """The client (Noise initiator) side of the handshake.

    Args:
        static_private: The client's static X25519 private key.
        pinned_hub_key: The hub key pinned for this pin id (32 bytes or 64 hex chars). It
            enables ``KKpsk0``, and an XX handshake must present it too, else
            :class:`~thalovant.errors.ThalovantHubKeyChangedError`.
        allow_kk: Whether ``KKpsk0`` may be chosen (false on the retry after a failed KK).
        suites: The client's Noise suites in preference order.

    Raises:
        ValueError: A bad key or suite list.
    """

    def __init__(
        self,
        static_private: bytes,
        *,
        pinned_hub_key: bytes | str | None = None,
        allow_kk: bool = True,
        suites: Sequence[str] = SUITES,
    ) -> None:
        super().__init__(AWAIT_HELLO)
        x25519_public(static_private)  # validates the key now, not at message 1
        unknown = [s for s in suites if s not in SUITES]
        if unknown or not suites:
            raise ValueError(f"suites must be a non-empty subset of {SUITES}, got {suites!r}")
        self._static = bytes(static_private)
        self._pin = key_bytes(pinned_hub_key, "pinned_hub_key")
        self._allow_kk = allow_kk
        self._suites = tuple(suites)
        self.node_id: str | None = None
        """The hub's node id (from HELLO); the PSK salt."""
        self.hello_payload: dict[str, Any] | None = None
        self.offer_payload: dict[str, Any] | None = None
        self.pattern: str | None = None
        """The chosen pattern; after a refusal, tells whether it was a KK attempt."""
        self.suite: str | None = None
        self._hello_bytes = b""

    @property
    def needs_psk(self) -> bool:
        """The offer is in; call :meth:`provide_psk` (derive it off the event loop)."""
        return self._state == NEED_PSK

    def provide_psk(self, psk: bytes) -> list[str]:
        """Give the PSK once :attr:`needs_psk` is true.

        Args:
            psk: The 32-byte PSK (derive it off the event loop).

        Returns:
            Noise message 1, the frame to send.

        Raises:
            ThalovantRuntimeError: Not waiting for the PSK.
            ValueError: Not 32 bytes.
        """
        if self._state != NEED_PSK:
            raise ThalovantRuntimeError(f"provide_psk() called while {self._state}")
        if len(psk) != 32:
            raise ValueError("the PSK is 32 bytes")
        assert self.pattern is not None
        assert self.suite is not None
        assert self._prologue is not None
        kk = self.pattern == PATTERN_KK
        self._noise = HandshakeState(
            self.pattern,
            self.suite,
            initiator=True,
            static_private=self._static,
            psk=psk,
            prologue=self._prologue,
            remote_static=self._pin if kk else None,
        )
        msg1 = self._noise.write_message(MESSAGE1_PAYLOAD)
        self._state = AWAIT_MSG2
        noise = {"pattern": self.pattern, "suite": self.suite, "msg": msg1.hex()}
        return [handshake_frame("shake", {"noise": noise})]

    def _on_frame(self, msg_type: str, message: dict[str, Any]) -> list[str]:
        if msg_type == "hello":
            if self._state != AWAIT_HELLO:
                raise ThalovantProtocolError("second cleartext HELLO from the hub")
            return self._on_hello(payload_of(message, "HELLO"))
        if msg_type in HANDSHAKE_MSG_TYPES:
            if self._state == AWAIT_HELLO:
                raise ThalovantProtocolError("handshake offer before the hub's HELLO")
            if self._state == AWAIT_OFFER:
                return self._on_offer(payload_of(message, "offer"))
            if self._state == AWAIT_MSG2:
                return self._on_message2(payload_of(message, "message 2"))
        raise self._unexpected(msg_type)

    def _on_hello(self, payload: dict[str, Any]) -> list[str]:
        node_id = payload.get("node_id")
        if not isinstance(node_id, str) or not node_id:
            raise ThalovantProtocolError("hub HELLO has no node_id")
        self._hello_bytes = canonical_json(payload)  # fails now if it has no canonical form
        self.node_id = node_id
        self.hello_payload = payload
        self._state = AWAIT_OFFER
        return []

    def _on_offer(self, payload: dict[str, Any]) -> list[str]:
        noise = noise_block(payload, "offer")
        if "msg" in noise:
            raise ThalovantProtocolError("Noise message before the hub's handshake offer")
        patterns = str_list(noise, "patterns")
        offered_suites = str_list(noise, "suites")
        suite = next((s for s in self._suites if s in offered_suites), None)
        if suite is None:
            raise ThalovantProtocolError(
                f"no common Noise suite: hub offers {offered_suites[:8]!r}, "
                f"client supports {list(self._suites)!r}"
            )
        if self._pin is not None and self._allow_kk and PATTERN_KK in patterns:
            pattern = PATTERN_KK
        elif PATTERN_XX in patterns:
            pattern = PATTERN_XX
        else:
            raise ThalovantProtocolError(
                f"no acceptable Noise pattern: hub offers {patterns[:8]!r}"
                + ("" if self._pin is not None else " (KKpsk0 needs a pinned hub key)")
            )
        name = protocol_name(pattern, suite).encode("ascii")
        self._prologue = self._hello_bytes + canonical_json(payload) + name
        self.offer_payload = payload
        self.pattern, self.suite = pattern, suite
        self._state = NEED_PSK
        return []

    def _on_message2(self, payload: dict[str, Any]) -> list[str]:
        data = noise_msg(noise_block(payload, "message 2"))
        noise = self._noise
        assert noise is not None
        assert self.node_id is not None
        assert self.hello_payload is not None
        try:
            noise.read_message(data)  # the hub's payload is ignored
        except NoiseDecryptError:
            raise ThalovantHubRefusedError(
                f"Noise message 2 failed to authenticate ({self.pattern}): wrong password, "
                "or the handshake was tampered with"
                + (
                    "; a failed KKpsk0 attempt may be retried once with XXpsk2"
                    if self.pattern == PATTERN_KK
                    else ""
                )
            ) from None
        hub_key = noise.remote_static
        assert hub_key is not None
        if self._pin is not None and not hmac.compare_digest(hub_key, self._pin):
            # Checked before message 3, so our static key is never sent to the wrong hub.
            raise ThalovantHubKeyChangedError(
                f"hub static key changed: pinned {self._pin.hex()}, hub presented "
                f"{hub_key.hex()}; the pin is never replaced automatically",
                pinned_key=bytes(self._pin),
                presented_key=bytes(hub_key),
            )
        out: list[str] = []
        if not noise.is_complete:
            out.append(handshake_frame("shake", {"noise": {"msg": noise.write_message(b"").hex()}}))
        self._finish(self.node_id, self.hello_payload)
        return out


class HubHandshake(HandshakeMachine):
    """The hub (Noise responder) side of the handshake.

    A decrypt failure of message 1 or 3 raises
    :class:`~thalovant.protocol.noise.NoiseDecryptError` (internal to the protocol and the
    hub): treat it as a credential refusal.

    Args:
        static_private: The hub's static X25519 private key.
        node_id: The hub's node id (the PSK salt).
        psk: The client's PSK (the hub knows its password); may come later through
            :meth:`provide_psk`, so HELLO and the offer go out while it is derived, but before
            message 1 is received.
        hello_extra: Keys added to the HELLO payload (e.g. ``pubkey``/``peer``).
        patterns: The patterns offered.
        suites: The suites offered.
        known_client_key: The client static key pinned for this client; without it a
            ``KKpsk0`` request is refused.
        offer_extra: Keys added to the offer payload.

    Raises:
        ValueError: Bad keys, node id, patterns or suites, or extras overriding ``node_id`` or
            ``noise``.
    """

    def __init__(
        self,
        static_private: bytes,
        *,
        node_id: str,
        psk: bytes | None,
        hello_extra: dict[str, Any] | None = None,
        patterns: Sequence[str] = PATTERNS,
        suites: Sequence[str] = SUITES,
        known_client_key: bytes | str | None = None,
        offer_extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(AWAIT_MSG1)
        x25519_public(static_private)
        if not isinstance(node_id, str) or not node_id:
            raise ValueError("node_id must be a non-empty string")
        if psk is not None and len(psk) != 32:
            raise ValueError("the PSK is 32 bytes")
        if not patterns or any(p not in PATTERNS for p in patterns):
            raise ValueError(f"patterns must be a non-empty subset of {PATTERNS}")
        if not suites or any(s not in SUITES for s in suites):
            raise ValueError(f"suites must be a non-empty subset of {SUITES}")
        hello_extra = dict(hello_extra or {})
        offer_extra = dict(offer_extra or {})
        if "node_id" in hello_extra or "noise" in offer_extra:
            raise ValueError("hello_extra/offer_extra may not override node_id/noise")
        self._static = bytes(static_private)
        self._psk = None if psk is None else bytes(psk)
        self._patterns = tuple(patterns)
        self._suites = tuple(suites)
        self._client_key = key_bytes(known_client_key, "known_client_key")
        self.node_id = node_id
        # Round-trip through JSON so we hash exactly what the client will parse (tuples become
        # lists, non-string keys become strings, floats keep their repr).
        noise = {"patterns": list(self._patterns), "suites": list(self._suites)}
        self.hello_payload: dict[str, Any] = json_roundtrip({"node_id": node_id, **hello_extra})
        self.offer_payload: dict[str, Any] = json_roundtrip({"noise": noise, **offer_extra})
        self._hello_bytes = canonical_json(self.hello_payload)
        self._offer_bytes = canonical_json(self.offer_payload)
        self.client_options: dict[str, Any] = {}
        """The client's message-1 payload, parsed leniently (``{}`` if not a JSON object)."""
        self.client_hello: dict[str, Any] | None = None
        """Payload of a cleartext client HELLO (MQTT sends one before message 1)."""
        self.pattern: str | None = None
        self.suite: str | None = None

    def initial_frames(self) -> list[str]:
        """The frames to send as soon as the carrier is open.

        Returns:
            The cleartext HELLO, then the offer.
        """
        return [
            handshake_frame("hello", self.hello_payload),
            handshake_frame("shake", self.offer_payload),
        ]

    @property
    def has_psk(self) -> bool:
        """True once the client's PSK is known."""
        return self._psk is not None

    def provide_psk(self, psk: bytes) -> None:
        """Give the client's PSK when it was not known at construction.

        Args:
            psk: The 32-byte PSK.

        Raises:
            ValueError: Not 32 bytes.
        """
        if len(psk) != 32:
            raise ValueError("the PSK is 32 bytes")
        self._psk = bytes(psk)

    def _on_frame(self, msg_type: str, message: dict[str, Any]) -> list[str]:
        if msg_type == "hello" and self._state == AWAIT_MSG1 and self.client_hello is None:
            self.client_hello = payload_of(message, "client HELLO")
            return []
        if msg_type in HANDSHAKE_MSG_TYPES:
            if self._state == AWAIT_MSG1:
                return self._on_message1(payload_of(message, "message 1"))
            if self._state == AWAIT_MSG3:
                return self._on_message3(payload_of(message, "message 3"))
        raise self._unexpected(msg_type)

    def _on_message1(self, payload: dict[str, Any]) -> list[str]:
        block = noise_block(payload, "message 1")
        pattern, suite = block.get("pattern"), block.get("suite")
        if not isinstance(pattern, str) or pattern not in self._patterns:
            raise ThalovantProtocolError(
                f"client chose a pattern that was not offered: {pattern!r:.60}"
            )
        if not isinstance(suite, str) or suite not in self._suites:
            raise ThalovantProtocolError(
                f"client chose a suite that was not offered: {suite!r:.60}"
            )
        data = noise_msg(block)
        if self._psk is None:
            raise RuntimeError("HubHandshake needs the PSK (provide_psk) before message 1")
        if pattern == PATTERN_KK and self._client_key is None:
            raise ThalovantHubRefusedError("client asked for KKpsk0 but its static key is unknown")
        self.pattern, self.suite = pattern, suite
        self._prologue = (
            self._hello_bytes + self._offer_bytes + protocol_name(pattern, suite).encode("ascii")
        )
        self._noise = noise = HandshakeState(
            pattern,
            suite,
            initiator=False,
            static_private=self._static,
            psk=self._psk,
            prologue=self._prologue,
            remote_static=self._client_key if pattern == PATTERN_KK else None,
        )
        self.client_options = lenient_object(noise.read_message(data))
        msg2 = noise.write_message(b"")
        if noise.is_complete:
            self._finish(self.node_id, self.hello_payload)
        else:
            self._state = AWAIT_MSG3
        return [handshake_frame("shake", {"noise": {"msg": msg2.hex()}})]

    def _on_message3(self, payload: dict[str, Any]) -> list[str]:
        data = noise_msg(noise_block(payload, "message 3"))
        assert self._noise is not None
        self._noise.read_message(data)
        self._finish(self.node_id, self.hello_payload)
        return []
