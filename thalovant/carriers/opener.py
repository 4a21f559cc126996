"""Opening the carrier a protocol names: the one place the link asks for a carrier.

A new carrier plugs in here without the link knowing about it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any, Protocol

from thalovant.carriers.base import Carrier
from thalovant.carriers.polling import PollSettings, ReplicaAffinity
from thalovant.errors import ThalovantUnsupportedProtocolError
from thalovant.identity.model import ThalovantIdentity

__all__ = [
    "AVAILABLE_CARRIERS",
    "CarrierFactory",
    "CarrierOptions",
    "check_carrier_available",
    "open_carrier",
]

#: Protocols with a carrier in this release.
AVAILABLE_CARRIERS: frozenset[str] = frozenset({"wss", "https", "mqtt"})


@dataclass(frozen=True)
class CarrierOptions:
    """What every carrier needs besides the identity."""

    user_agent: str
    connect_timeout: float
    ssl_context: ssl.SSLContext | None
    https_poll: PollSettings = field(default_factory=PollSettings)
    """How the HTTPS carrier polls (back-off bounds, request timeout)."""
    replica: ReplicaAffinity = field(default_factory=ReplicaAffinity)
    """The HTTPS replica cookie, kept across the reconnects of one client."""
    http_session: Any = None
    """A caller's ``aiohttp.ClientSession`` for the HTTPS carrier (never closed here)."""
    transport: CarrierFactory | None = None
    """A caller's transport (``transport=``): it opens the carrier instead."""


class CarrierFactory(Protocol):
    """A transport a caller gives a client: a protocol name and a way to open a carrier."""

    @property
    def protocol(self) -> str:
        """``"wss"``, ``"https"`` or ``"mqtt"``."""
        ...

    async def open(self, identity: ThalovantIdentity, options: CarrierOptions) -> Carrier:
        """Open the carrier."""
        ...


def check_carrier_available(protocol: str) -> None:
    """Check that this release has a carrier for ``protocol``.

    Args:
        protocol: The protocol a client was asked to use.

    Raises:
        ThalovantUnsupportedProtocolError: ``protocol`` has no carrier yet.
    """
    if protocol not in AVAILABLE_CARRIERS:
        raise ThalovantUnsupportedProtocolError(
            f"Unsupported protocol {protocol}: the {protocol} carrier is not available yet "
            f"in this SDK; use protocol='wss'"
        )


async def open_carrier(
    protocol: str, identity: ThalovantIdentity, *, options: CarrierOptions
) -> Carrier:
    """Open the carrier for ``protocol`` to ``identity``'s hub.

    The caller bounds the time (the link allows ``options.connect_timeout``).

    Args:
        protocol: ``"wss"``, ``"https"`` or ``"mqtt"``.
        identity: Whose hub, endpoints and credentials.
        options: User agent, timeouts, TLS and HTTPS polling settings.

    Returns:
        The open carrier.

    Raises:
        ThalovantUnsupportedProtocolError: No carrier, endpoint or credentials for ``protocol``.
        ThalovantHubRefusedError: The hub or broker refused the credentials (HTTP 401/403,
            CONNACK 4/5).
        ThalovantConnectionError: The hub or broker could not be reached.
    """
    if options.transport is not None:
        return await options.transport.open(identity, options)
    check_carrier_available(protocol)
    if protocol == "mqtt":
        from thalovant.carriers.mqtt import open_mqtt

        if identity.mqtt is None:
            raise ThalovantUnsupportedProtocolError("Unsupported protocol mqtt: no credentials")
        return await open_mqtt(identity.mqtt, ssl_context=options.ssl_context)
    if protocol == "https":
        from thalovant.carriers.https import open_https

        base = identity.endpoint_for("https")
        if base is None:
            raise ThalovantUnsupportedProtocolError(
                "Unsupported protocol https: no http(s):// base URL"
            )
        return await open_https(
            base,
            access_key=identity.access_key,
            user_agent=options.user_agent,
            ssl_context=options.ssl_context,
            settings=options.https_poll,
            affinity=options.replica,
            session=options.http_session,
        )
    from thalovant.carriers.wss import open_wss

    url = identity.endpoint_for("wss")
    if url is None:
        raise ThalovantUnsupportedProtocolError("Unsupported protocol wss: no WSS endpoint")
    return await open_wss(
        url,
        access_key=identity.access_key,
        user_agent=options.user_agent,
        ssl_context=options.ssl_context,
        open_timeout=options.connect_timeout,
    )
