"""The allow-list of bus message types a client may send: its default and its validation.

Stored with each client record (:mod:`thalovant.hub.state.registry`) and applied by the
responder's policy (:mod:`thalovant.hub.responder.policy`, docs/protocol.md §3.3).
"""

from __future__ import annotations

from collections.abc import Iterable

from thalovant.events import (
    EVENT_HOME_RESPONSE,
    EVENT_INTENT_DESCRIBE,
    EVENT_INTENT_LIST,
    EVENT_RECOGNIZER_LOOP_UTTERANCE,
    EVENT_SKILLS_LIST,
)

__all__ = ["DEFAULT_ALLOWED_TYPES", "normalize_allowed_types"]

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


def normalize_allowed_types(types: Iterable[str]) -> tuple[str, ...]:
    """Validate an allow-list: non-empty strings, duplicates dropped, order kept.

    Args:
        types: The message types, a collection of strings (not one string).

    Returns:
        The types in their first order, each once.

    Raises:
        TypeError: ``types`` is a single string.
        ValueError: An item is not a non-empty string.
    """
    if isinstance(types, str):
        raise TypeError("allowed_types must be a collection of strings, not one string")
    out: list[str] = []
    for item in types:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"allowed message types must be non-empty strings, got {item!r}")
        if item not in out:
            out.append(item)
    return tuple(out)
