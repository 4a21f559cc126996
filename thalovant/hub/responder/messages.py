"""Bus messages the hub sends: reply contexts, ``speak``, ``ovos.utterance.handled``, ...

Replies follow OVOS ``Message.reply``: the context is a deep copy of the request's, with
routing swapped (new ``source`` = old ``destination``, first element if a list; new
``destination`` = old ``source``; no old source means no destination). Everything else,
notably ``request_id``, ``thalovant_request_id`` and ``session.request_id``, is kept as the
client sent it: that is how a client matches replies to its request (docs/protocol.md §3.5).
"""

from __future__ import annotations

import copy
from typing import Any

from thalovant.events import (
    EVENT_INTENT_UNMATCHED,
    EVENT_POLICY_DENIED,
    EVENT_QUERY_COMPLETE,
    EVENT_SPEAK,
    EVENT_UTTERANCE_HANDLED,
)
from thalovant.protocol.envelope import (
    MAX_DEPTH,
    BusMessage,
    HiveMessage,
    mesh_message,
    swap_routing,
)

__all__ = [
    "DEFAULT_LANG",
    "denied_message",
    "handled_message",
    "normalize_request_context",
    "query_complete_message",
    "reply_context",
    "speak_message",
    "unmatched_message",
    "wrap_bus",
    "wrap_query",
]

DEFAULT_LANG = "en-us"
"""Language assumed when a request names none."""


def _json_copy(value: Any, depth: int = 0) -> Any:
    """A deep copy of decoded JSON (dicts, lists, scalars): several times cheaper than
    ``copy.deepcopy``, which keeps a memo for cycles JSON cannot have; anything else is
    handed to ``copy.deepcopy``.

    Bounded by :data:`~thalovant.protocol.envelope.MAX_DEPTH` like the decoder (a decoded
    context is always within it; a hook's own dict may not be): ``ValueError`` beyond it.
    """
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise ValueError(f"context nests deeper than {MAX_DEPTH} levels")
        return {key: _json_copy(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise ValueError(f"context nests deeper than {MAX_DEPTH} levels")
        return [_json_copy(item, depth + 1) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return copy.deepcopy(value)


def normalize_request_context(
    context: dict[str, Any], *, session_id: str | None, site_id: str | None
) -> dict[str, Any]:
    """A copy of a request context with a ``session`` object the hub can rely on.

    As HiveMind-core does, a missing session id, or ``"default"``, becomes the connection's
    session id (from the client's encrypted HELLO); a missing ``site_id`` becomes the
    connection's. Other keys are kept untouched.
    """
    out: dict[str, Any] = _json_copy(context)
    session = out.get("session")
    session = dict(session) if isinstance(session, dict) else {}
    current = session.get("session_id")
    if (not isinstance(current, str) or not current or current == "default") and session_id:
        session["session_id"] = session_id
    if site_id and not session.get("site_id"):
        session["site_id"] = site_id
    out["session"] = session
    return out


def reply_context(request_context: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The context of a reply to a message with ``request_context`` (``Message.reply``)."""
    out = swap_routing(_json_copy(request_context))
    out.update(extra)
    return out


def speak_message(
    context: dict[str, Any],
    text: str,
    *,
    lang: str,
    skill: str,
    meta: dict[str, Any] | None = None,
    rich_media: Any = None,
    expect_response: bool = False,
) -> BusMessage:
    """A ``speak`` event: ``data = {"utterance", "lang", "expect_response", "meta"[, ...]}``."""
    data: dict[str, Any] = {
        "utterance": text,
        "lang": lang,
        "expect_response": expect_response,
        "meta": {"skill": skill, **(meta or {})},
    }
    if rich_media is not None:
        data["rich_media"] = rich_media
    return BusMessage(EVENT_SPEAK, data, context)


def handled_message(context: dict[str, Any]) -> BusMessage:
    """``ovos.utterance.handled``: the request is finished (with or without speech)."""
    return BusMessage(EVENT_UTTERANCE_HANDLED, {}, context)


def unmatched_message(context: dict[str, Any], utterance: str, lang: str) -> BusMessage:
    """``ovos.intent.unmatched``: no skill claimed the utterance."""
    return BusMessage(EVENT_INTENT_UNMATCHED, {"utterance": utterance, "lang": lang}, context)


def denied_message(context: dict[str, Any], data: dict[str, Any]) -> BusMessage:
    """``hive.policy.denied`` with ``data`` from
    :func:`thalovant.hub.responder.policy.denial_data`."""
    return BusMessage(EVENT_POLICY_DENIED, data, context)


def query_complete_message(context: dict[str, Any], query_id: str) -> BusMessage:
    """``hive.query.complete``: the last answer to a HiveMind ``query``."""
    return BusMessage(EVENT_QUERY_COMPLETE, {"query_id": query_id}, context)


def wrap_bus(message: BusMessage) -> HiveMessage:
    """A ``bus`` envelope around ``message``."""
    return HiveMessage("bus", message)


def wrap_query(message: BusMessage, query_id: str) -> HiveMessage:
    """A ``query`` envelope nesting a complete ``bus`` envelope, tagged with the query id."""
    return mesh_message("query", wrap_bus(message), metadata={"query_id": query_id})
