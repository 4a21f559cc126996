"""The conversation carry (docs/protocol.md §6): session fields a hub reports in
``ovos.utterance.handled``, remembered per session id and copied into the next turn.

Hubs keep nothing for a named session, so the client carries it: the collectors
(:mod:`thalovant.client.collector`) extract the fields with :func:`carry_fields`, the asker
records them in a :class:`ConversationCarry`, and the request builders apply them
(:mod:`thalovant.client.outgoing`). Sans-I/O: nothing here awaits or reads a clock.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from thalovant.models.types import ThalovantEvent

__all__ = [
    "CONVERSATION_SESSION_FIELDS",
    "MAX_CONVERSATION_ALIASES",
    "MAX_REMEMBERED_CONVERSATIONS",
    "ConversationCarry",
    "carry_fields",
    "copy_json",
    "is_empty",
]

#: Session fields carried from ``ovos.utterance.handled`` into the next turn (docs/protocol.md §6).
CONVERSATION_SESSION_FIELDS = (
    "converse_handlers",
    "active_handlers",
    "active_skills",
    "context",
    "utterance_states",
    "response_mode",
)
MAX_REMEMBERED_CONVERSATIONS = 32
MAX_CONVERSATION_ALIASES = 8


def is_empty(value: object) -> bool:
    """True for None and for an empty string, list, tuple or dict (a field not worth carrying).

    Args:
        value: The value.

    Returns:
        Whether it is empty.
    """
    return value is None or (isinstance(value, (str, list, tuple, dict)) and not value)


def copy_json(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars), several times cheaper than
    :func:`copy.deepcopy`; anything else falls back to it.

    Args:
        value: Decoded JSON, or a value a caller put beside it.

    Returns:
        A copy sharing no mutable container with ``value``.
    """
    kind = type(value)
    if kind is dict:
        return {k: copy_json(v) for k, v in value.items()}
    if kind is list:
        return [copy_json(v) for v in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    return copy.deepcopy(value)


def carry_fields(event: ThalovantEvent) -> dict[str, Any]:
    """The conversation fields of a handled event.

    Args:
        event: An ``ovos.utterance.handled`` event.

    Returns:
        The non-empty :data:`CONVERSATION_SESSION_FIELDS` of its ``context.session``, copied.
    """
    session = event.context.get("session")
    if not isinstance(session, Mapping):
        return {}
    return {
        key: copy_json(session[key])
        for key in CONVERSATION_SESSION_FIELDS
        if not is_empty(session.get(key))
    }


class ConversationCarry:
    """Client-side conversation state per session (docs/protocol.md §6): an LRU of at most
    ``max_conversations`` conversations, each known under at most ``max_aliases`` ids (the
    session id the request used, the one the hub answered with, the one returned).

    Args:
        max_conversations: Conversations remembered (least recently used dropped first).
        max_aliases: Ids each conversation is known under (oldest dropped first).
    """

    def __init__(
        self,
        *,
        max_conversations: int = MAX_REMEMBERED_CONVERSATIONS,
        max_aliases: int = MAX_CONVERSATION_ALIASES,
    ) -> None:
        self.max_conversations = max_conversations
        self.max_aliases = max_aliases
        self._serial = 0
        # conversation key -> (aliases, fields); OrderedDict order is LRU -> MRU
        self._conversations: OrderedDict[int, tuple[list[str], dict[str, Any]]] = OrderedDict()
        self._index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._conversations)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._index

    def get(self, session_id: str) -> dict[str, Any] | None:
        """The fields carried for ``session_id`` (does not touch the LRU order).

        Args:
            session_id: Any id of the conversation.

        Returns:
            A copy of the fields, or None when nothing is carried.
        """
        key = self._index.get(session_id)
        return None if key is None else copy_json(self._conversations[key][1])

    def forget(self, session_id: str) -> None:
        """Drop the conversation ``session_id`` belongs to.

        Args:
            session_id: Any id of the conversation.
        """
        key = self._index.get(session_id)
        if key is not None:
            self._drop(key)

    def clear(self) -> None:
        """Forget everything."""
        self._conversations.clear()
        self._index.clear()

    def _drop(self, key: int) -> None:
        aliases, _ = self._conversations.pop(key)
        for alias in aliases:
            if self._index.get(alias) == key:
                del self._index[alias]

    def record(self, session_ids: Iterable[str | None], fields: Mapping[str, Any]) -> None:
        """Remember ``fields`` under every id in ``session_ids`` (merging the conversations
        they named); empty fields erase the conversation.

        Args:
            session_ids: The ids (blanks and None skipped).
            fields: The carried fields (copied; empty values dropped).
        """
        ids = list(dict.fromkeys(s for s in session_ids if isinstance(s, str) and s))
        if not ids:
            return
        keys = list(dict.fromkeys(self._index[s] for s in ids if s in self._index))
        carried = {k: copy_json(v) for k, v in fields.items() if not is_empty(v)}
        if not carried:
            for key in keys:
                self._drop(key)
            return
        if keys:
            key, merged = keys[0], keys[1:]
            aliases = self._conversations[key][0]
            for other in merged:  # ids that named separate conversations now name one
                aliases.extend(self._conversations[other][0])
                self._drop(other)
        else:
            self._serial += 1
            key, aliases = self._serial, []
        aliases = [a for a in aliases if a not in ids] + ids
        for alias in aliases[: -self.max_aliases]:
            if self._index.get(alias) == key:
                del self._index[alias]
        aliases = aliases[-self.max_aliases :]
        for alias in aliases:
            self._index[alias] = key
        self._conversations[key] = (aliases, carried)
        self._conversations.move_to_end(key)
        while len(self._conversations) > self.max_conversations:
            self._drop(next(iter(self._conversations)))

    def apply(self, session_id: str | None, session_ctx: dict[str, Any]) -> None:
        """Copy carried fields the caller did not set (absent or None) into ``session_ctx``.

        Args:
            session_id: The session id of the outgoing turn.
            session_ctx: The turn's ``context.session`` (updated in place).
        """
        key = self._index.get(session_id) if session_id else None
        if key is None:
            return
        self._conversations.move_to_end(key)
        for field, value in self._conversations[key][1].items():
            if session_ctx.get(field) is None:
                session_ctx[field] = copy_json(value)
