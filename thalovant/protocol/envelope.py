"""HiveMind envelopes and OVOS bus messages (wire.md §3.1-§3.3), with strict JSON codecs.

Decoding is strict about the envelope (an object with a string ``msg_type``, a ``payload``,
an object ``metadata`` and an array ``route``) and cheap about the payload: a ``bus`` payload
must be an object with a string ``type`` and a mesh payload must be an object, but the nested
structures are validated only when :func:`bus_payload` or :func:`inner_message` asks for them.
Every malformed input raises :class:`~thalovant.errors.ThalovantProtocolError`.

Unknown ``msg_type`` strings are kept as they are (not rejected, not renamed): a protocol
error kills the link, and a hub that grows a new message kind should not take every older
client down with it. Dispatchers ignore kinds they do not know; :data:`MSG_TYPES` lists the
known ones.
"""

from __future__ import annotations

from typing import Any

import msgspec

from thalovant.errors import ThalovantProtocolError

__all__ = [
    "MESH_KINDS",
    "MSG_TYPES",
    "BusMessage",
    "HiveMessage",
    "bus_message",
    "bus_payload",
    "decode_message",
    "encode_message",
    "inner_message",
    "mesh_message",
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

# Decoded-only spellings and what they mean on the v3 wire.
_ALIASES = {"handshake": "shake"}
_ROUTING_FIELDS = frozenset(
    {"metadata", "route", "node", "target_site_id", "target_pubkey", "source_peer"}
)
# Error texts quote at most this much of anything taken from the frame.
_MAX_DETAIL = 160


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


def _short(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."


def encode_message(msg: HiveMessage) -> bytes:
    """UTF-8 JSON of ``msg`` with all eight envelope keys.

    A payload holding something JSON cannot express raises ``TypeError`` (a caller bug, not a
    protocol fault).
    """
    return _ENCODER.encode(msg)


def decode_message(data: bytes | bytearray | memoryview | str) -> HiveMessage:
    """Parse and validate one JSON envelope; raise ThalovantProtocolError if malformed."""
    try:
        msg = _DECODER.decode(data)
    except msgspec.ValidationError as exc:
        msg = _decode_lenient(data, exc)
    except _DECODE_ERRORS as exc:
        raise ThalovantProtocolError(f"malformed JSON envelope: {_short(str(exc))}") from None
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
    """The OVOS message inside a ``bus`` envelope, validated.

    The returned message shares ``data`` and ``context`` with the envelope (no copy).
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
    """The nested envelope carried by a mesh message (broadcast, propagate, ...), validated."""
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
    """A ``bus`` envelope around a new OVOS message. The dicts are used as given (no copy)."""
    if not isinstance(type, str) or not type:
        raise ValueError("bus message type must be a non-empty string")
    return HiveMessage(
        "bus",
        BusMessage(type, {} if data is None else data, {} if context is None else context),
    )


def mesh_message(kind: str, inner: HiveMessage, **routing: Any) -> HiveMessage:
    """A mesh envelope (``broadcast``, ``propagate``, ...) nesting the full envelope ``inner``.

    ``routing`` may set ``metadata``, ``route``, ``node``, ``target_site_id``,
    ``target_pubkey`` and ``source_peer`` of the outer envelope.
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
    """Turn a request's bus context into its reply's, in place (OVOS ``Message.reply``):
    ``source`` and ``destination`` swap, and a list destination answers its first entry."""
    destination = context.pop("destination", None)
    if isinstance(destination, list):
        destination = destination[0] if destination else None
    source = context.pop("source", None)
    if destination is not None:
        context["source"] = destination
    if source is not None:
        context["destination"] = source
    return context
