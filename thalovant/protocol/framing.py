"""Transport plaintext framing (docs/protocol.md §2.4): one marker byte, then the body or a chunk
of it.

Each Noise transport message carries ``marker + bytes``. Bodies longer than
:data:`CHUNK_SIZE` travel as a first chunk, any number of middle chunks and a last chunk, sent
back to back. :class:`Reassembler` is the strict receiving side: anything out of order, an
unknown marker, or a message over :data:`MAX_MESSAGE_BYTES` raises
:class:`~thalovant.errors.ThalovantProtocolError`, after which the link must be dropped.

Decisions where the spec is silent:

- An empty body is legal at this layer (``b"\\x00"`` is a complete, empty JSON message); the
  envelope decoder is the one that rejects empty JSON. An empty *plaintext* (no marker) is fatal.
- Chunk sizes are not policed: a peer may cut its chunks differently from our 65000 bytes, and
  even send empty chunks; only order, markers and the total size are enforced.
- After the first error the reassembler stays failed (every later ``feed`` raises) until
  :meth:`Reassembler.reset`: the spec allows no frame skipping.
"""

from __future__ import annotations

from typing import Protocol

from thalovant.errors import ThalovantProtocolError, ThalovantRuntimeError

__all__ = [
    "CHUNK_SIZE",
    "MARKER_BINARY",
    "MARKER_FIRST_BINARY",
    "MARKER_FIRST_JSON",
    "MARKER_JSON",
    "MARKER_LAST",
    "MARKER_MIDDLE",
    "MAX_MESSAGE_BYTES",
    "Reassembler",
    "ReassemblyBudget",
    "frame_plaintexts",
]

MARKER_JSON = 0x00
"""Complete JSON message."""
MARKER_BINARY = 0x01
"""Complete binary (WIRE-1 bitstring) message."""
MARKER_FIRST_JSON = 0x02
"""First chunk of a JSON message."""
MARKER_FIRST_BINARY = 0x03
"""First chunk of a binary message."""
MARKER_MIDDLE = 0x04
"""Middle chunk."""
MARKER_LAST = 0x05
"""Last chunk."""

CHUNK_SIZE = 65000
"""Largest body slice per transport message; keeps each ciphertext under Noise's 65535."""
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
"""Largest reassembled body accepted (and sent)."""

_PREFIX = {
    (False, False): bytes([MARKER_JSON]),
    (True, False): bytes([MARKER_BINARY]),
    (False, True): bytes([MARKER_FIRST_JSON]),
    (True, True): bytes([MARKER_FIRST_BINARY]),
}
_MIDDLE = bytes([MARKER_MIDDLE])
_LAST = bytes([MARKER_LAST])


def _size_text(size: int) -> str:
    mib = 1024 * 1024
    return f"{size // mib} MiB" if size % mib == 0 else f"{size}-byte"


class ReassemblyBudget(Protocol):
    """Memory a :class:`Reassembler` draws on for unfinished chunked messages (e.g. shared by
    every connection of a server, so many half-sent messages cannot add up without bound)."""

    def reserve(self, size: int) -> bool:
        """Take more bytes.

        Args:
            size: How many.

        Returns:
            True when taken; False (and nothing taken) when there is no room.
        """

    def release(self, size: int) -> None:
        """Give bytes back.

        Args:
            size: How many (taken with :meth:`reserve`).
        """


def frame_plaintexts(body: bytes | bytearray | memoryview, *, binary: bool = False) -> list[bytes]:
    """Split ``body`` into transport plaintexts (docs/protocol.md §2.4).

    Args:
        body: The message body.
        binary: Mark it as a WIRE-1 binary frame.

    Returns:
        Marker byte + at most :data:`CHUNK_SIZE` bytes each, in order.

    Raises:
        ThalovantRuntimeError: ``body`` exceeds :data:`MAX_MESSAGE_BYTES` (the peer would drop
            the link on it).
    """
    size = len(body)
    if size <= CHUNK_SIZE:
        return [_PREFIX[bool(binary), False] + body]
    if size > MAX_MESSAGE_BYTES:
        raise ThalovantRuntimeError(
            f"message body of {size} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit"
        )
    view = memoryview(body)
    out = [_PREFIX[bool(binary), True] + view[:CHUNK_SIZE]]
    start = CHUNK_SIZE
    while size - start > CHUNK_SIZE:
        out.append(_MIDDLE + view[start : start + CHUNK_SIZE])
        start += CHUNK_SIZE
    out.append(_LAST + view[start:])
    return out


class Reassembler:
    """Turns received transport plaintexts back into whole message bodies.

    Chunks are kept as views of the plaintexts they arrived in and joined once at the end,
    so reassembly copies each byte once and never holds more than ``max_message_bytes`` of
    body. With a ``budget``, every chunk is reserved from it before it is stored and given
    back when the message completes, fails or is reset; a chunk the budget has no room for
    fails the stream like an oversized message.

    Args:
        max_message_bytes: The largest body accepted (at most :data:`MAX_MESSAGE_BYTES`).
        budget: Memory shared with other reassemblers, if any.
    """

    __slots__ = ("_binary", "_budget", "_failed", "_limit", "_parts", "_size")

    def __init__(
        self,
        *,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        budget: ReassemblyBudget | None = None,
    ) -> None:
        self._parts: list[memoryview] | None = None
        self._binary = False
        self._size = 0
        self._failed = False
        self._limit = min(max_message_bytes, MAX_MESSAGE_BYTES)
        self._budget = budget

    @property
    def in_progress(self) -> bool:
        """True while a chunked message has started but not finished."""
        return self._parts is not None

    @property
    def buffered(self) -> int:
        """Body bytes held for the chunked message in progress."""
        return self._size

    def feed(self, plaintext: bytes | bytearray | memoryview) -> tuple[bool, bytes] | None:
        """Take one plaintext.

        Args:
            plaintext: One decrypted transport message (marker byte first).

        Returns:
            ``(is_binary, body)`` when a message completes, else None.

        Raises:
            ThalovantProtocolError: A framing error; the stream is dead from then on.
        """
        if self._failed:
            raise ThalovantProtocolError("framing already failed; the session is dead")
        if not plaintext:
            raise self._fail("empty transport message (no framing marker)")
        if not isinstance(plaintext, bytes):
            # Views below must not pin a caller's mutable buffer.
            plaintext = bytes(plaintext)
        marker = plaintext[0]
        parts = self._parts
        if marker <= MARKER_BINARY:
            if parts is not None:
                raise self._fail("complete message inside an open chunk sequence")
            if len(plaintext) - 1 > self._limit:
                raise self._fail(f"message exceeds the {_size_text(self._limit)} limit")
            return marker == MARKER_BINARY, plaintext[1:]
        if marker <= MARKER_FIRST_BINARY:
            if parts is not None:
                raise self._fail("new first chunk inside an open chunk sequence")
            self._check_room(0, len(plaintext) - 1)
            self._parts = [memoryview(plaintext)[1:]]
            self._binary = marker == MARKER_FIRST_BINARY
            self._size = len(plaintext) - 1
            return None
        if marker > MARKER_LAST:
            raise self._fail(f"unknown framing marker 0x{marker:02x}")
        if parts is None:
            raise self._fail("continuation chunk without a first chunk")
        self._check_room(self._size, len(plaintext) - 1)
        parts.append(memoryview(plaintext)[1:])
        self._size += len(plaintext) - 1
        if marker == MARKER_MIDDLE:
            return None
        body = b"".join(parts)
        binary = self._binary
        self._drop()
        return binary, body

    def reset(self) -> None:
        """Forget any partial message (giving its budget back) and any failure."""
        self._drop()
        self._binary = False
        self._failed = False

    def _drop(self) -> None:
        if self._budget is not None and self._size:
            self._budget.release(self._size)
        self._parts = None
        self._size = 0

    def _check_room(self, held: int, more: int) -> None:
        # Checked before anything is stored, so a hostile peer cannot make us hold more.
        if held + more > self._limit:
            raise self._fail(f"chunked message exceeds the {_size_text(self._limit)} limit")
        if self._budget is not None and more and not self._budget.reserve(more):
            raise self._fail("no room to reassemble this chunked message (memory budget)")

    def _fail(self, reason: str) -> ThalovantProtocolError:
        self.reset()
        self._failed = True
        return ThalovantProtocolError(reason)
