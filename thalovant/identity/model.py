"""Thalovant client identities (docs/protocol.md §1): parsing, endpoints, protocol flags, MQTT
topics.

An identity holds the client's ``access_key`` and ``password``, so:

* serialise it with :meth:`ThalovantIdentity.as_dict` (secrets redacted unless you pass
  ``include_secrets=True``), never with ``msgspec.json.encode`` or ``msgspec.structs.asdict``,
  which see every field;
* ``repr()``/``str()`` never show the access key, the password, MQTT credentials or the MQTT
  topic prefix, and URL userinfo is redacted.

Load identities with :meth:`ThalovantIdentity.from_file`, :meth:`~ThalovantIdentity.from_config`,
:meth:`~ThalovantIdentity.from_env` or :meth:`~ThalovantIdentity.from_mapping`. Every bad input
raises :class:`~thalovant.errors.ThalovantIdentityError` naming the field or file.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from thalovant.errors import ThalovantIdentityError, ThalovantUnsupportedProtocolError
from thalovant.identity import config as _config
from thalovant.identity.parse import (
    DEFAULT_HUB_PORT,
    ENDPOINT_MAPS,
    canonical_protocol,
    first_value,
    normalize_topic_prefix,
    parse_endpoint_map,
    parse_identity_scalars,
    parse_metadata,
    parse_mqtt_block,
    parse_protocol_flags,
    protocol_source,
    require_mapping,
    safe_url,
    type_name,
    with_port,
)
from thalovant.redact import REDACTED, redact_deep

__all__ = [
    "DEFAULT_HUB_PORT",
    "DEFAULT_PROTOCOL_PREFERENCE",
    "HubDataPlaneEndpoints",
    "HubProtocolSettings",
    "MqttBrokerCredentials",
    "MqttTopicSet",
    "ThalovantIdentity",
    "canonical_protocol",
    "mqtt_topics_for_identity",
    "select_data_plane_endpoint",
]

logger = logging.getLogger("thalovant.identity")

#: Order in which protocols are tried when none is requested.
DEFAULT_PROTOCOL_PREFERENCE: tuple[str, ...] = ("wss", "https", "mqtt")

_NO_MQTT = (
    "This identity has no MQTT credentials (no complete 'mqtt' block with endpoint, username "
    "and password); enable MQTT on the hub, then create a fresh identity"
)


class HubDataPlaneEndpoints(msgspec.Struct, frozen=True, kw_only=True):
    """Explicit data-plane URLs of a hub (docs/protocol.md §1.3); ``None`` where the hub gave
    none."""

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
        """
        return cls(**parse_endpoint_map(require_mapping(mapping, label), label=label))

    @property
    def is_empty(self) -> bool:
        """True when no endpoint is known."""
        return not (self.wss or self.https or self.mqtt)

    def get(self, protocol: str) -> str | None:
        """The endpoint for ``protocol`` (any alias accepted by :func:`canonical_protocol`)."""
        value: str | None = getattr(self, canonical_protocol(protocol))
        return value

    def as_dict(self, include_secrets: bool = False) -> dict[str, str]:
        """The known endpoints; URL userinfo and queries redacted unless ``include_secrets``."""
        return {
            name: value if include_secrets else safe_url(value)
            for name in ("wss", "https", "mqtt")
            if (value := getattr(self, name))
        }

    def __repr__(self) -> str:
        return f"HubDataPlaneEndpoints({_fields(self)})"

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
        """
        return cls(**parse_protocol_flags(mapping, label))

    @classmethod
    def from_identity_mapping(cls, mapping: Mapping[str, Any]) -> HubProtocolSettings:
        """Flags from ``spec.protocols`` if ``spec`` exists, else ``protocols`` or ``network``."""
        flags, label = protocol_source(mapping)
        return cls.from_mapping(flags, label=label)

    def is_enabled(self, protocol: str) -> bool:
        """True when the flag for ``protocol`` (``https`` → the ``http`` flag) is on."""
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


class MqttTopicSet(msgspec.Struct, frozen=True):
    """The three MQTT topics of a client, derived from its topic prefix.

    ``inbound`` = ``<prefix>/in`` (client → hub), ``outbound`` = ``<prefix>/out`` (hub →
    client), ``status`` = ``<prefix>/status`` (retained presence and last will). The repr hides
    the prefix, which may embed the access key.
    """

    inbound: str
    outbound: str
    status: str

    @classmethod
    def from_prefix(cls, prefix: str) -> MqttTopicSet:
        """Validate and normalise ``prefix`` (trim whitespace and ``/``; no ``#``, ``+`` or
        control characters), then derive the topics."""
        base = normalize_topic_prefix(prefix)
        return cls(f"{base}/in", f"{base}/out", f"{base}/status")

    def __repr__(self) -> str:
        return f"MqttTopicSet({_fields(self)})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [
            ("inbound", f"{REDACTED}/in"),
            ("outbound", f"{REDACTED}/out"),
            ("status", f"{REDACTED}/status"),
        ]


class MqttBrokerCredentials(msgspec.Struct, frozen=True, kw_only=True):
    """A client's own MQTT broker credentials and topic scope (docs/protocol.md §1.2).

    ``tls`` is what the identity said (default when parsed: the endpoint uses ``mqtts://`` or
    ``ssl://``); :attr:`uses_tls` is what a transport should do.
    """

    endpoint: str
    username: str
    password: str
    topic_prefix: str | None = None
    qos: int = 1
    tls: bool = False

    def __post_init__(self) -> None:
        for name in ("endpoint", "username", "password"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ThalovantIdentityError(f"Missing MQTT field: mqtt.{name}")
        if isinstance(self.qos, bool) or self.qos not in (0, 1):
            raise ThalovantIdentityError("mqtt.qos must be 0 or 1")
        if self.topic_prefix is not None:
            normalize_topic_prefix(self.topic_prefix)

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, Any], *, label: str = "mqtt"
    ) -> MqttBrokerCredentials | None:
        """Parse an ``mqtt`` block; ``None`` unless endpoint, username and password are all set.

        A topic prefix, when present, is validated here and stored normalised;
        ``c2s_topic``/``s2c_topic``/``status_topic`` are accepted and ignored.
        """
        fields = parse_mqtt_block(mapping, label)
        return None if fields is None else cls(**fields)

    @property
    def uses_tls(self) -> bool:
        """True when the ``tls`` flag is set or the endpoint scheme is ``mqtts``/``ssl``."""
        return self.tls or self.endpoint.lower().startswith(("mqtts://", "ssl://"))

    def topics(self) -> MqttTopicSet:
        """``<prefix>/in``, ``<prefix>/out``, ``<prefix>/status`` from :attr:`topic_prefix`."""
        if self.topic_prefix is None:
            raise ThalovantIdentityError(
                "mqtt.topic_prefix is missing; the MQTT transport derives its topics from it"
            )
        return MqttTopicSet.from_prefix(self.topic_prefix)

    def as_dict(self, include_secrets: bool = False) -> dict[str, Any]:
        """``endpoint``, ``username``, ``password``, ``topic_prefix``, ``qos`` (if 0), ``tls``."""
        out: dict[str, Any] = {
            "endpoint": self.endpoint if include_secrets else safe_url(self.endpoint),
            "username": self.username if include_secrets else REDACTED,
            "password": self.password if include_secrets else REDACTED,
        }
        if self.topic_prefix is not None:
            out["topic_prefix"] = self.topic_prefix if include_secrets else REDACTED
        if self.qos != 1:
            out["qos"] = self.qos
        out["tls"] = self.tls
        return out

    def __repr__(self) -> str:
        return f"MqttBrokerCredentials({_fields(self)})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return list(self.as_dict().items())


class ThalovantIdentity(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a client needs to reach and authenticate to one hub.

    Build it with a loader (:meth:`from_file`, :meth:`from_config`, :meth:`from_env`,
    :meth:`from_mapping`); save it with ``json.dumps(identity.as_dict(include_secrets=True))``
    to a private, git-ignored file. ``source_path`` (the file it came from) is not serialised.
    Use :meth:`as_dict`, never ``msgspec`` encoders, to serialise: they would see the secrets.
    """

    access_key: str
    password: str
    default_master: str
    site_id: str
    default_port: int = DEFAULT_HUB_PORT
    default_path: str = ""
    data_plane_endpoints: HubDataPlaneEndpoints = HubDataPlaneEndpoints()
    protocols: HubProtocolSettings = HubProtocolSettings()
    mqtt: MqttBrokerCredentials | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    source_path: str | None = None

    def __post_init__(self) -> None:
        for name in ("access_key", "password", "default_master", "site_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ThalovantIdentityError(f"Missing identity field: {name}")
        port = self.default_port
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ThalovantIdentityError("default_port must be an integer between 1 and 65535")

    # ----------------------------------------------------------------------------- loaders

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, Any], *, source_path: str | os.PathLike[str] | None = None
    ) -> ThalovantIdentity:
        """Parse an identity mapping (identity file, config profile, API ``initial_identify``).

        Field aliases, defaults and normalisation follow docs/protocol.md §1.1. Without an endpoint
        map (``data_plane_endpoints``/``dataPlaneEndpoints``/``endpoints``) the top level itself is
        searched for endpoints. Unknown keys and the legacy ``crypto_key`` are ignored.
        """
        data = require_mapping(mapping, "identity")
        endpoint_key = next((k for k in ENDPOINT_MAPS if first_value(data, (k,)) is not None), None)
        if endpoint_key is None:
            endpoints = parse_endpoint_map(data, strict=False)
        else:
            label = endpoint_key
            endpoints = parse_endpoint_map(require_mapping(data[label], label), label=label)
        mqtt_block = data.get("mqtt")
        mqtt = None
        if isinstance(mqtt_block, Mapping):
            mqtt = MqttBrokerCredentials.from_mapping(mqtt_block)
        elif mqtt_block is not None and not isinstance(mqtt_block, str):
            # A string is a broker URL, which the top-level endpoint search picks up.
            raise ThalovantIdentityError(f"mqtt must be a mapping, not {type_name(mqtt_block)}")
        return cls(
            **parse_identity_scalars(data),
            data_plane_endpoints=HubDataPlaneEndpoints(**endpoints),
            protocols=HubProtocolSettings.from_identity_mapping(data),
            mqtt=mqtt,
            metadata=parse_metadata(data.get("metadata")),
            source_path=None if source_path is None else os.fspath(source_path),
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> ThalovantIdentity:
        """Load a JSON identity file that only its owner may access (``chmod 600``).

        On POSIX a file with any group/other permission bit is refused, except a Kubernetes
        projected secret. ``source_path`` is set to the absolute path.
        """
        name = os.path.abspath(os.fspath(path))
        data = _config.load_json_mapping(name, what="identity file")
        try:
            identity = cls.from_mapping(data, source_path=name)
        except ThalovantIdentityError as exc:
            raise ThalovantIdentityError(f"{exc} (identity file {name})") from None
        logger.debug("Loaded identity for site %s from %s", identity.site_id, name)
        return identity

    @classmethod
    def from_config(
        cls, path: str | os.PathLike[str] | None = None, *, profile: str | None = None
    ) -> ThalovantIdentity:
        """Load an identity from the YAML config (default :func:`default_config_path`).

        The same permission rule as :meth:`from_file` applies; see
        :func:`thalovant.identity.config.resolve_profile` for how the profile is chosen.
        """
        mapping, name, chosen = _config.load_config_identity(path, profile)
        try:
            identity = cls.from_mapping(mapping, source_path=name)
        except ThalovantIdentityError as exc:
            where = f"profile {chosen} of config file {name}" if chosen else f"config file {name}"
            raise ThalovantIdentityError(f"{exc} ({where})") from None
        logger.debug("Loaded identity for site %s from %s", identity.site_id, name)
        return identity

    @classmethod
    def from_env(
        cls, prefix: str = "THALOVANT_", environ: Mapping[str, str] | None = None
    ) -> ThalovantIdentity:
        """Build an identity from environment variables (``os.environ`` unless ``environ``).

        Names below omit the prefix; where two are listed the first non-empty wins:
        ``ACCESS_KEY``, ``PASSWORD``, ``SITE_ID``, ``HUB_HTTP_HOST``/``DEFAULT_MASTER``,
        ``HUB_HTTP_PORT``/``DEFAULT_PORT``, ``HUB_HTTP_PATH``/``DEFAULT_PATH``; endpoints
        ``HUB_HTTPS_HOST``/``HUB_HTTP_HOST``, ``HUB_WSS_HOST``/``HUB_WEBSOCKET_HOST``,
        ``HUB_MQTT_HOST``; MQTT ``MQTT_ENDPOINT``/``HUB_MQTT_HOST``, ``MQTT_USERNAME``,
        ``MQTT_PASSWORD``, ``MQTT_TOPIC_PREFIX``, ``MQTT_QOS``. Protocol flags keep defaults.
        """
        mapping = _config.env_identity_mapping(prefix, environ)
        try:
            identity = cls.from_mapping(mapping)
        except ThalovantIdentityError as exc:
            raise ThalovantIdentityError(f"{exc} (environment variables {prefix}*)") from None
        logger.debug("Loaded identity for site %s from %s* variables", identity.site_id, prefix)
        return identity

    # --------------------------------------------------------------------------- endpoints

    def endpoint_base(self) -> str:
        """The HTTPS base URL (HTTPS carrier, Noise pin id), exactly as docs/protocol.md §1.3
        derives it.

        An explicit ``https`` endpoint wins (``:<default_port>`` inserted when it has no port,
        ``default_path`` not appended); otherwise ``default_master`` with ``wss://`` →
        ``https://`` and ``ws://`` → ``http://``, the port inserted if missing, plus
        ``default_path``. A master without a scheme gives a scheme-less string, which no carrier
        accepts (see :meth:`endpoint_for`).
        """
        explicit = self.data_plane_endpoints.https
        if explicit:
            return with_port(explicit, self.default_port)
        master = self.default_master
        folded = master.lower()
        if folded.startswith("wss://"):
            master = "https://" + master[6:]
        elif folded.startswith("ws://"):
            master = "http://" + master[5:]
        return with_port(master, self.default_port) + self.default_path

    def _wss_url(self) -> str | None:
        if self.data_plane_endpoints.wss:
            return self.data_plane_endpoints.wss
        if self.default_master.lower().startswith(("wss://", "ws://")):
            return self.default_master
        return None

    def endpoint_for(self, protocol: str) -> str | None:
        """The URL a carrier would use for ``protocol``, or ``None`` when there is none.

        ``wss``: the explicit endpoint, else a ``wss://``/``ws://`` master, verbatim. ``https``:
        :meth:`endpoint_base` when it has an ``http(s)://`` scheme. ``mqtt``: the broker
        endpoint of the ``mqtt`` block, else the endpoint map's ``mqtt`` entry.
        """
        name = canonical_protocol(protocol)
        if name == "wss":
            return self._wss_url()
        if name == "https":
            base = self.endpoint_base()
            return base if base.lower().startswith(("https://", "http://")) else None
        return self.mqtt.endpoint if self.mqtt else self.data_plane_endpoints.mqtt

    def enabled_protocols(self) -> tuple[str, ...]:
        """Protocols the hub flags enable, in preference order (``"https"`` for ``http``)."""
        return self.protocols.enabled_protocols()

    def supports_protocol(self, protocol: str) -> bool:
        """True when the hub's flag for ``protocol`` is on (``http``/``https`` are the same).

        An unknown protocol name raises :class:`ThalovantUnsupportedProtocolError`. Whether an
        endpoint or credentials exist is :meth:`select_protocol`'s business.
        """
        return self.protocols.is_enabled(protocol)

    def _unusable_reason(self, name: str) -> str | None:
        if name == "wss" and self._wss_url() is None:
            return (
                "This identity has no WSS endpoint (no data_plane_endpoints.wss and "
                "default_master is not a wss:// URL)"
            )
        if name == "https" and self.endpoint_for("https") is None:
            return "This identity has no HTTPS endpoint (default_master has no http(s):// scheme)"
        if name == "mqtt":
            if self.mqtt is None:
                return _NO_MQTT
            if self.mqtt.topic_prefix is None:
                return "This identity's MQTT credentials have no topic_prefix"
        return None

    def select_protocol(self, protocol: str | None = None) -> str:
        """The protocol a client should use: ``"wss"``, ``"https"`` or ``"mqtt"``.

        With ``protocol=None``: the first of :data:`DEFAULT_PROTOCOL_PREFERENCE` that the hub
        enables *and* this identity can use — ``wss`` needs a WSS URL; ``https`` needs the
        ``http`` flag or an explicit ``https`` endpoint, and an ``http(s)://`` base; ``mqtt``
        needs the ``mqtt`` flag and complete credentials with a topic prefix. When none of
        those fits, an identity whose base is ``https://`` falls back to HTTPS, as legacy
        identities (a bare ``default_master``, no flags) expect.

        An explicit ``protocol`` is honoured whenever the identity has an endpoint (and, for
        MQTT, credentials) for it, even if the hub flag is off: flags can be stale, and the hub
        decides. Otherwise, or for an unknown name, raises
        :class:`ThalovantUnsupportedProtocolError`.
        """
        if protocol is not None:
            name = canonical_protocol(protocol)
            reason = self._unusable_reason(name)
            if reason is not None:
                raise ThalovantUnsupportedProtocolError(f"Unsupported protocol {name}: {reason}")
            return name
        flags = {
            "wss": self.protocols.wss,
            "https": self.protocols.http or self.data_plane_endpoints.https is not None,
            "mqtt": self.protocols.mqtt,
        }
        for name in DEFAULT_PROTOCOL_PREFERENCE:
            if flags[name] and self._unusable_reason(name) is None:
                return name
        if self.endpoint_base().startswith("https://") and self._unusable_reason("https") is None:
            return "https"
        enabled = ", ".join(self.enabled_protocols()) or "none"
        raise ThalovantUnsupportedProtocolError(
            f"No usable protocol: the hub enables {enabled}, but this identity has no endpoint "
            "or credentials for them; pass protocol= explicitly or create a fresh identity"
        )

    def mqtt_topics(self) -> MqttTopicSet:
        """The MQTT topics of this client (see :func:`mqtt_topics_for_identity`)."""
        return mqtt_topics_for_identity(self)

    # ----------------------------------------------------------------------- serialisation

    def as_dict(self, include_secrets: bool = False) -> dict[str, Any]:
        """A JSON-ready dict that :meth:`from_mapping` reads back to an equal identity.

        With ``include_secrets=False`` (the default) the access key, password, MQTT username,
        password and topic prefix are ``"<redacted>"``, URL userinfo and queries are removed,
        and secret-named metadata entries are redacted. ``data_plane_endpoints`` is always
        written (possibly empty) and ``protocols`` is written too, so nothing is lost.
        """
        master = self.default_master
        out: dict[str, Any] = {
            "site_id": self.site_id,
            "default_master": master if include_secrets else safe_url(master),
            "default_port": self.default_port,
            "default_path": self.default_path,
            "data_plane_endpoints": self.data_plane_endpoints.as_dict(include_secrets),
            "protocols": self.protocols.as_dict(),
            "access_key": self.access_key if include_secrets else REDACTED,
            "password": self.password if include_secrets else REDACTED,
        }
        if self.mqtt is not None:
            out["mqtt"] = self.mqtt.as_dict(include_secrets)
        metadata = copy.deepcopy(self.metadata) if include_secrets else redact_deep(self.metadata)
        out["metadata"] = metadata
        return out

    def __repr__(self) -> str:
        return f"ThalovantIdentity({_fields(self)})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [
            ("site_id", self.site_id),
            ("default_master", safe_url(self.default_master)),
            ("default_port", self.default_port),
            ("default_path", self.default_path),
            ("data_plane_endpoints", self.data_plane_endpoints),
            ("protocols", self.protocols),
            ("mqtt", self.mqtt),
            ("metadata", redact_deep(self.metadata)),
            ("access_key", REDACTED),
            ("password", REDACTED),
            ("source_path", self.source_path),
        ]

    def __hash__(self) -> int:
        # metadata is a dict, so it stays out of the hash (equal identities still hash equal)
        return hash(
            (
                self.access_key,
                self.site_id,
                self.default_master,
                self.default_port,
                self.default_path,
                self.data_plane_endpoints,
                self.protocols,
                self.mqtt,
                self.source_path,
            )
        )


def mqtt_topics_for_identity(identity: ThalovantIdentity) -> MqttTopicSet:
    """``<prefix>/in|out|status`` for ``identity``'s MQTT credentials.

    Raises :class:`ThalovantUnsupportedProtocolError` without an ``mqtt`` block and
    :class:`ThalovantIdentityError` when the topic prefix is missing or invalid.
    """
    if identity.mqtt is None:
        raise ThalovantUnsupportedProtocolError(_NO_MQTT)
    return identity.mqtt.topics()


def select_data_plane_endpoint(
    endpoints: HubDataPlaneEndpoints,
    protocols: HubProtocolSettings,
    preferred: Sequence[str] | str = DEFAULT_PROTOCOL_PREFERENCE,
) -> tuple[str, str] | None:
    """``(protocol, url)`` for the first protocol in ``preferred`` that is enabled and has an
    endpoint, or ``None``. A single string means only that protocol."""
    order = (preferred,) if isinstance(preferred, str) else tuple(preferred)
    for candidate in order:
        name = canonical_protocol(candidate)
        url = endpoints.get(name)
        if url and protocols.is_enabled(name):
            return name, url
    return None


def _fields(
    obj: HubDataPlaneEndpoints | MqttTopicSet | MqttBrokerCredentials | ThalovantIdentity,
) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in obj.__rich_repr__())
