"""The event bus: request routing, subscribers with bounded queues, and inbound routing.

:class:`EventBus` (:mod:`~thalovant.bus.bus`) routes events to request sinks
(:mod:`~thalovant.bus.requests`) and subscribers (:mod:`~thalovant.bus.subscribers`);
:class:`InboundDispatcher` (:mod:`~thalovant.bus.routing`) is what the link's reader calls for
every decrypted message. The bus knows the client's reply collectors only by the
:class:`ReplyCollector` protocol.
"""

from __future__ import annotations

from thalovant.bus.bus import UNTRACKED_UTTERANCE_GRACE_SECONDS, EventBus, RequestRegistration
from thalovant.bus.requests import CollectorSink, ReplyCollector, RequestSink
from thalovant.bus.routing import CallbackSubscription, InboundDispatcher, ThalovantBinary
from thalovant.bus.subscribers import EventStream, Handler, Overflow, Predicate, Subscription

__all__ = [
    "UNTRACKED_UTTERANCE_GRACE_SECONDS",
    "CallbackSubscription",
    "CollectorSink",
    "EventBus",
    "EventStream",
    "Handler",
    "InboundDispatcher",
    "Overflow",
    "Predicate",
    "ReplyCollector",
    "RequestRegistration",
    "RequestSink",
    "Subscription",
    "ThalovantBinary",
]
