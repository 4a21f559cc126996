"""The asyncio client: ``AsyncThalovantClient``, conversations, asking, listening."""

from __future__ import annotations

from thalovant.client.client import (
    CARRY_GRACE_SECONDS,
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    MAX_BINARY_BYTES,
    AsyncThalovantClient,
    Backoff,
    ThalovantBinary,
    ThalovantConnectTimeoutError,
)
from thalovant.client.context import (
    build_client_context,
    build_location,
    copy_mapping,
    ensure_no_secrets,
    request_context,
)
from thalovant.client.conversation import (
    AsyncThalovantConversation,
)

__all__ = [
    "CARRY_GRACE_SECONDS",
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_CONNECT_TIMEOUT",
    "MAX_BINARY_BYTES",
    "AsyncThalovantClient",
    "Backoff",
    "ThalovantBinary",
    "ThalovantConnectTimeoutError",
    "AsyncThalovantConversation",
    "build_client_context",
    "build_location",
    "copy_mapping",
    "ensure_no_secrets",
    "request_context",
]
