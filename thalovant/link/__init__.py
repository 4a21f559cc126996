"""One authenticated connection to a hub, and the supervisor that redials it."""

from __future__ import annotations

from thalovant.link.link import (
    CONNECTION_SESSION_PREFIX,
    REFUSAL_CLOSE_CODES,
    REFUSAL_SETTLE_SECONDS,
    ConnectionTelemetry,
    Dispatch,
    Link,
    LinkDown,
    LinkSettings,
    dial,
)

__all__ = [
    "CONNECTION_SESSION_PREFIX",
    "REFUSAL_CLOSE_CODES",
    "REFUSAL_SETTLE_SECONDS",
    "ConnectionTelemetry",
    "Dispatch",
    "Link",
    "LinkDown",
    "LinkSettings",
    "dial",
]
