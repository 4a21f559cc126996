"""A hub's data plane: its endpoint URLs, its protocol flags, and choosing between them.

The value types of docs/protocol.md §1.3 (explicit endpoints) and §1.4 (protocol flags), and
:func:`select_data_plane_endpoint`, which picks the first enabled protocol with an endpoint.
How a whole identity picks its protocol is in :mod:`thalovant.identity.selection`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

import msgspec

from thalovant.identity.display import fields_repr
from thalovant.identity.parse import (
    ENDPOINT_MAPS,
    canonical_protocol,
    parse_endpoint_map,
    parse_protocol_flags,
    protocol_source,
    require_mapping,
    safe_url,
    with_port,
)

__all__ = [
    "DEFAULT_PROTOCOL_PREFERENCE",
    "HubDataPlaneEndpoints",
    "HubProtocol",
    "HubProtocolSettings",
    "SelectedHubEndpoint",
    "hub_hostname",
    "http_base_url",
    "select_data_plane_endpoint",
]

HubProtocol = Literal["wss", "https", "mqtt"]
"""A data-plane protocol name (``http`` is accepted as ``https`` wherever one is read)."""

#: Order in which protocols are tried when none is requested.
DEFAULT_PROTOCOL_PREFERENCE: tuple[str, ...] = ("wss", "https", "mqtt")


class HubDataPlaneEndpoints(msgspec.Struct, frozen=True):
    """Explicit data-plane URLs of a hub (docs/protocol.md §1.3).

    Attributes:
        wss: The WebSocket endpoint (``wss://`` or ``ws://``), or ``None``.
        https: The HTTPS polling endpoint (``https://`` or ``http://``), or ``None``.
        mqtt: The MQTT broker (``mqtts://`` or ``mqtt://``), or ``None``.
    """

    https: str | None = None
    wss: str | None = None
    mqtt: str | None = None

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any] | None, *, label: str = "data_plane_endpoints"
    ) -> HubDataPlaneEndpoints:
        """Parse an endpoint map: ``https``/``http``, ``wss``/``ws``, ``mqtt``/``mqtts``.

        Values without a scheme get the key's secure scheme; values with another scheme or
        without a host are discarded; trailing ``/`` is removed.

        Args:
            values: The endpoint map, as found in an identity or a hub resource (None: none).
            label: The field name used in error messages.

        Returns:
            The parsed endpoints.

        Raises:
            ThalovantIdentityError: ``values`` is not a mapping, or an entry is malformed.
        """
        if values is None:
            return cls()
        return cls(**parse_endpoint_map(require_mapping(values, label), label=label))

    @classmethod
    def from_hub(cls, hub: Mapping[str, Any]) -> HubDataPlaneEndpoints:
        """The endpoints of a control-plane hub resource: its ``data_plane_endpoints``
        (or ``dataPlaneEndpoints`` / ``endpoints``), at the top or under ``spec``.

        Args:
            hub: The hub resource.

        Returns:
            The parsed endpoints (empty when the hub lists none).

        Raises:
            ThalovantIdentityError: ``hub`` is not a mapping, or an entry is malformed.
        """
        hub = require_mapping(hub, "hub")
        spec = hub.get("spec")
        for source in (hub, spec if isinstance(spec, Mapping) else {}):
            for key in ENDPOINT_MAPS:
                if isinstance(source.get(key), Mapping):
                    return cls.from_mapping(source[key], label=key)
        return cls()

    @property
    def is_empty(self) -> bool:
        """True when no endpoint is known."""
        return not (self.wss or self.https or self.mqtt)

    def get(self, protocol: str) -> str | None:
        """The endpoint for one protocol.

        Args:
            protocol: Any alias accepted by :func:`~thalovant.identity.parse.canonical_protocol`.

        Returns:
            The URL, or ``None`` when the hub gave none.

        Raises:
            ThalovantUnsupportedProtocolError: ``protocol`` is not a known name.
        """
        value: str | None = getattr(self, canonical_protocol(protocol))
        return value

    def endpoint_for(self, protocol: str) -> str | None:
        """The endpoint for one protocol (the official name of :meth:`get`).

        Args:
            protocol: ``wss``, ``https`` (or ``http``), ``mqtt`` or another known alias.

        Returns:
            The URL, or ``None`` when the hub gave none.

        Raises:
            ThalovantUnsupportedProtocolError: ``protocol`` is not a known name.
        """
        return self.get(protocol)

    def http_base(self, fallback_master: str, fallback_port: int, fallback_path: str) -> str:
        """The HTTPS base URL: the ``https`` endpoint, else ``fallback_master`` (``wss`` read
        as ``https``) with ``fallback_path``; ``fallback_port`` where the URL has no port.

        Args:
            fallback_master: The identity's ``default_master``.
            fallback_port: The identity's ``default_port``.
            fallback_path: The identity's ``default_path``.

        Returns:
            The base URL.
        """
        return http_base_url(self.https, fallback_master, fallback_port, fallback_path)

    def as_dict(
        self, include_secrets: bool = False, *, redact_credentials: bool | None = None
    ) -> dict[str, str]:
        """The known endpoints as ``{"wss": url, ...}``.

        Args:
            include_secrets: Keep URL userinfo and queries (redacted by default).
            redact_credentials: The official switch, when given: True redacts, False keeps.

        Returns:
            One entry per known endpoint.
        """
        if redact_credentials is not None:
            include_secrets = not redact_credentials
        return {
            name: value if include_secrets else safe_url(value)
            for name in ("wss", "https", "mqtt")
            if (value := getattr(self, name))
        }

    def __repr__(self) -> str:
        return f"HubDataPlaneEndpoints({fields_repr(self)})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [(name, self.as_dict().get(name)) for name in ("wss", "https", "mqtt")]


class HubProtocolSettings(msgspec.Struct, frozen=True):
    """Which data-plane protocols the hub has enabled (docs/protocol.md §1.4).

    The flag is called ``http`` (as on the wire) while the protocol and endpoint are ``https``.
    """

    wss: bool = True
    http: bool = False
    mqtt: bool = False

    @property
    def https(self) -> bool:
        """The ``http`` flag under the protocol's name."""
        return self.http

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any] | None, *, label: str = "protocols"
    ) -> HubProtocolSettings:
        """Parse ``{"wss"|"websocket": f, "http"|"https": f, "mqtt": f}``.

        Each ``f`` is a bool, a yes/no style string or ``{"enabled": ...}``; missing flags take
        the defaults ``wss=True, http=False, mqtt=False``.

        Args:
            values: The flags, or ``None`` for the defaults.
            label: The field name used in error messages.

        Returns:
            The parsed flags.

        Raises:
            ThalovantIdentityError: A flag is not a recognisable boolean.
        """
        return cls(**parse_protocol_flags(values, label))

    @classmethod
    def from_identity_mapping(cls, mapping: Mapping[str, Any]) -> HubProtocolSettings:
        """Flags from ``spec.protocols`` if ``spec`` exists, else ``protocols`` or ``network``.

        Args:
            mapping: An identity or hub mapping.

        Returns:
            The parsed flags.

        Raises:
            ThalovantIdentityError: The flags are malformed.
        """
        flags, label = protocol_source(mapping)
        return cls.from_mapping(flags, label=label)

    def is_enabled(self, protocol: str) -> bool:
        """Whether the flag for ``protocol`` is on (``https`` reads the ``http`` flag).

        Raises:
            ThalovantUnsupportedProtocolError: ``protocol`` is not a known name.
        """
        name = canonical_protocol(protocol)
        return {"wss": self.wss, "https": self.http, "mqtt": self.mqtt}[name]

    def enabled_protocols(self) -> tuple[str, ...]:
        """Enabled protocols in preference order, using ``"https"`` for the ``http`` flag."""
        return tuple(p for p in DEFAULT_PROTOCOL_PREFERENCE if self.is_enabled(p))

    def as_dict(self) -> dict[str, dict[str, bool]]:
        """The serialised form ``{"wss": {"enabled": b}, "http": {...}, "mqtt": {...}}``."""
        return {
            "wss": {"enabled": self.wss},
            "http": {"enabled": self.http},
            "mqtt": {"enabled": self.mqtt},
        }


class SelectedHubEndpoint(NamedTuple):
    """The protocol and endpoint chosen for a hub (a tuple: ``protocol, url = chosen``)."""

    protocol: str
    endpoint: str


def http_base_url(explicit: str | None, master: str, port: int, path: str) -> str:
    """The HTTPS base URL of a hub: ``explicit``, else ``master`` (``wss``/``ws`` read as
    ``https``/``http``) followed by ``path``; ``port`` where the URL has no port.

    Args:
        explicit: The hub's ``https`` endpoint, if any.
        master: The ``default_master`` address.
        port: The ``default_port``.
        path: The ``default_path``.

    Returns:
        The base URL.
    """
    if explicit:
        return with_port(explicit, port)
    folded = master.lower()
    if folded.startswith("wss://"):
        master = "https://" + master[6:]
    elif folded.startswith("ws://"):
        master = "http://" + master[5:]
    return with_port(master, port) + path


def hub_hostname(default_master: Any) -> str:
    """The host name of a hub address: a URL (any scheme) or a bare ``host[:port]``,
    lower-cased, without userinfo, port or a trailing dot.

    Args:
        default_master: The identity's ``default_master`` (anything else gives ``""``).

    Returns:
        The host name, or ``""`` when there is none.
    """
    if not isinstance(default_master, str) or not default_master.strip():
        return ""
    text = default_master.strip()
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname
    except ValueError:
        return ""
    return (host or "").rstrip(".").lower()


def select_data_plane_endpoint(
    endpoints: HubDataPlaneEndpoints,
    protocols: HubProtocolSettings,
    preferred_protocols: Iterable[str] | str = DEFAULT_PROTOCOL_PREFERENCE,
) -> SelectedHubEndpoint | None:
    """The first protocol in ``preferred_protocols`` that is enabled and has an endpoint.

    Args:
        endpoints: The hub's endpoints.
        protocols: The hub's protocol flags.
        preferred_protocols: Protocol names in order of preference; a single string means
            only that protocol.

    Returns:
        The protocol and its URL, or ``None`` when no preferred protocol fits.

    Raises:
        ThalovantUnsupportedProtocolError: A name in ``preferred_protocols`` is not a known
            protocol.
    """
    preferred = preferred_protocols
    order = (preferred,) if isinstance(preferred, str) else tuple(preferred)
    for candidate in order:
        name = canonical_protocol(candidate)
        url = endpoints.get(name)
        if url and protocols.is_enabled(name):
            return SelectedHubEndpoint(name, url)
    return None
