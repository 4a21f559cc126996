"""The event bus: subscribers, bounded queues and inbound routing."""

from __future__ import annotations

from thalovant.bus.bus import (
    UNTRACKED_UTTERANCE_GRACE_SECONDS,
    CollectorSink,
    EventBus,
    EventStream,
    Handler,
    Overflow,
    Predicate,
    RequestRegistration,
    RequestSink,
    Subscription,
)

__all__ = [
    "UNTRACKED_UTTERANCE_GRACE_SECONDS",
    "CollectorSink",
    "EventBus",
    "EventStream",
    "Handler",
    "Overflow",
    "Predicate",
    "RequestRegistration",
    "RequestSink",
    "Subscription",
]
