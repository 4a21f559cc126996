"""Transport plaintext framing (wire.md §2.4): one marker byte, then the body or a chunk of it.

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


def frame_plaintexts(body: bytes | bytearray | memoryview, *, binary: bool = False) -> list[bytes]:
    """Split ``body`` into transport plaintexts (marker byte + at most CHUNK_SIZE bytes each).

    Raises ThalovantRuntimeError when ``body`` exceeds MAX_MESSAGE_BYTES, since the peer
    would drop the link on it.
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
    so reassembly copies each byte once and never holds more than MAX_MESSAGE_BYTES of body.
    """

    __slots__ = ("_binary", "_failed", "_parts", "_size")

    def __init__(self) -> None:
        self._parts: list[memoryview] | None = None
        self._binary = False
        self._size = 0
        self._failed = False

    @property
    def in_progress(self) -> bool:
        """True while a chunked message has started but not finished."""
        return self._parts is not None

    @property
    def buffered(self) -> int:
        """Body bytes held for the chunked message in progress."""
        return self._size

    def feed(self, plaintext: bytes | bytearray | memoryview) -> tuple[bool, bytes] | None:
        """Take one plaintext; return ``(is_binary, body)`` when a message completes."""
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
            if len(plaintext) - 1 > MAX_MESSAGE_BYTES:
                raise self._fail("message exceeds the 32 MiB limit")
            return marker == MARKER_BINARY, plaintext[1:]
        if marker <= MARKER_FIRST_BINARY:
            if parts is not None:
                raise self._fail("new first chunk inside an open chunk sequence")
            self._check_room(len(plaintext) - 1)
            self._parts = [memoryview(plaintext)[1:]]
            self._binary = marker == MARKER_FIRST_BINARY
            self._size = len(plaintext) - 1
            return None
        if marker > MARKER_LAST:
            raise self._fail(f"unknown framing marker 0x{marker:02x}")
        if parts is None:
            raise self._fail("continuation chunk without a first chunk")
        self._check_room(self._size + len(plaintext) - 1)
        parts.append(memoryview(plaintext)[1:])
        self._size += len(plaintext) - 1
        if marker == MARKER_MIDDLE:
            return None
        body = b"".join(parts)
        binary = self._binary
        self._parts = None
        self._size = 0
        return binary, body

    def reset(self) -> None:
        """Forget any partial message and any failure (for a new session)."""
        self._parts = None
        self._binary = False
        self._size = 0
        self._failed = False

    def _check_room(self, total: int) -> None:
        # Checked before anything is stored, so a hostile peer cannot make us hold more.
        if total > MAX_MESSAGE_BYTES:
            raise self._fail("chunked message exceeds the 32 MiB limit")

    def _fail(self, reason: str) -> ThalovantProtocolError:
        self.reset()
        self._failed = True
        return ThalovantProtocolError(reason)
