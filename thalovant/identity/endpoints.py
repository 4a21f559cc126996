"""A hub's data plane: its endpoint URLs, its protocol flags, and choosing between them.

The value types of docs/protocol.md §1.3 (explicit endpoints) and §1.4 (protocol flags), and
:func:`select_data_plane_endpoint`, which picks the first enabled protocol with an endpoint.
How a whole identity picks its protocol is in :mod:`thalovant.identity.selection`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from thalovant.identity.display import fields_repr
from thalovant.identity.parse import (
    canonical_protocol,
    parse_endpoint_map,
    parse_protocol_flags,
    protocol_source,
    require_mapping,
    safe_url,
)

__all__ = [
    "DEFAULT_PROTOCOL_PREFERENCE",
    "HubDataPlaneEndpoints",
    "HubProtocolSettings",
    "select_data_plane_endpoint",
]

#: Order in which protocols are tried when none is requested.
DEFAULT_PROTOCOL_PREFERENCE: tuple[str, ...] = ("wss", "https", "mqtt")


class HubDataPlaneEndpoints(msgspec.Struct, frozen=True, kw_only=True):
    """Explicit data-plane URLs of a hub (docs/protocol.md §1.3).

    Attributes:
        wss: The WebSocket endpoint (``wss://`` or ``ws://``), or ``None``.
        https: The HTTPS polling endpoint (``https://`` or ``http://``), or ``None``.
        mqtt: The MQTT broker (``mqtts://`` or ``mqtt://``), or ``None``.
    """

    wss: str | None = None
    https: str | None = None
    mqtt: str | None = None

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, Any], *, label: str = "data_plane_endpoints"
    ) -> HubDataPlaneEndpoints:
        """Parse an endpoint map: ``https``/``http``, ``wss``/``ws``, ``mqtt``/``mqtts``.

        Values without a scheme get the key's secure scheme; values with another scheme or
        without a host are discarded; trailing ``/`` is removed.

        Args:
            mapping: The endpoint map, as found in an identity or a hub resource.
            label: The field name used in error messages.

        Returns:
            The parsed endpoints.

        Raises:
            ThalovantIdentityError: ``mapping`` is not a mapping, or an entry is malformed.
        """
        return cls(**parse_endpoint_map(require_mapping(mapping, label), label=label))

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

    def as_dict(self, include_secrets: bool = False) -> dict[str, str]:
        """The known endpoints as ``{"wss": url, ...}``.

        Args:
            include_secrets: Keep URL userinfo and queries (redacted by default).

        Returns:
            One entry per known endpoint.
        """
        return {
            name: value if include_secrets else safe_url(value)
            for name in ("wss", "https", "mqtt")
            if (value := getattr(self, name))
        }

    def __repr__(self) -> str:
        return f"HubDataPlaneEndpoints({fields_repr(self)})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [(name, self.as_dict().get(name)) for name in ("wss", "https", "mqtt")]


class HubProtocolSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Which data-plane protocols the hub has enabled (docs/protocol.md §1.4).

    The flag is called ``http`` (as on the wire) while the protocol and endpoint are ``https``.
    """

    wss: bool = True
    http: bool = False
    mqtt: bool = False

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, Any] | None, *, label: str = "protocols"
    ) -> HubProtocolSettings:
        """Parse ``{"wss"|"websocket": f, "http"|"https": f, "mqtt": f}``.

        Each ``f`` is a bool, a yes/no style string or ``{"enabled": ...}``; missing flags take
        the defaults ``wss=True, http=False, mqtt=False``.

        Args:
            mapping: The flags, or ``None`` for the defaults.
            label: The field name used in error messages.

        Returns:
            The parsed flags.

        Raises:
            ThalovantIdentityError: A flag is not a recognisable boolean.
        """
        return cls(**parse_protocol_flags(mapping, label))

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


def select_data_plane_endpoint(
    endpoints: HubDataPlaneEndpoints,
    protocols: HubProtocolSettings,
    preferred: Sequence[str] | str = DEFAULT_PROTOCOL_PREFERENCE,
) -> tuple[str, str] | None:
    """The first protocol in ``preferred`` that is enabled and has an endpoint.

    Args:
        endpoints: The hub's endpoints.
        protocols: The hub's protocol flags.
        preferred: Protocol names in order of preference; a single string means only that
            protocol.

    Returns:
        ``(protocol, url)``, or ``None`` when no preferred protocol fits.

    Raises:
        ThalovantUnsupportedProtocolError: A name in ``preferred`` is not a known protocol.
    """
    order = (preferred,) if isinstance(preferred, str) else tuple(preferred)
    for candidate in order:
        name = canonical_protocol(candidate)
        url = endpoints.get(name)
        if url and protocols.is_enabled(name):
            return name, url
    return None
