"""Carriers move frames between the SDK and a hub, and nothing else.

A carrier knows URLs, TLS, cookies and topics. It knows nothing of Noise or OVOS messages:
it sends a text frame (cleartext handshake JSON) or a binary frame (one Noise message), and
receives the same. Each carrier maps its library's exceptions to :class:`CarrierClosed`.

:func:`open_carrier` is the one place the link asks for a carrier, so a new carrier plugs in
here without the link knowing about it. A carrier's ``receive()`` must be safe to cancel.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from thalovant.carriers.base import Carrier, CarrierClosed, authorization_token, authorized_url
from thalovant.carriers.polling import PollSettings, ReplicaAffinity
from thalovant.errors import ThalovantUnsupportedProtocolError

if TYPE_CHECKING:
    from thalovant.identity.model import ThalovantIdentity

__all__ = [
    "AVAILABLE_CARRIERS",
    "Carrier",
    "CarrierClosed",
    "CarrierOptions",
    "PollSettings",
    "ReplicaAffinity",
    "authorization_token",
    "authorized_url",
    "check_carrier_available",
    "open_carrier",
    "pin_id_for",
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


def check_carrier_available(protocol: str) -> None:
    """Raise :class:`ThalovantUnsupportedProtocolError` when ``protocol`` has no carrier yet."""
    if protocol not in AVAILABLE_CARRIERS:
        raise ThalovantUnsupportedProtocolError(
            f"Unsupported protocol {protocol}: the {protocol} carrier is not available yet "
            f"in this SDK; use protocol='wss'"
        )


def pin_id_for(protocol: str, identity: ThalovantIdentity) -> str:
    """The Noise pin id of ``identity``'s hub over ``protocol`` (docs/protocol.md §1.7)."""
    from thalovant.identity.keystore import pin_id_for_base, pin_id_for_wss

    if protocol == "wss":
        url = identity.endpoint_for("wss")
        if url is None:
            raise ThalovantUnsupportedProtocolError("Unsupported protocol wss: no WSS endpoint")
        return pin_id_for_wss(url)
    return pin_id_for_base(identity.endpoint_base())


async def open_carrier(
    protocol: str, identity: ThalovantIdentity, *, options: CarrierOptions
) -> Carrier:
    """Open the carrier for ``protocol`` to ``identity``'s hub (bounded by
    ``options.connect_timeout``). HTTP 401/403 raises ThalovantHubRefusedError."""
    check_carrier_available(protocol)
    if protocol == "mqtt":
        from thalovant.carriers.mqtt import open_mqtt

        if identity.mqtt is None:
            raise ThalovantUnsupportedProtocolError("Unsupported protocol mqtt: no credentials")
        return await open_mqtt(
            identity.mqtt, site_id=identity.site_id, ssl_context=options.ssl_context
        )
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
