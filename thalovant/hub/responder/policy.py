"""Which bus message types a client may send, and the ``hive.policy.denied`` answer.

A HiveMind hub keeps an allow-list of OVOS message types per client; an admin client may
send anything. A ``bus`` message of another type is not forwarded: the hub answers with
``hive.policy.denied`` naming the type. Mesh kinds that need a grant (``broadcast``) are not
answered at all; the hub closes the connection, as HiveMind-core does.

The allow-list itself (its default and its validation) is part of the client record,
:mod:`thalovant.hub.state.allowed_types`; it is re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from thalovant.hub.state.allowed_types import DEFAULT_ALLOWED_TYPES, normalize_allowed_types

__all__ = [
    "ADMIN_ONLY_KINDS",
    "DEFAULT_ALLOWED_TYPES",
    "DENIED_CODE",
    "denial_data",
    "is_type_allowed",
    "normalize_allowed_types",
]

ADMIN_ONLY_KINDS: frozenset[str] = frozenset({"broadcast"})
"""HiveMind message kinds a non-admin client may not send; the hub closes the connection."""

DENIED_CODE = "acl_disallowed_type"
"""``data.code`` of a denial for a message type outside the client's allow-list."""


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
