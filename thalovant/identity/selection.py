"""Which protocol and URL a client uses for an identity (docs/protocol.md §1.3 to §1.5).

Pure rules over the identity's fields, typed as :class:`RoutedIdentity` so this module needs
nothing from :mod:`thalovant.identity.model`; :class:`~thalovant.identity.model.ThalovantIdentity`
exposes them as :meth:`~thalovant.identity.model.ThalovantIdentity.endpoint_base`,
:meth:`~thalovant.identity.model.ThalovantIdentity.endpoint_for` and
:meth:`~thalovant.identity.model.ThalovantIdentity.select_protocol`.
"""

from __future__ import annotations

from typing import Protocol

from thalovant.errors import ThalovantUnsupportedProtocolError
from thalovant.identity.endpoints import (
    DEFAULT_PROTOCOL_PREFERENCE,
    HubDataPlaneEndpoints,
    HubProtocolSettings,
)
from thalovant.identity.mqtt import NO_MQTT_CREDENTIALS, MqttBrokerCredentials
from thalovant.identity.parse import canonical_protocol

__all__ = ["RoutedIdentity", "endpoint_base", "endpoint_for", "select_protocol"]


class RoutedIdentity(Protocol):
    """The fields of an identity that decide where its client connects."""

    @property
    def default_master(self) -> str:
        """The hub address: a URL or a bare host."""
        ...

    @property
    def default_port(self) -> int:
        """The port used when an address has none."""
        ...

    @property
    def default_path(self) -> str:
        """Appended to the HTTPS base derived from :attr:`default_master`."""
        ...

    @property
    def data_plane_endpoints(self) -> HubDataPlaneEndpoints:
        """The hub's explicit endpoints."""
        ...

    @property
    def protocols(self) -> HubProtocolSettings:
        """The hub's protocol flags."""
        ...

    @property
    def mqtt(self) -> MqttBrokerCredentials | None:
        """The client's broker credentials, if any."""
        ...


def endpoint_base(identity: RoutedIdentity) -> str:
    """The HTTPS base URL of ``identity`` (see ``ThalovantIdentity.endpoint_base``)."""
    return identity.data_plane_endpoints.http_base(
        identity.default_master, identity.default_port, identity.default_path
    )


def _wss_url(identity: RoutedIdentity) -> str | None:
    if identity.data_plane_endpoints.wss:
        return identity.data_plane_endpoints.wss
    if identity.default_master.lower().startswith(("wss://", "ws://")):
        return identity.default_master
    return None


def endpoint_for(identity: RoutedIdentity, protocol: str) -> str | None:
    """The URL a carrier would use for ``protocol`` (see ``ThalovantIdentity.endpoint_for``)."""
    name = canonical_protocol(protocol)
    if name == "wss":
        return _wss_url(identity)
    if name == "https":
        base = endpoint_base(identity)
        return base if base.lower().startswith(("https://", "http://")) else None
    return identity.mqtt.endpoint if identity.mqtt else identity.data_plane_endpoints.mqtt


def _unusable_reason(identity: RoutedIdentity, name: str) -> str | None:
    if name == "wss" and _wss_url(identity) is None:
        return (
            "This identity has no WSS endpoint (no data_plane_endpoints.wss and "
            "default_master is not a wss:// URL)"
        )
    if name == "https" and endpoint_for(identity, "https") is None:
        return "This identity has no HTTPS endpoint (default_master has no http(s):// scheme)"
    if name == "mqtt":
        if identity.mqtt is None:
            return NO_MQTT_CREDENTIALS
        if identity.mqtt.topic_prefix is None:
            return "This identity's MQTT credentials have no topic_prefix"
    return None


def select_protocol(identity: RoutedIdentity, protocol: str | None = None) -> str:
    """The protocol ``identity``'s client should use (see ``ThalovantIdentity``).

    The rules, arguments and errors are those of
    :meth:`~thalovant.identity.model.ThalovantIdentity.select_protocol`.
    """
    if protocol is not None:
        name = canonical_protocol(protocol)
        reason = _unusable_reason(identity, name)
        if reason is not None:
            raise ThalovantUnsupportedProtocolError(f"Unsupported protocol {name}: {reason}")
        return name
    protocols = identity.protocols
    flags = {
        "wss": protocols.wss,
        "https": protocols.http or identity.data_plane_endpoints.https is not None,
        "mqtt": protocols.mqtt,
    }
    for name in DEFAULT_PROTOCOL_PREFERENCE:
        if flags[name] and _unusable_reason(identity, name) is None:
            return name
    if endpoint_base(identity).startswith("https://") and (
        _unusable_reason(identity, "https") is None
    ):
        return "https"
    enabled = ", ".join(protocols.enabled_protocols()) or "none"
    raise ThalovantUnsupportedProtocolError(
        f"No usable protocol: the hub enables {enabled}, but this identity has no endpoint "
        "or credentials for them; pass protocol= explicitly or create a fresh identity"
    )
