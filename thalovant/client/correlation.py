"""Correlation ids of outgoing requests and listeners: minting new ones, and finding the
ones a caller chose in its arguments and context (docs/protocol.md §3.2, §3.5, §6).

Sans-I/O; the request builders (:mod:`thalovant.client.outgoing`) and the subscriptions
(:mod:`thalovant.client.subscribing`) use these.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = [
    "REQUEST_ID_PREFIX",
    "SESSION_ID_PREFIX",
    "caller_session_id",
    "filter_ids",
    "new_request_id",
    "new_session_id",
    "session_of",
    "usable_id",
]

REQUEST_ID_PREFIX = "thalovant-request-"
SESSION_ID_PREFIX = "thalovant-session-"


def new_request_id() -> str:
    """``thalovant-request-<uuid4 hex>``."""
    return REQUEST_ID_PREFIX + uuid.uuid4().hex


def new_session_id() -> str:
    """``thalovant-session-<uuid4 hex>``."""
    return SESSION_ID_PREFIX + uuid.uuid4().hex


def usable_id(value: object) -> str | None:
    """A session id worth using.

    Args:
        value: A candidate.

    Returns:
        ``value`` if it is a non-blank string other than ``"default"``, else None.
    """
    if isinstance(value, str) and value.strip() and value != "default":
        return value
    return None


def session_of(context: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``context.session`` (a JSON string is parsed; anything else is dropped).

    Args:
        context: A request context.

    Returns:
        The session dict (empty when there is none).
    """
    session = context.get("session")
    if isinstance(session, str):  # never send a JSON string: parse it, or drop it
        try:
            session = json.loads(session)
        except ValueError:
            session = None
    return dict(session) if isinstance(session, Mapping) else {}


def caller_session_id(context: Mapping[str, Any] | None, session_id: str | None) -> str | None:
    """The session id the caller chose (``"default"`` and blanks count as none).

    Args:
        context: The caller's context (``session.session_id``, then ``session_id``).
        session_id: The argument, which comes first.

    Returns:
        The id, or None.
    """
    found = usable_id(session_id)
    if found is None and context:
        found = usable_id(session_of(context).get("session_id"))
        found = found or usable_id(context.get("session_id"))
    return found


def filter_ids(
    context: Mapping[str, Any] | None, session_id: str | None, request_id: str | None
) -> tuple[str | None, str | None]:
    """The ids a listener filters on.

    Args:
        context: Where to take the ids from when the arguments are None.
        session_id: The session id argument.
        request_id: The request id argument.

    Returns:
        ``(session_id, request_id)``, each possibly None.
    """
    rid = request_id if request_id is not None else (context or {}).get("request_id")
    return caller_session_id(context, session_id), rid if isinstance(rid, str) else None
