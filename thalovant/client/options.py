"""The connection options of an ``AsyncThalovantClient`` and the client's default deadlines.

The defaults follow docs/protocol.md §11 (``connect()`` budget 25 s; ``close()`` 5 s, then
abort); the per-attempt timeouts live in :class:`ClientOptions`.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from typing import Any

from thalovant.carriers.opener import CarrierFactory
from thalovant.errors import ThalovantRuntimeError
from thalovant.protocol.framing import MAX_MESSAGE_BYTES

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_CONNECT_TIMEOUT",
    "MAX_BINARY_BYTES",
    "ClientOptions",
]

#: ``connect()``'s single deadline when none is given (prior attempt + open + handshake).
DEFAULT_CONNECT_TIMEOUT = 25.0
#: ``close()``'s deadline when none is given; then the connection is aborted.
DEFAULT_CLOSE_TIMEOUT = 5.0
#: Largest ``send_binary`` payload (the hub's reassembly cap, less room for the header).
MAX_BINARY_BYTES = MAX_MESSAGE_BYTES - 64 * 1024


@dataclass(frozen=True)
class ClientOptions:
    """The connection options of a client (see ``AsyncThalovantClient``).

    Raises:
        ThalovantRuntimeError: a timeout is not positive, or ``reconnect_attempts`` is
            negative.
    """

    protocol: str
    useragent: str
    connect_timeout: float
    handshake_timeout: float
    send_timeout: float
    auto_reconnect: bool
    reconnect_attempts: int
    noise_state_dir: str | os.PathLike[str] | None
    self_signed: bool
    ssl_context: ssl.SSLContext | None
    transport: CarrierFactory | None = None
    session: Any = None

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "handshake_timeout", "send_timeout"):
            if not getattr(self, name) > 0:
                raise ThalovantRuntimeError(f"{name} must be positive")
        if self.reconnect_attempts < 0:
            raise ThalovantRuntimeError("reconnect_attempts must not be negative")
