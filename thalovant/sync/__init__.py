"""The blocking facade: one event loop in a background thread per client.

``ThalovantClient``, ``ThalovantConversation`` and ``ThalovantControlPlane`` mirror their
async twins one-to-one and add no logic of their own (docs/architecture.md, the blocking
facade).
"""

from __future__ import annotations

from thalovant.sync.bridges import SyncIterator, SyncSubscription, ThalovantReplyStream
from thalovant.sync.client import ThalovantClient
from thalovant.sync.control import ThalovantControlPlane
from thalovant.sync.conversation import ThalovantConversation

__all__ = [
    "SyncIterator",
    "SyncSubscription",
    "ThalovantClient",
    "ThalovantControlPlane",
    "ThalovantConversation",
    "ThalovantReplyStream",
]
