"""The encrypted channel after the handshake, the same for both roles.

A :class:`SecureChannel` turns one outgoing message into the Noise transport messages a
carrier sends (one per carrier frame), and each received Noise message back into a message
once its chunks are complete. Any decrypt or marker error is fatal for the link: the channel refuses
to be used again rather than skipping a frame. A message that decrypts but does not decode is
reported as :class:`MalformedMessageError` and the channel stays usable.
"""

from __future__ import annotations

from typing import Any

from thalovant.errors import ThalovantProtocolError
from thalovant.protocol.binary import BinaryFrame, decode_binary_frame, encode_binary_frame
from thalovant.protocol.envelope import HiveMessage, decode_message, encode_message
from thalovant.protocol.framing import Reassembler, frame_plaintexts
from thalovant.protocol.noise import CipherState

__all__ = ["MalformedMessageError", "SecureChannel"]


class MalformedMessageError(ThalovantProtocolError):
    """A message decrypted and reassembled fine but is not a valid HiveMind message.

    The channel stays usable (the cipher state is intact); the link logs and drops it.
    """


class SecureChannel:
    """Encrypts outgoing and decrypts incoming HiveMind messages on one link.

    Not thread-safe by design: the link serialises senders (nonces must go out in order) and
    has one reader.

    Args:
        send_cipher: Encrypts what this side sends.
        recv_cipher: Decrypts what it receives.
        reassembler: Joins chunked messages (default: a fresh :class:`Reassembler`).
    """

    __slots__ = ("_broken", "_reassembler", "_recv", "_send")

    def __init__(
        self,
        send_cipher: CipherState,
        recv_cipher: CipherState,
        *,
        reassembler: Reassembler | None = None,
    ) -> None:
        self._send = send_cipher
        self._recv = recv_cipher
        self._reassembler = reassembler if reassembler is not None else Reassembler()
        self._broken: ThalovantProtocolError | None = None

    def encrypt_message(self, message: HiveMessage) -> list[bytes]:
        """The Noise messages carrying ``message`` as JSON (docs/protocol.md §2.4).

        Args:
            message: The envelope.

        Returns:
            One Noise message per carrier frame, in order.

        Raises:
            ThalovantProtocolError: The channel is broken.
            ThalovantRuntimeError: The message is larger than the protocol allows.
            TypeError: The payload holds something JSON cannot express.
            ValueError: The payload nests too deep.
        """
        return self._encrypt(encode_message(message), binary=False)

    def encrypt_binary(
        self,
        msg_type: str,
        *,
        metadata: dict[str, Any] | None = None,
        payload: dict[str, Any] | None = None,
        binary_kind: str | int | None = None,
        data: bytes | None = None,
        compress: bool = False,
    ) -> list[bytes]:
        """The Noise messages carrying a WIRE-1 binary frame (audio, files, ...).

        Args:
            msg_type: The message type.
            metadata: The frame's metadata.
            payload: The JSON payload of non-``bin`` kinds.
            binary_kind: ``bin`` frames' kind.
            data: ``bin`` frames' bytes.
            compress: zlib-compress the payload.

        Returns:
            One Noise message per carrier frame, in order.

        Raises:
            ThalovantProtocolError: The frame cannot be encoded, or the channel is broken.
        """
        try:
            body = encode_binary_frame(
                msg_type,
                metadata=metadata,
                payload=payload,
                binary_kind=binary_kind,
                data=data,
                compress=compress,
            )
        except ValueError as exc:
            raise ThalovantProtocolError(f"cannot encode binary frame: {exc}") from None
        return self._encrypt(body, binary=True)

    def _encrypt(self, body: bytes, *, binary: bool) -> list[bytes]:
        self._check()
        encrypt = self._send.encrypt
        return [encrypt(plaintext) for plaintext in frame_plaintexts(body, binary=binary)]

    @property
    def reassembling(self) -> bool:
        """A chunked message has started and not finished."""
        return self._reassembler.in_progress

    def decrypt(self, frame: bytes) -> HiveMessage | BinaryFrame | None:
        """Feed one received Noise message.

        Args:
            frame: One Noise transport message.

        Returns:
            The message once it is complete (a chunk of an unfinished one gives None).

        Raises:
            MalformedMessageError: It decrypted but is no valid message (the channel stays usable;
                internal, the link drops it).
            ThalovantProtocolError: Decryption or framing failed; the channel is broken for good.
        """
        self._check()
        try:
            complete = self._reassembler.feed(self._recv.decrypt(frame))
        except ThalovantProtocolError as exc:
            self._broken = exc
            raise
        if complete is None:
            return None
        is_binary, body = complete
        try:
            return decode_binary_frame(body) if is_binary else decode_message(body)
        except ThalovantProtocolError as exc:
            raise MalformedMessageError(str(exc)) from None

    def _check(self) -> None:
        if self._broken is not None:
            raise ThalovantProtocolError(f"channel is broken: {self._broken}")
