"""The blocking facade: one event loop in a background thread per client."""

from __future__ import annotations

from thalovant.sync.client import (
    SyncIterator,
    SyncSubscription,
    ThalovantClient,
    ThalovantConversation,
)
from thalovant.sync.control import (
    ThalovantControlPlane,
)

__all__ = [
    "SyncIterator",
    "SyncSubscription",
    "ThalovantClient",
    "ThalovantConversation",
    "ThalovantControlPlane",
]
