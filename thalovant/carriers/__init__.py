"""Carriers move frames between the SDK and a hub, and nothing else (docs/architecture.md).

A carrier knows URLs, TLS, cookies and topics. It knows nothing of Noise or OVOS messages:
it sends a text frame (cleartext handshake JSON) or a binary frame (one Noise message), and
receives the same. Each carrier maps its library's exceptions to its internal close signal
(:class:`~thalovant.carriers.base.CarrierClosed`, not exported here), which the link turns into
public errors. A carrier's ``receive()`` must be safe to cancel.

:func:`open_carrier` is the one place the link asks for a carrier.
"""

from __future__ import annotations

from thalovant.carriers.base import Carrier, authorization_token, authorized_url
from thalovant.carriers.opener import (
    AVAILABLE_CARRIERS,
    CarrierFactory,
    CarrierOptions,
    check_carrier_available,
    open_carrier,
)
from thalovant.carriers.polling import PollSettings, ReplicaAffinity

__all__ = [
    "AVAILABLE_CARRIERS",
    "Carrier",
    "CarrierFactory",
    "CarrierOptions",
    "PollSettings",
    "ReplicaAffinity",
    "authorization_token",
    "authorized_url",
    "check_carrier_available",
    "open_carrier",
]
