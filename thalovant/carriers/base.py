"""The carrier interface, its close signal, and the carrier-level authentication token.

:class:`CarrierClosed` is internal to the carrier and link layers (docs/architecture.md): the
link turns it into a public error (:class:`~thalovant.errors.ThalovantConnectionError` or
:class:`~thalovant.errors.ThalovantHubRefusedError`) before anything reaches a caller.
"""

from __future__ import annotations

import base64
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from thalovant.errors import ThalovantConnectionError

__all__ = [
    "SESSION_GONE_CODE",
    "Carrier",
    "CarrierClosed",
    "authorization_token",
    "authorized_url",
]

SESSION_GONE_CODE = 1005
"""Close code of "the hub ended this session without a status" (a WebSocket close without a
code; HTTPS "not connected", MQTT's hub going quiet): the link applies its refusal window
(docs/protocol.md §2.6) to tell a refusal from a drop (docs/interop.md)."""


class CarrierClosed(ThalovantConnectionError):
    """Internal: the carrier is closed (never raised to a caller of the public API).

    Args:
        message: What happened (scrubbed like every ThalovantError text).
        code: The WebSocket close code, or the code an HTTP status or an MQTT notice stands in
            for; None when the connection was simply lost.
        refused: True for an HTTP 401/403 answer.
    """

    def __init__(self, message: str, *, code: int | None = None, refused: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.refused = refused


class Carrier(Protocol):
    """One open connection to a hub that moves whole frames."""

    #: ``"wss"``, ``"https"`` or ``"mqtt"``.
    name: str
    #: True when the hub learns of a new connection only from a cleartext client HELLO sent
    #: before the handshake (MQTT, docs/protocol.md §5.2): the link sends it, and reads a
    #: cleartext hub HELLO after the session exists as the hub ending the session.
    cleartext_hello: bool

    async def send(self, frame: str | bytes) -> None:
        """Send one frame.

        Args:
            frame: ``str`` for cleartext JSON, ``bytes`` for one Noise message.

        Raises:
            CarrierClosed: The carrier is closed or the frame could not be sent.
        """
        ...

    async def receive(self) -> str | bytes:
        """Wait for the next frame; safe to cancel (nothing is lost).

        Returns:
            ``str`` for a cleartext frame, ``bytes`` for a Noise message.

        Raises:
            CarrierClosed: The carrier is closed.
        """
        ...

    async def aclose(self) -> None:
        """Close the carrier; idempotent and bounded in time."""
        ...


def authorization_token(user_agent: str, access_key: str) -> str:
    """The carrier-level token (docs/protocol.md §2.1).

    Args:
        user_agent: The client's user agent.
        access_key: The identity's access key.

    Returns:
        ``base64("<useragent>:<access_key>")``, standard alphabet with padding.
    """
    return base64.b64encode(f"{user_agent}:{access_key}".encode()).decode("ascii")


def authorized_url(url: str, token: str) -> str:
    """A URL carrying the carrier-level token (docs/protocol.md §2.1).

    Args:
        url: The endpoint URL; its other query parameters are kept.
        token: The :func:`authorization_token`.

    Returns:
        ``url`` with its ``authorization`` query parameter set to ``token``.
    """
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "authorization"
    ]
    query.append(("authorization", token))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
