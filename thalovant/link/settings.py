"""What a link needs to dial one hub, and the pin id its hub key is pinned under."""

from __future__ import annotations

from dataclasses import dataclass

from thalovant.carriers import CarrierOptions
from thalovant.errors import ThalovantUnsupportedProtocolError
from thalovant.identity.keystore import NoiseKeyStore, pin_id_for_base, pin_id_for_wss
from thalovant.identity.model import ThalovantIdentity
from thalovant.protocol.psk import PskDeriver

__all__ = ["LinkSettings", "pin_id_for"]


@dataclass(frozen=True)
class LinkSettings:
    """Everything :func:`~thalovant.link.dialer.dial` needs; built once per client (off the
    event loop, since it touches the key folder's paths)."""

    identity: ThalovantIdentity
    protocol: str
    carrier: CarrierOptions
    handshake_timeout: float
    send_timeout: float
    key_store: NoiseKeyStore
    pin_id: str
    psk_deriver: PskDeriver
    legacy_store: NoiseKeyStore | None = None
    """Where to copy a key and pins from on first use of a per-identity folder."""


def pin_id_for(protocol: str, identity: ThalovantIdentity) -> str:
    """The id the hub's Noise key is pinned under for ``protocol`` (docs/protocol.md §1.7).

    Args:
        protocol: ``"wss"``, ``"https"`` or ``"mqtt"``.
        identity: Whose hub.

    Returns:
        The WSS URL's pin id for ``wss``, else the pin id of the identity's endpoint base.

    Raises:
        ThalovantUnsupportedProtocolError: ``wss`` without a WSS endpoint.
    """
    if protocol == "wss":
        url = identity.endpoint_for("wss")
        if url is None:
            raise ThalovantUnsupportedProtocolError("Unsupported protocol wss: no WSS endpoint")
        return pin_id_for_wss(url)
    return pin_id_for_base(identity.endpoint_base())
