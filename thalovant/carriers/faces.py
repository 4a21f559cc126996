"""The public transport classes: thin faces over our carriers.

``AsyncThalovantClient(identity, transport=AsyncHiveMindWSSTransport())`` makes the client use
that carrier (and the face's own TLS context or aiohttp session, when given). A caller's own
transport is any object with a ``protocol`` name and an ``async open(identity, options)``
returning a :class:`~thalovant.carriers.base.Carrier`; the link still does the handshake,
the encryption and the redials over it.
"""

from __future__ import annotations

import dataclasses
import ssl
from typing import TYPE_CHECKING, Any, ClassVar

from thalovant.carriers.base import Carrier
from thalovant.carriers.opener import CarrierOptions, open_carrier

if TYPE_CHECKING:
    from thalovant.identity.model import ThalovantIdentity

__all__ = [
    "AsyncHiveMindHTTPTransport",
    "AsyncHiveMindMQTTTransport",
    "AsyncHiveMindTransport",
    "AsyncHiveMindWSSTransport",
]


class AsyncHiveMindTransport:
    """A carrier face: which carrier a client opens, with optional options of its own.

    Args:
        ssl_context: TLS context for this carrier (default: the client's).
        session: An ``aiohttp.ClientSession`` for the HTTPS carrier (never closed here).
    """

    protocol: ClassVar[str] = "wss"

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, session: Any = None) -> None:
        self.ssl_context = ssl_context
        self.session = session

    def __repr__(self) -> str:
        return f"<{type(self).__name__} protocol={self.protocol}>"

    async def open(self, identity: ThalovantIdentity, options: CarrierOptions) -> Carrier:
        """Open this carrier to ``identity``'s hub (the link bounds the time).

        Args:
            identity: Whose hub, endpoints and credentials.
            options: The client's carrier options (this face's own ones win).

        Returns:
            The open carrier.
        """
        merged = dataclasses.replace(
            options,
            ssl_context=self.ssl_context or options.ssl_context,
            http_session=self.session or options.http_session,
            transport=None,
        )
        return await open_carrier(self.protocol, identity, options=merged)


class AsyncHiveMindWSSTransport(AsyncHiveMindTransport):
    """The WebSocket carrier."""

    protocol = "wss"


class AsyncHiveMindHTTPTransport(AsyncHiveMindTransport):
    """The HTTPS polling carrier."""

    protocol = "https"


class AsyncHiveMindMQTTTransport(AsyncHiveMindTransport):
    """The MQTT carrier."""

    protocol = "mqtt"
