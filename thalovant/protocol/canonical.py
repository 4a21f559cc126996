"""Canonical JSON for the Noise prologue, and the parser for cleartext handshake frames.

The prologue (docs/protocol.md §2.3) binds the hub's cleartext HELLO and offer into the handshake:
both sides hash ``canonical_json(hello_payload) + canonical_json(offer_payload) + protocol_name``.
If one byte differs, message 2 fails to authenticate and the link looks like a wrong password. The
reference implementation produces those bytes with Python's ``json.dumps(sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` over values parsed by Python's ``json.loads``.

Design decision: we use exactly that pair of stdlib functions, not msgspec (which the rest of
the SDK uses for speed). msgspec differs from ``json`` in details that reach the bytes (float
formatting, escaping of U+007F and U+2028, NaN/Infinity, duplicate keys, big integers), and the
prologue must be byte-identical with the official SDK for whatever a hub sends. Parsing with
``json.loads`` and serialising with ``json.dumps`` reproduces the reference by construction;
handshake frames are few and small, so the speed difference does not matter here.
"""

from __future__ import annotations

import json
from typing import Any

from thalovant.errors import ThalovantProtocolError
from thalovant.protocol.envelope import MAX_DEPTH, exceeds_depth

__all__ = ["canonical_json", "parse_cleartext"]


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` exactly as the reference does for the prologue (docs/protocol.md §2.3).

    Keys sorted by code point, no whitespace, raw (non-escaped) non-ASCII, Python's escaping of
    control characters and Python's number formatting, encoded as UTF-8.

    Args:
        value: A JSON value (as parsed by ``json.loads``).

    Returns:
        The canonical UTF-8 bytes.

    Raises:
        ThalovantProtocolError: The value cannot be serialised (a non-JSON type, a lone
            surrogate that has no UTF-8 form, nesting too deep).
    """
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        # UnicodeEncodeError (lone surrogates) is a ValueError subclass.
        raise ThalovantProtocolError(f"value has no canonical JSON form: {exc}") from None


def parse_cleartext(text: str | bytes) -> dict[str, Any]:
    """Parse one cleartext handshake frame into a JSON object with stdlib ``json.loads``.

    Bytes must be UTF-8 (no BOM sniffing, unlike ``json.loads(bytes)``).

    Args:
        text: The frame.

    Returns:
        The JSON object.

    Raises:
        ThalovantProtocolError: Anything that is not a JSON object (invalid JSON, an array, a
            number, invalid UTF-8, nesting deeper than
            :data:`~thalovant.protocol.envelope.MAX_DEPTH`, an integer beyond Python's digit
            limit).
    """
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise ThalovantProtocolError("cleartext frame is not valid UTF-8") from None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError is a ValueError; so is the int-digits limit of Python 3.11+.
        raise ThalovantProtocolError(f"cleartext frame is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ThalovantProtocolError(
            f"cleartext frame must be a JSON object, not {type(value).__name__}"
        )
    if exceeds_depth(text):
        raise ThalovantProtocolError(f"cleartext frame nests deeper than {MAX_DEPTH} levels")
    return value
