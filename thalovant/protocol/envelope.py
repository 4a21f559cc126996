"""HiveMind envelopes and OVOS bus messages (docs/protocol.md §3.1-§3.3), with strict JSON codecs.

Decoding is strict about the envelope (an object with a string ``msg_type``, a ``payload``,
an object ``metadata`` and an array ``route``) and cheap about the payload: a ``bus`` payload
must be an object with a string ``type`` and a mesh payload must be an object, but the nested
structures are validated only when :func:`bus_payload` or :func:`inner_message` asks for them.
Every malformed input raises :class:`~thalovant.errors.ThalovantProtocolError`.

One nesting limit, :data:`MAX_DEPTH`, holds for every JSON document of the protocol, in both
directions and on both sides: :func:`decode_message` refuses a deeper frame (a protocol error:
the hub closes the link with 1002, a client drops the message), :func:`encode_message` refuses
to build one (``ValueError``: the caller's payload), and the binary-frame header and the
cleartext handshake frames use the same :func:`exceeds_depth`. Whatever a peer accepted can
therefore be copied, answered and re-encoded by recursive code without reaching Python's
recursion limit.

Unknown ``msg_type`` strings are kept as they are (not rejected, not renamed): a protocol
error kills the link, and a hub that grows a new message kind should not take every older
client down with it. Dispatchers ignore kinds they do not know; :data:`MSG_TYPES` lists the
known ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from thalovant.errors import ThalovantProtocolError

__all__ = [
    "HIVE_KINDS",
    "MAX_DEPTH",
    "MESH_KINDS",
    "MSG_TYPES",
    "BusMessage",
    "HiveMessage",
    "bus_message",
    "bus_payload",
    "decode_message",
    "encode_message",
    "exceeds_depth",
    "inner_message",
    "mesh_message",
    "nesting_exceeds",
    "swap_routing",
]

#: Every ``msg_type`` string of the v3 wire (§3.1).
MSG_TYPES: frozenset[str] = frozenset(
    {
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
        "intercom",
        "3rdparty",
        "bin",
    }
)

#: Kinds whose payload is a complete nested HiveMind envelope.
MESH_KINDS: frozenset[str] = frozenset(
    {
        "broadcast",
        "propagate",
        "escalate",
        "intercom",
        "rendezvous",
        "query",
        "cascade",
        "shared_bus",
    }
)

#: Mesh kinds a client hands to its hive subscribers (``on_hive``) rather than to the bus.
HIVE_KINDS: frozenset[str] = frozenset(
    {"broadcast", "propagate", "escalate", "intercom", "rendezvous"}
)

# Decoded-only spellings and what they mean on the v3 wire.
_ALIASES = {"handshake": "shake"}
_ROUTING_FIELDS = frozenset(
    {"metadata", "route", "node", "target_site_id", "target_pubkey", "source_peer"}
)
# Error texts quote at most this much of anything taken from the frame.
_MAX_DETAIL = 160

MAX_DEPTH = 64
"""Deepest nesting of objects and arrays in one JSON document (the envelope itself is level
1; a bus context is level 3, inside a ``query`` level 4). Real HiveMind/OVOS messages use
about ten levels; at 64 every recursive walk of an accepted message (``copy.deepcopy`` takes
two Python frames per level) stays far below Python's recursion limit from any call stack."""

_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_TO_PARENS = bytes.maketrans(b"[{]}", b"(())")


def exceeds_depth(document: bytes | bytearray | memoryview | str, limit: int = MAX_DEPTH) -> bool:
    """Whether the *valid* JSON text ``document`` nests objects/arrays deeper than ``limit``.

    Cheap for the usual message: with no more brackets than ``limit`` it cannot be deeper.
    Otherwise strings are cut out and the brackets peeled level by level (no recursion).

    Args:
        document: Valid JSON text.
        limit: The deepest nesting allowed.

    Returns:
        True when it nests deeper.
    """
    if isinstance(document, str):
        if document.count("{") + document.count("[") <= limit:
            return False
        raw = document.encode("utf-8", "surrogatepass")
    else:
        raw = document if isinstance(document, bytes) else bytes(document)
        if raw.count(b"{") + raw.count(b"[") <= limit:
            return False
    # Escapes first: pairs of backslashes, then escaped quotes (valid JSON has backslashes only
    # inside strings, and an escape starts at the first backslash of a run).
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Then only quotes and brackets. Two adjacent quotes (a string without brackets, or the
    # gap between two strings) go at once; that keeps every other quote's parity, so if any
    # quote is left the even pieces between quotes are what lies outside strings.
    structure = raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:  # some string holds a bracket
        structure = b"".join(structure.split(b'"')[::2])
    parens = structure.translate(_TO_PARENS)
    # Each pass removes every innermost pair, so a document `limit` deep is gone after
    # `limit` passes (each a C-speed replace).
    for _ in range(limit):
        parens = parens.replace(b"()", b"")
        if not parens:
            return False
    return bool(parens)


class HiveMessage(msgspec.Struct):
    """One HiveMind envelope.

    ``payload`` holds plain JSON values after decoding; locally built messages may hold a
    :class:`BusMessage` or a nested :class:`HiveMessage` instead. Read it through
    :func:`bus_payload` / :func:`inner_message`, which accept both forms. The struct is
    mutable on purpose: a relaying hub stamps ``route`` and ``source_peer`` in place.
    """

    msg_type: str
    payload: Any
    metadata: dict[str, Any] = {}
    route: list[Any] = []
    node: Any = None
    target_site_id: Any = None
    target_pubkey: Any = None
    source_peer: Any = None


class BusMessage(msgspec.Struct):
    """An OVOS bus message: ``{"type", "data", "context"}`` (§3.2)."""

    type: str
    data: dict[str, Any] = {}
    context: dict[str, Any] = {}


class _LenientHiveMessage(msgspec.Struct):
    # Fallback shape: peers written in Python may serialise an empty metadata/route as null.
    msg_type: str
    payload: Any
    metadata: dict[str, Any] | None = None
    route: list[Any] | None = None
    node: Any = None
    target_site_id: Any = None
    target_pubkey: Any = None
    source_peer: Any = None


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(HiveMessage)
_LENIENT_DECODER = msgspec.json.Decoder(_LenientHiveMessage)
# Everything msgspec (or the UTF-8 codec, or a deep nesting) can raise on hostile input.
_DECODE_ERRORS = (msgspec.DecodeError, UnicodeError, RecursionError, OverflowError)


def nesting_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a Python value nests mappings, lists and tuples deeper than ``limit``.

    The object-side twin of :func:`exceeds_depth`; iterative, so it is safe on anything a
    caller passes.

    Args:
        value: Any value.
        limit: The deepest nesting allowed.

    Returns:
        True when it nests deeper.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _short(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."


def encode_message(msg: HiveMessage) -> bytes:
    """UTF-8 JSON of ``msg`` with all eight envelope keys (docs/protocol.md §3.1).

    Args:
        msg: The envelope.

    Returns:
        The JSON bytes.

    Raises:
        TypeError: The payload holds something JSON cannot express (a caller bug).
        ValueError: It nests deeper than :data:`MAX_DEPTH` (a caller bug).
    """
    try:
        out = _ENCODER.encode(msg)
    except RecursionError:
        out = b""
    if not out or exceeds_depth(out):
        raise ValueError(f"message nests deeper than {MAX_DEPTH} levels")
    return out


def decode_message(data: bytes | bytearray | memoryview | str) -> HiveMessage:
    """Parse and validate one JSON envelope (docs/protocol.md §3.1).

    Args:
        data: The JSON text.

    Returns:
        The envelope (``handshake`` read as ``shake``; unknown kinds kept as they are).

    Raises:
        ThalovantProtocolError: It is malformed or nests deeper than :data:`MAX_DEPTH`.
    """
    try:
        msg = _DECODER.decode(data)
    except msgspec.ValidationError as exc:
        msg = _decode_lenient(data, exc)
    except _DECODE_ERRORS as exc:
        raise ThalovantProtocolError(f"malformed JSON envelope: {_short(str(exc))}") from None
    if exceeds_depth(data):
        raise ThalovantProtocolError(f"envelope nests deeper than {MAX_DEPTH} levels")
    return _checked(msg)


def _decode_lenient(
    data: bytes | bytearray | memoryview | str, first: msgspec.ValidationError
) -> HiveMessage:
    # Off the hot path: only reached when the strict shape did not fit.
    try:
        loose = _LENIENT_DECODER.decode(data)
    except (msgspec.ValidationError, *_DECODE_ERRORS):
        raise ThalovantProtocolError(f"invalid envelope: {_short(str(first))}") from None
    return HiveMessage(
        loose.msg_type,
        loose.payload,
        {} if loose.metadata is None else loose.metadata,
        [] if loose.route is None else loose.route,
        loose.node,
        loose.target_site_id,
        loose.target_pubkey,
        loose.source_peer,
    )


def _checked(msg: HiveMessage) -> HiveMessage:
    kind = msg.msg_type
    if kind not in MSG_TYPES:
        if not kind:
            raise ThalovantProtocolError("invalid envelope: empty msg_type")
        kind = _ALIASES.get(kind, kind)
        msg.msg_type = kind
    payload = msg.payload
    if kind == "bus":
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            raise ThalovantProtocolError(
                "invalid bus envelope: payload must be an object with a string 'type'"
            )
    elif kind in MESH_KINDS and not isinstance(payload, (dict, HiveMessage)):
        raise ThalovantProtocolError(
            f"invalid {kind} envelope: payload must be a nested envelope object"
        )
    return msg


def bus_payload(msg: HiveMessage) -> BusMessage:
    """The OVOS message inside a ``bus`` envelope, validated (docs/protocol.md §3.2).

    The returned message shares ``data`` and ``context`` with the envelope (no copy).

    Args:
        msg: A ``bus`` envelope.

    Returns:
        The bus message (null ``data``/``context`` read as empty).

    Raises:
        ThalovantProtocolError: The payload is no valid bus message.
    """
    payload = msg.payload
    if isinstance(payload, BusMessage):
        return payload
    if not isinstance(payload, dict):
        raise ThalovantProtocolError("invalid bus payload: not an object")
    kind = payload.get("type")
    data = payload.get("data")
    context = payload.get("context")
    if not isinstance(kind, str):
        raise ThalovantProtocolError("invalid bus payload: 'type' must be a string")
    # null/missing data or context is read as empty, as Python peers do.
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        raise ThalovantProtocolError("invalid bus payload: 'data' must be an object")
    if context is None:
        context = {}
    elif not isinstance(context, dict):
        raise ThalovantProtocolError("invalid bus payload: 'context' must be an object")
    return BusMessage(kind, data, context)


def inner_message(msg: HiveMessage) -> HiveMessage:
    """The nested envelope carried by a mesh message (broadcast, propagate, ...).

    Args:
        msg: A mesh envelope.

    Returns:
        The nested envelope, validated.

    Raises:
        ThalovantProtocolError: The payload is no valid envelope.
    """
    payload = msg.payload
    if isinstance(payload, HiveMessage):
        return payload
    if not isinstance(payload, dict):
        raise ThalovantProtocolError(f"invalid {_short(msg.msg_type)} payload: not an object")
    fixed = payload
    if payload.get("metadata", {}) is None or payload.get("route", []) is None:
        fixed = dict(payload)
        if fixed.get("metadata", {}) is None:
            fixed["metadata"] = {}
        if fixed.get("route", []) is None:
            fixed["route"] = []
    try:
        inner = msgspec.convert(fixed, HiveMessage)
    except (msgspec.ValidationError, RecursionError) as exc:
        raise ThalovantProtocolError(f"invalid nested envelope: {_short(str(exc))}") from None
    return _checked(inner)


def bus_message(
    type: str,
    data: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> HiveMessage:
    """A ``bus`` envelope around a new OVOS message. The dicts are used as given (no copy).

    Args:
        type: The OVOS message type.
        data: Its data.
        context: Its context.

    Returns:
        The envelope.

    Raises:
        ValueError: ``type`` is empty or not a string.
    """
    if not isinstance(type, str) or not type:
        raise ValueError("bus message type must be a non-empty string")
    return HiveMessage(
        "bus",
        BusMessage(type, {} if data is None else data, {} if context is None else context),
    )


def mesh_message(kind: str, inner: HiveMessage, **routing: Any) -> HiveMessage:
    """A mesh envelope nesting the full envelope ``inner``.

    Args:
        kind: One of :data:`MESH_KINDS` (``broadcast``, ``propagate``, ...).
        inner: The envelope to nest.
        **routing: ``metadata``, ``route``, ``node``, ``target_site_id``, ``target_pubkey``
            and ``source_peer`` of the outer envelope.

    Returns:
        The mesh envelope.

    Raises:
        ValueError: ``kind`` is not a mesh kind.
        TypeError: ``inner`` is no envelope, or an unknown routing field.
    """
    if kind not in MESH_KINDS:
        raise ValueError(f"{kind!r} is not a mesh message kind")
    if not isinstance(inner, HiveMessage):
        raise TypeError("mesh_message needs a HiveMessage to nest")
    unknown = set(routing) - _ROUTING_FIELDS
    if unknown:
        raise TypeError(f"unknown envelope fields: {', '.join(sorted(unknown))}")
    return HiveMessage(kind, inner, **routing)


def swap_routing(context: dict[str, Any]) -> dict[str, Any]:
    """Turn a request's bus context into its reply's, in place (OVOS ``Message.reply``).

    ``source`` and ``destination`` swap, and a list destination answers its first entry.

    Args:
        context: The request's context.

    Returns:
        ``context`` itself.
    """
    destination = context.pop("destination", None)
    if isinstance(destination, list):
        destination = destination[0] if destination else None
    source = context.pop("source", None)
    if destination is not None:
        context["source"] = destination
    if source is not None:
        context["destination"] = source
    return context
