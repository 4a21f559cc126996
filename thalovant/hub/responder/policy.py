"""Which bus message types a client may send, and the ``hive.policy.denied`` answer.

A HiveMind hub keeps an allow-list of OVOS message types per client; an admin client may
send anything. A ``bus`` message of another type is not forwarded: the hub answers with
``hive.policy.denied`` naming the type. Mesh kinds that need a grant (``broadcast``) are not
answered at all; the hub closes the connection, as HiveMind-core does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from thalovant.events import (
    EVENT_HOME_RESPONSE,
    EVENT_INTENT_DESCRIBE,
    EVENT_INTENT_LIST,
    EVENT_RECOGNIZER_LOOP_UTTERANCE,
    EVENT_SKILLS_LIST,
)

__all__ = [
    "ADMIN_ONLY_KINDS",
    "DEFAULT_ALLOWED_TYPES",
    "DENIED_CODE",
    "denial_data",
    "is_type_allowed",
    "normalize_allowed_types",
]

DEFAULT_ALLOWED_TYPES: tuple[str, ...] = (
    EVENT_RECOGNIZER_LOOP_UTTERANCE,
    EVENT_INTENT_LIST,
    EVENT_INTENT_DESCRIBE,
    EVENT_SKILLS_LIST,
    "intent.service.adapt.manifest.get",
    "intent.service.padatious.manifest.get",
    EVENT_HOME_RESPONSE,
)
"""Bus types a new client may send unless registered otherwise: utterances, the intent and
skill inventory queries, and home-link answers."""

ADMIN_ONLY_KINDS: frozenset[str] = frozenset({"broadcast"})
"""HiveMind message kinds a non-admin client may not send; the hub closes the connection."""

DENIED_CODE = "acl_disallowed_type"
"""``data.code`` of a denial for a message type outside the client's allow-list."""


def normalize_allowed_types(types: Iterable[str]) -> tuple[str, ...]:
    """Validate an allow-list: non-empty strings, duplicates dropped, order kept."""
    if isinstance(types, str):
        raise TypeError("allowed_types must be a collection of strings, not one string")
    out: list[str] = []
    for item in types:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"allowed message types must be non-empty strings, got {item!r}")
        if item not in out:
            out.append(item)
    return tuple(out)


def is_type_allowed(msg_type: str, *, allowed_types: Iterable[str], admin: bool) -> bool:
    """True when a client with this allow-list (or admin grant) may send ``msg_type``."""
    return admin or msg_type in allowed_types


def denial_data(msg_type: str, allowed_types: Iterable[str]) -> dict[str, Any]:
    """``data`` of the ``hive.policy.denied`` answer for a message of type ``msg_type``."""
    return {
        "denied_type": msg_type,
        "code": DENIED_CODE,
        "reason": f"message type {msg_type!r} is not allowed for this client",
        "data": {"allowed": list(allowed_types)},
    }
