"""The carrier interface and the carrier-level authentication token."""

from __future__ import annotations

import base64
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from thalovant.errors import ThalovantConnectionError

__all__ = ["Carrier", "CarrierClosed", "authorization_token", "authorized_url"]


class CarrierClosed(ThalovantConnectionError):
    """The carrier is closed. ``code`` is the WebSocket close code (or the HTTP status that
    stands in for one); ``refused`` is True for an HTTP 401/403 answer."""

    def __init__(self, message: str, *, code: int | None = None, refused: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.refused = refused


class Carrier(Protocol):
    """One open connection to a hub that moves whole frames."""

    #: ``"wss"``, ``"https"`` or ``"mqtt"``.
    name: str

    async def send(self, frame: str | bytes) -> None:
        """Send one frame: ``str`` for cleartext JSON, ``bytes`` for a Noise message."""
        ...

    async def receive(self) -> str | bytes:
        """Wait for the next frame. Raises :class:`CarrierClosed` once the carrier is closed."""
        ...

    async def aclose(self) -> None:
        """Close the carrier; idempotent and bounded in time."""
        ...


def authorization_token(user_agent: str, access_key: str) -> str:
    """``base64("<useragent>:<access_key>")``, standard alphabet with padding."""
    return base64.b64encode(f"{user_agent}:{access_key}".encode()).decode("ascii")


def authorized_url(url: str, token: str) -> str:
    """``url`` with its ``authorization`` query parameter set to ``token`` (others kept)."""
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "authorization"
    ]
    query.append(("authorization", token))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
