"""Sans-I/O builders of outgoing messages: contexts, correlation, runtime stamping.

Nothing here awaits or touches a socket: the client calls these with the connection's session
id and sends the result through the link. Context building order for an utterance
(docs/protocol.md §3.5): caller context → ``stt_lang``/``pipeline``/``location`` → identity
metadata → carried conversation fields → correlation keys → runtime stamping. Caller dicts
are never modified (deep copies). Correlation ids are chosen by
:mod:`thalovant.client.correlation`, the ``input`` of ``send_action``/``send_code`` by
:mod:`thalovant.client.inputs`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from thalovant.client.carry import ConversationCarry
from thalovant.client.context import copy_mapping, request_context
from thalovant.client.correlation import (
    caller_session_id,
    new_request_id,
    new_session_id,
    session_of,
    usable_id,
)
from thalovant.errors import ThalovantRuntimeError
from thalovant.events import EVENT_RECOGNIZER_LOOP_UTTERANCE
from thalovant.models.types import ThalovantEvent
from thalovant.protocol.envelope import HiveMessage, bus_message, mesh_message, swap_routing

__all__ = [
    "DESTINATION",
    "MESH_SEND_KINDS",
    "Outgoing",
    "RequestStamp",
    "build_emit",
    "build_mesh",
    "build_query",
    "build_reply",
    "build_utterance",
    "require_text",
    "stamp_runtime",
]

#: ``context.destination`` stamped on every outgoing bus message.
DESTINATION = "HiveMind"
#: Mesh kinds the client sends (``broadcast`` needs an admin grant on the hub).
MESH_SEND_KINDS = frozenset({"propagate", "escalate", "broadcast"})


@dataclass(frozen=True)
class RequestStamp:
    """Per-client constants stamped on requests."""

    user_agent: str
    site_id: str
    metadata: Mapping[str, Any]


class Outgoing(NamedTuple):
    """A built message with its correlation ids."""

    message: HiveMessage
    request_id: str
    session_id: str


def require_text(text: object, what: str = "text") -> str:
    """Check a required string argument.

    Args:
        text: The value.
        what: Its name in the error message.

    Returns:
        ``text`` unchanged.

    Raises:
        ThalovantRuntimeError: It is not a non-blank string.
    """
    if not isinstance(text, str) or not text.strip():
        raise ThalovantRuntimeError(f"{what} must be a non-empty string")
    return text


def _merge_metadata(context: dict[str, Any], metadata: Mapping[str, Any]) -> None:
    if not metadata:
        return
    merged = copy_mapping(metadata, "metadata")
    given = context.get("metadata")
    if isinstance(given, Mapping):
        merged.update(given)  # caller keys win
    context["metadata"] = merged


def stamp_runtime(
    context: dict[str, Any], stamp: RequestStamp, connection_session_id: str | None
) -> dict[str, Any]:
    """Fill the runtime keys where absent, in place (docs/protocol.md §3.5).

    ``source``/``platform`` = user agent, ``destination`` = ``"HiveMind"``,
    ``session.session_id`` (the connection's when missing or ``"default"``) and
    ``session.site_id``.

    Args:
        context: The outgoing context (updated).
        stamp: The client's constants.
        connection_session_id: The connection's session id.

    Returns:
        ``context``.
    """
    context.setdefault("source", stamp.user_agent)
    context.setdefault("platform", stamp.user_agent)
    context.setdefault("destination", DESTINATION)
    session = session_of(context)
    if usable_id(session.get("session_id")) is None and connection_session_id:
        session["session_id"] = connection_session_id
    session.setdefault("site_id", stamp.site_id)
    context["session"] = session
    return context


def _correlate(
    context: dict[str, Any],
    *,
    request_id: str,
    session_id: str | None,
    site_id: str,
    lang: str | None,
) -> None:
    context["request_id"] = request_id
    context["thalovant_request_id"] = request_id
    session = session_of(context)
    session["request_id"] = request_id
    if session_id is not None:
        session["session_id"] = session_id
    session.setdefault("site_id", site_id)
    if lang is not None:
        session.setdefault("lang", lang)
    context["session"] = session


def settle_request_id(request_id: str | None, context: Mapping[str, Any] | None) -> str:
    """The id a request is sent with: the caller's, else the context's, else a new one."""
    if request_id is not None:
        return require_text(request_id, "request_id")
    given = context.get("request_id") if context else None
    return given if isinstance(given, str) and given.strip() else new_request_id()


def build_utterance(
    stamp: RequestStamp,
    text: str,
    *,
    lang: str,
    connection_session_id: str | None,
    context: Mapping[str, Any] | None = None,
    session_id: str | None = None,
    request_id: str | None = None,
    stt_lang: str | None = None,
    pipeline: Iterable[str] | None = None,
    location: Mapping[str, Any] | None = None,
    carry: ConversationCarry | None = None,
    input: Mapping[str, Any] | None = None,
    data_input: bool = False,
    fallback_session_id: str | None = None,
) -> Outgoing:
    """A ``recognizer_loop:utterance`` bus message (``ask``, ``send_*``; docs/protocol.md
    §3.5, §4), its context built in the order of the module docstring.

    Args:
        stamp: The client's constants.
        text: The utterance.
        lang: Its language.
        connection_session_id: The connection's session id; None skips runtime stamping
            (``query``).
        context: The caller's context (deep-copied).
        session_id: The caller's session id.
        request_id: The request id (default the context's, else a new one).
        stt_lang: ``context.stt_lang``.
        pipeline: ``context.session.pipeline``.
        location: ``context.location``.
        carry: The conversation carry to apply.
        input: ``context.input`` (and ``data.input`` with ``data_input``).
        data_input: Also put ``input`` in the data.
        fallback_session_id: The session id when the caller gave none.

    Returns:
        The message with its request id and effective session id.

    Raises:
        ThalovantRuntimeError: A blank request id, an invalid or secret-bearing mapping.
    """
    rid = settle_request_id(request_id, context)
    sid = caller_session_id(context, session_id)
    ctx = request_context(context, stt_lang=stt_lang, pipeline=pipeline, location=location)
    _merge_metadata(ctx, stamp.metadata)
    effective = sid or fallback_session_id or connection_session_id
    if carry is not None and effective is not None:
        session = session_of(ctx)
        carry.apply(effective, session)
        ctx["session"] = session
    if input is not None:
        ctx["input"] = copy_mapping(input, "input")
    _correlate(
        ctx, request_id=rid, session_id=sid or fallback_session_id, site_id=stamp.site_id, lang=lang
    )
    if connection_session_id is not None:
        stamp_runtime(ctx, stamp, connection_session_id)
    data: dict[str, Any] = {"utterances": [text], "lang": lang}
    if input is not None and data_input:
        data["input"] = copy_mapping(input, "input")
    message = bus_message(EVENT_RECOGNIZER_LOOP_UTTERANCE, data, ctx)
    return Outgoing(message, rid, effective or "")


def _emit_context(
    stamp: RequestStamp, context: Mapping[str, Any] | None, connection_session_id: str
) -> dict[str, Any]:
    ctx = copy_mapping(context) if context else {}
    _merge_metadata(ctx, stamp.metadata)
    return stamp_runtime(ctx, stamp, connection_session_id)


def build_emit(
    stamp: RequestStamp,
    msg_type: str,
    data: Mapping[str, Any] | None,
    context: Mapping[str, Any] | None,
    connection_session_id: str,
) -> HiveMessage:
    """A raw ``bus`` message: identity metadata + runtime stamping, no correlation.

    Args:
        stamp: The client's constants.
        msg_type: The message type.
        data: Its data (deep-copied).
        context: Its context (deep-copied).
        connection_session_id: The connection's session id.

    Returns:
        The message.

    Raises:
        ThalovantRuntimeError: A blank type or an invalid mapping.
    """
    require_text(msg_type, "message type")
    ctx = _emit_context(stamp, context, connection_session_id)
    return bus_message(msg_type, copy_mapping(data, "data") if data else {}, ctx)


def build_reply(
    stamp: RequestStamp,
    event: ThalovantEvent,
    msg_type: str,
    data: Mapping[str, Any] | None,
    context: Mapping[str, Any] | None,
    connection_session_id: str,
) -> HiveMessage:
    """``emit`` of a reply to ``event`` (docs/protocol.md §4): its wire context deep-copied
    with routing swapped (source ⇄ destination, first destination of a list), then overlaid
    by ``context``.

    Args:
        stamp: The client's constants.
        event: The event answered.
        msg_type: The reply's type.
        data: Its data (deep-copied).
        context: Keys overlaid on the swapped context.
        connection_session_id: The connection's session id.

    Returns:
        The message.

    Raises:
        ThalovantRuntimeError: A blank type or an invalid mapping.
    """
    raw = event.raw.get("context") if event.raw else None
    wire = raw if isinstance(raw, Mapping) else event.context
    ctx = swap_routing(copy_mapping(wire))
    if context:
        ctx.update(copy_mapping(context))
    return build_emit(stamp, msg_type, data, ctx, connection_session_id=connection_session_id)


def build_mesh(
    stamp: RequestStamp,
    kind: str,
    msg_type: str,
    data: Mapping[str, Any] | None,
    context: Mapping[str, Any] | None,
    connection_session_id: str,
) -> HiveMessage:
    """A ``propagate``/``escalate``/``broadcast`` envelope nesting a full stamped ``bus``.

    Args:
        stamp: The client's constants.
        kind: One of :data:`MESH_SEND_KINDS`.
        msg_type: The nested message's type.
        data: Its data (deep-copied).
        context: Its context (deep-copied).
        connection_session_id: The connection's session id.

    Returns:
        The envelope.

    Raises:
        ThalovantRuntimeError: Another kind, a blank type or an invalid mapping.
    """
    if kind not in MESH_SEND_KINDS:
        raise ThalovantRuntimeError(f"cannot send {kind!r}; use one of {sorted(MESH_SEND_KINDS)}")
    inner = build_emit(stamp, msg_type, data, context, connection_session_id=connection_session_id)
    return mesh_message(kind, inner)


def build_query(
    stamp: RequestStamp,
    text: str,
    *,
    lang: str,
    context: Mapping[str, Any] | None,
    session_id: str | None,
    query_id: str | None,
    carry: ConversationCarry | None = None,
    request_id: str | None = None,
) -> tuple[Outgoing, str]:
    """A HiveMind ``query`` frame (docs/protocol.md §3.6): the nested ``bus`` utterance
    carries the correlation context without runtime stamping.

    Args:
        stamp: The client's constants.
        text: The utterance.
        lang: Its language.
        context: The caller's context (deep-copied).
        session_id: The session id (default the context's, else a new one).
        query_id: The query id (default the request id).
        carry: The conversation carry to apply.
        request_id: The request id (default a new one).

    Returns:
        The frame with its ids, and the query id.

    Raises:
        ThalovantRuntimeError: A blank query id or an invalid mapping.
    """
    sid = caller_session_id(context, session_id) or new_session_id()
    out = build_utterance(
        stamp,
        text,
        lang=lang,
        connection_session_id=None,
        context=context,
        session_id=sid,
        request_id=request_id,
        carry=carry,
    )
    qid = require_text(query_id, "query_id") if query_id is not None else out.request_id
    frame = mesh_message("query", out.message, metadata={"query_id": qid})
    return Outgoing(frame, out.request_id, sid), qid
