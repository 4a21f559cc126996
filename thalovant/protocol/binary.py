"""WIRE-1 bitstring binary frames (docs/protocol.md §2.5): decode and encode.

Layout, most significant bit first::

    0...0  1  v  [version:8 if v]  type:5  c  N:8  metadata:N bytes  [kind:4 if bin]  tail

The leading zero bits are padding and may be any count, so nothing after the start marker is
byte-aligned in general. Fields are read from one big integer built from a short window of the
frame; the tail (JSON payload, or raw bytes for ``bin``) is sliced directly when it happens to
be aligned and realigned with a single big-integer shift when it is not, so multi-megabyte
audio never goes through a per-bit loop. Trailing bits that do not fill a whole byte are
padding and are ignored.

Decisions where the spec is silent:

- N counts the metadata bytes as carried, i.e. compressed bytes when ``c`` is set.
- The encoder pads at the front, like a bitstring converted through an integer, so the tail of
  a ``bin`` frame (after its 4-bit kind) ends up byte-aligned; non-``bin`` frames come out as
  the official encoder's (byte 0 = ``0x80 | type << 1``, byte 1 = N).
- Metadata whose JSON exceeds 255 bytes is compressed automatically (the one flag covers the
  payload too); if it still does not fit, ThalovantProtocolError is raised.
- Non-``bin`` frames always carry a JSON object payload (``{}`` when none is given; an empty
  tail decodes as ``{}``).
- zlib streams must be complete and carry no trailing bytes; inflation stops at 32 MiB.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

import msgspec

from thalovant.errors import ThalovantProtocolError
from thalovant.protocol.envelope import MAX_DEPTH, exceeds_depth

__all__ = [
    "BINARY_KINDS",
    "MAX_INFLATED_BYTES",
    "TYPE_CODES",
    "BinaryFrame",
    "decode_binary_frame",
    "encode_binary_frame",
]

MAX_INFLATED_BYTES = 32 * 1024 * 1024
"""Largest size any zlib-compressed section may inflate to."""

_TYPE_NAMES = (
    "shake",
    "bus",
    "shared_bus",
    "broadcast",
    "propagate",
    "escalate",
    "hello",
    "query",
    "cascade",
    "ping",
    "rendezvous",
    "3rdparty",
    "bin",
)
#: ``msg_type`` → 5-bit type number (``handshake`` is accepted as ``shake``).
TYPE_CODES: dict[str, int] = {name: code for code, name in enumerate(_TYPE_NAMES)}
TYPE_CODES["handshake"] = 0
_BIN = 12
_THIRD_PARTY = "3rdparty"

#: 4-bit payload kind of ``bin`` frames → name; other codes surface as ``binary:<n>``.
BINARY_KINDS: dict[int, str] = {
    1: "raw_audio",
    2: "numpy_image",
    3: "file",
    4: "stt_transcribe",
    5: "stt_handle",
    6: "tts_audio",
}
_KIND_CODES = {name: code for code, name in BINARY_KINDS.items()}

_NONZERO = re.compile(rb"[^\x00]")
# Marker byte + at most 23 header bits + 255 metadata bytes + the 4-bit kind.
_WINDOW = 4 + 255 + 1
_ENCODER = msgspec.json.Encoder()


class BinaryFrame(msgspec.Struct, frozen=True):
    """A decoded binary frame. ``payload`` is set for JSON kinds, ``data`` for ``bin``."""

    msg_type: str
    metadata: dict[str, Any]
    payload: dict[str, Any] | None = None
    binary_kind: str | None = None
    binary_kind_code: int | None = None
    data: bytes | None = None


def _kind_name(code: int) -> str:
    return BINARY_KINDS.get(code) or f"binary:{code}"


def decode_binary_frame(data: bytes | bytearray | memoryview) -> BinaryFrame:
    """Decode one WIRE-1 frame (docs/protocol.md §2.5).

    Args:
        data: The frame's bytes (a transport message body with the binary marker).

    Returns:
        The decoded frame: ``payload`` for JSON kinds, ``data`` and ``binary_kind`` for ``bin``.

    Raises:
        ThalovantProtocolError: Any malformation.
    """
    buf = data if isinstance(data, bytes) else bytes(data)
    found = _NONZERO.search(buf)
    if found is None:
        raise ThalovantProtocolError("binary frame has no start marker")
    first = found.start()
    window = buf[first : first + _WINDOW]
    reader = _BitReader(window, 9 - window[0].bit_length())
    if reader.take(1):
        version = reader.take(8)
        if version > 1:
            raise ThalovantProtocolError(f"unsupported binary frame version {version}")
    type_code = reader.take(5)
    compressed = reader.take(1) == 1
    meta_len = reader.take(8)
    meta_raw = reader.take(8 * meta_len).to_bytes(meta_len, "big")
    kind_code = reader.take(4) if type_code == _BIN else None
    tail = _tail(buf, 8 * first + reader.pos)

    if compressed and meta_raw:  # an empty section has nothing to inflate
        meta_raw = _inflate(meta_raw, "metadata")
    metadata = _json_object(meta_raw, "metadata")
    if kind_code is not None:
        return BinaryFrame("bin", metadata, None, _kind_name(kind_code), kind_code, tail)
    if compressed and tail:
        tail = _inflate(tail, "payload")
    name = _TYPE_NAMES[type_code] if type_code < len(_TYPE_NAMES) else _THIRD_PARTY
    return BinaryFrame(name, metadata, _json_object(tail, "payload"))


class _BitReader:
    """MSB-first reader over a short window, held as one integer."""

    __slots__ = ("bits", "pos", "word")

    def __init__(self, window: bytes, pos: int) -> None:
        self.word = int.from_bytes(window, "big")
        self.bits = 8 * len(window)
        self.pos = pos

    def take(self, count: int) -> int:
        end = self.pos + count
        if end > self.bits:
            raise ThalovantProtocolError("binary frame truncated in its header")
        self.pos = end
        return (self.word >> (self.bits - end)) & ((1 << count) - 1)


def _tail(buf: bytes, start_bit: int) -> bytes:
    """Whole bytes from absolute bit ``start_bit`` to the end; trailing odd bits dropped."""
    start, skip = divmod(start_bit, 8)
    if not skip:
        return buf[start:]
    # The remaining bits count 8 * len - start_bit; keep whole bytes of them.
    rest = buf[start:]  # a bytes copy: int.from_bytes is ~2x slower on a memoryview
    whole = (8 * len(rest) - skip) // 8
    drop = 8 * len(rest) - skip - 8 * whole
    # After the shift the value has ``skip`` header bits on top of ``whole`` bytes: one extra
    # leading byte holds them, sliced off (a memcpy, cheaper than masking a big integer).
    return (int.from_bytes(rest, "big") >> drop).to_bytes(whole + 1, "big")[1:]


def _inflate(blob: bytes, what: str) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(blob, MAX_INFLATED_BYTES + 1)
    except zlib.error:
        raise ThalovantProtocolError(f"binary frame {what} is not valid zlib data") from None
    if len(out) > MAX_INFLATED_BYTES or inflater.unconsumed_tail:
        raise ThalovantProtocolError(f"binary frame {what} inflates beyond 32 MiB")
    if not inflater.eof or inflater.unused_data:
        raise ThalovantProtocolError(f"binary frame {what} is a truncated or padded zlib stream")
    return out


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeError, RecursionError):  # DecodeError ⊃ ValidationError
        raise ThalovantProtocolError(f"binary frame {what} is not valid JSON") from None
    if exceeds_depth(raw):
        raise ThalovantProtocolError(f"binary frame {what} nests deeper than {MAX_DEPTH} levels")
    if not isinstance(value, dict):
        raise ThalovantProtocolError(f"binary frame {what} is not a JSON object")
    return value


def _encode_json(value: dict[str, Any]) -> bytes:
    try:
        out = _ENCODER.encode(value)
    except RecursionError:
        out = b""
    if not out or exceeds_depth(out):
        raise ValueError(f"binary frame section nests deeper than {MAX_DEPTH} levels")
    return out


def _kind_code(kind: str | int | None) -> int:
    if isinstance(kind, int) and not isinstance(kind, bool):
        code = kind
    elif isinstance(kind, str) and kind in _KIND_CODES:
        code = _KIND_CODES[kind]
    elif isinstance(kind, str) and kind.startswith("binary:") and kind[7:].isdigit():
        code = int(kind[7:])
    else:
        raise ValueError(f"unknown binary payload kind {kind!r}")
    if not 0 <= code <= 15:
        raise ValueError(f"binary payload kind {code} does not fit in 4 bits")
    return code


def encode_binary_frame(
    msg_type: str,
    *,
    metadata: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    binary_kind: str | int | None = None,
    data: bytes | bytearray | memoryview | None = None,
    compress: bool = False,
) -> bytes:
    """Encode one WIRE-1 frame (unversioned).

    Args:
        msg_type: The message type (one with a binary type number).
        metadata: The frame's metadata (at most 255 bytes of JSON).
        payload: The JSON payload object of numbered non-``bin`` kinds.
        binary_kind: ``bin`` frames' kind: a name, ``binary:<n>`` or a number.
        data: ``bin`` frames' payload bytes.
        compress: zlib-compress the payload.

    Returns:
        The frame's bytes.

    Raises:
        ValueError: A caller mistake (unknown type, metadata too long, missing data, ...).
    """
    code = TYPE_CODES.get(msg_type)
    if code is None:
        raise ValueError(f"{msg_type!r} has no binary type number")
    meta_json = _encode_json({} if metadata is None else metadata)
    if len(meta_json) > 255:
        compress = True
    meta = zlib.compress(meta_json) if compress else meta_json
    if len(meta) > 255:
        raise ThalovantProtocolError(
            f"binary frame metadata is {len(meta)} bytes even compressed (limit 255)"
        )
    header = (1 << 15) | (code << 9) | (int(compress) << 8) | len(meta)
    if code == _BIN:
        if payload is not None:
            raise ValueError("bin frames carry raw data, not a JSON payload")
        if data is None:
            raise ValueError("bin frames need data")
        kind = _kind_code(binary_kind)
        # 20 + 8N bits before the data; front-padding them to whole bytes aligns the data.
        prefix = (((header << (8 * len(meta))) | int.from_bytes(meta, "big")) << 4) | kind
        return b"".join((prefix.to_bytes(3 + len(meta), "big"), data))
    if binary_kind is not None or data is not None:
        raise ValueError(f"{msg_type} frames carry a JSON payload, not raw data")
    body = _encode_json({} if payload is None else payload)
    if compress:
        body = zlib.compress(body)
    return b"".join((header.to_bytes(2, "big"), meta, body))
