"""The asyncio client: ``AsyncThalovantClient``, conversations and the context helpers.

See docs/architecture.md (the client layer over the bus and the link) and docs/protocol.md
§3-§6 (what each method puts on the wire).
"""

from __future__ import annotations

from thalovant.client.asking import CARRY_GRACE_SECONDS
from thalovant.client.client import AsyncThalovantClient
from thalovant.client.context import (
    build_client_context,
    build_location,
    copy_mapping,
    ensure_no_secrets,
    request_context,
)
from thalovant.client.conversation import AsyncThalovantConversation
from thalovant.client.options import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    MAX_BINARY_BYTES,
)
from thalovant.client.streaming import STREAM_MAX_BUFFERED, AsyncThalovantReplyStream

__all__ = [
    "CARRY_GRACE_SECONDS",
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_CONNECT_TIMEOUT",
    "MAX_BINARY_BYTES",
    "STREAM_MAX_BUFFERED",
    "AsyncThalovantClient",
    "AsyncThalovantConversation",
    "AsyncThalovantReplyStream",
    "build_client_context",
    "build_location",
    "copy_mapping",
    "ensure_no_secrets",
    "request_context",
]
