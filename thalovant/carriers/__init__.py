"""Carriers move frames between the SDK and a hub, and nothing else.

A carrier knows URLs, TLS, cookies and topics. It knows nothing of Noise or OVOS messages:
it sends a text frame (cleartext handshake JSON) or a binary frame (one Noise message), and
receives the same. Each carrier maps its library's exceptions to :class:`CarrierClosed`.
"""

from .base import Carrier, CarrierClosed, authorization_token, authorized_url

__all__ = ["Carrier", "CarrierClosed", "authorization_token", "authorized_url"]
