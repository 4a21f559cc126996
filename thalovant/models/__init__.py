"""Public data types: events, replies, display items, connection health."""

from __future__ import annotations

from thalovant.models.types import (
    DEFAULT_AUDIO_MAX_BYTES,
    ConnectionPhase,
    ThalovantConnectionInfo,
    ThalovantDisplayItem,
    ThalovantDisplayItems,
    ThalovantEvent,
    ThalovantHealth,
    ThalovantReply,
    parse_display_items,
    strip_ssml,
)

__all__ = [
    "DEFAULT_AUDIO_MAX_BYTES",
    "ConnectionPhase",
    "ThalovantConnectionInfo",
    "ThalovantDisplayItem",
    "ThalovantDisplayItems",
    "ThalovantEvent",
    "ThalovantHealth",
    "ThalovantReply",
    "parse_display_items",
    "strip_ssml",
]
