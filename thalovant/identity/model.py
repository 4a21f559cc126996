"""Thalovant client identities (docs/protocol.md §1): the identity, its loaders, its
serialisation.

An identity holds the client's ``access_key`` and ``password``, so:

* serialise it with :meth:`ThalovantIdentity.as_dict` (secrets redacted unless you pass
  ``include_secrets=True``), never with ``msgspec.json.encode`` or ``msgspec.structs.asdict``,
  which see every field;
* ``repr()``/``str()`` never show the access key, the password, MQTT credentials or the MQTT
  topic prefix, and URL userinfo is redacted.

Load identities with :meth:`ThalovantIdentity.from_file`, :meth:`~ThalovantIdentity.from_config`,
:meth:`~ThalovantIdentity.from_env` or :meth:`~ThalovantIdentity.from_mapping`. Every bad input
raises :class:`~thalovant.errors.ThalovantIdentityError` naming the field or file.

The parts live beside this module: endpoints and protocol flags in
:mod:`thalovant.identity.endpoints`, MQTT credentials and topics in :mod:`thalovant.identity.mqtt`,
the choice of protocol and URL in :mod:`thalovant.identity.selection`.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from typing import Any

import msgspec

from thalovant.errors import ThalovantIdentityError, ThalovantUnsupportedProtocolError
from thalovant.identity import config as _config
from thalovant.identity import selection
from thalovant.identity.display import fields_repr
from thalovant.identity.endpoints import HubDataPlaneEndpoints, HubProtocolSettings
from thalovant.identity.mqtt import NO_MQTT_CREDENTIALS, MqttBrokerCredentials, MqttTopicSet
from thalovant.identity.parse import (
    DEFAULT_HUB_PORT,
    ENDPOINT_MAPS,
    first_value,
    parse_endpoint_map,
    parse_identity_scalars,
    parse_metadata,
    require_mapping,
    safe_url,
    type_name,
)
from thalovant.redact import REDACTED, redact_deep

__all__ = ["ThalovantIdentity", "mqtt_topics_for_identity"]

logger = logging.getLogger("thalovant.identity")


class ThalovantIdentity(msgspec.Struct, frozen=True):
    """Everything a client needs to reach and authenticate to one hub.

    Build it with a loader (:meth:`from_file`, :meth:`from_config`, :meth:`from_env`,
    :meth:`from_mapping`); save it with ``json.dumps(identity.as_dict(include_secrets=True))``
    to a private, git-ignored file. ``source_path`` (the file it came from) is not serialised.
    Use :meth:`as_dict`, never ``msgspec`` encoders, to serialise: they would see the secrets.

    Attributes:
        access_key: The client's access key (docs/protocol.md §1.1).
        password: The client's password (with the access key, the source of the Noise PSK).
        default_master: The hub address: a ``wss://``/``https://`` URL or a bare host.
        site_id: The client's site id.
        default_port: The hub port used when an address has none (default 5679).
        default_path: Appended to the HTTPS base derived from ``default_master``.
        data_plane_endpoints: The hub's explicit endpoints (docs/protocol.md §1.3).
        protocols: The hub's protocol flags (docs/protocol.md §1.4).
        mqtt: The client's broker credentials, if the hub gave any (docs/protocol.md §1.2).
        metadata: Free-form metadata, kept as given (secret-named entries redacted on output).
        source_path: The file the identity was loaded from; not serialised.

    Raises:
        ThalovantIdentityError: On construction, when a required field is blank or the port is
            not an integer from 1 to 65535.
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
        cls, values: Mapping[str, Any], *, source_path: str | os.PathLike[str] | None = None
    ) -> ThalovantIdentity:
        """Parse an identity mapping (identity file, config profile, API ``initial_identify``).

        Field aliases, defaults and normalisation follow docs/protocol.md §1.1. Without an endpoint
        map (``data_plane_endpoints``/``dataPlaneEndpoints``/``endpoints``) the top level itself is
        searched for endpoints. Unknown keys and the legacy ``crypto_key`` are ignored.

        Args:
            values: The identity mapping.
            source_path: Where the mapping came from, kept as :attr:`source_path`.

        Returns:
            The identity.

        Raises:
            ThalovantIdentityError: A field is missing or malformed (the message names the
                field, never its value).
        """
        data = require_mapping(values, "identity")
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
        """Load a JSON identity file that only its owner may access (docs/protocol.md §1.6).

        On POSIX a file with any group/other permission bit is refused (use ``chmod 600``),
        except a Kubernetes projected secret.

        Args:
            path: The identity file (JSON).

        Returns:
            The identity, with :attr:`source_path` set to the absolute path.

        Raises:
            ThalovantIdentityError: The file is missing, unreadable, too large, readable by
                others, not a JSON object, or holds a bad identity (the message names the file).
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

        Args:
            path: The config file; ``None`` for
                :func:`~thalovant.identity.config.default_config_path`.
            profile: The profile to load; ``None`` for the config's default profile.

        Returns:
            The identity, with :attr:`source_path` set to the config file.

        Raises:
            ThalovantIdentityError: The file is missing, unreadable, readable by others, not
                valid YAML, has no such profile, or holds a bad identity (the message names the
                file and profile).
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

        Args:
            prefix: The prefix of every variable name.
            environ: The variables to read; ``None`` for ``os.environ``.

        Returns:
            The identity.

        Raises:
            ThalovantIdentityError: A variable is missing or malformed (the message names the
                prefix, never a value).
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
        """The HTTPS base URL (HTTPS carrier, Noise pin id), as docs/protocol.md §1.3 says.

        An explicit ``https`` endpoint wins (``:<default_port>`` inserted when it has no port,
        ``default_path`` not appended); otherwise ``default_master`` with ``wss://`` →
        ``https://`` and ``ws://`` → ``http://``, the port inserted if missing, plus
        ``default_path``.

        Returns:
            The base URL. A master without a scheme gives a scheme-less string, which no
            carrier accepts (see :meth:`endpoint_for`).
        """
        return selection.endpoint_base(self)

    def endpoint_for(self, protocol: str) -> str | None:
        """The URL a carrier would use for ``protocol``.

        ``wss``: the explicit endpoint, else a ``wss://``/``ws://`` master, verbatim. ``https``:
        :meth:`endpoint_base` when it has an ``http(s)://`` scheme. ``mqtt``: the broker
        endpoint of the ``mqtt`` block, else the endpoint map's ``mqtt`` entry.

        Args:
            protocol: ``wss``, ``https`` or ``mqtt``, or an alias of one.

        Returns:
            The URL, or ``None`` when there is none.

        Raises:
            ThalovantUnsupportedProtocolError: ``protocol`` is not a known name.
        """
        return selection.endpoint_for(self, protocol)

    def enabled_protocols(self) -> tuple[str, ...]:
        """Protocols the hub flags enable, in preference order (``"https"`` for ``http``)."""
        return self.protocols.enabled_protocols()

    def supports_protocol(self, protocol: str) -> bool:
        """Whether the hub's flag for ``protocol`` is on (``http``/``https`` are the same).

        Whether an endpoint or credentials exist is :meth:`select_protocol`'s business.

        Args:
            protocol: ``wss``, ``https`` or ``mqtt``, or an alias of one.

        Returns:
            The hub's flag.

        Raises:
            ThalovantUnsupportedProtocolError: ``protocol`` is not a known name.
        """
        return self.protocols.is_enabled(protocol)

    def select_protocol(self, protocol: str | None = None) -> str:
        """The protocol a client should use (docs/protocol.md §1.5).

        With ``protocol=None``: the first of
        :data:`~thalovant.identity.endpoints.DEFAULT_PROTOCOL_PREFERENCE` that the hub enables
        *and* this identity can use — ``wss`` needs a WSS URL; ``https`` needs the ``http``
        flag or an explicit ``https`` endpoint, and an ``http(s)://`` base; ``mqtt`` needs the
        ``mqtt`` flag and complete credentials with a topic prefix. When none of those fits, an
        identity whose base is ``https://`` falls back to HTTPS, as legacy identities (a bare
        ``default_master``, no flags) expect.

        An explicit ``protocol`` is honoured whenever the identity has an endpoint (and, for
        MQTT, credentials) for it, even if the hub flag is off: flags can be stale, and the hub
        decides.

        Args:
            protocol: The protocol asked for, or ``None`` to choose.

        Returns:
            ``"wss"``, ``"https"`` or ``"mqtt"``.

        Raises:
            ThalovantUnsupportedProtocolError: The protocol asked for is unknown or unusable
                with this identity, or (with ``None``) no protocol is usable.
        """
        return selection.select_protocol(self, protocol)

    def mqtt_topics(self) -> MqttTopicSet:
        """The MQTT topics of this client (see :func:`mqtt_topics_for_identity`).

        Raises:
            ThalovantUnsupportedProtocolError: The identity has no ``mqtt`` block.
            ThalovantIdentityError: The topic prefix is missing or invalid.
        """
        return mqtt_topics_for_identity(self)

    # ----------------------------------------------------------------------- serialisation

    def as_dict(self, include_secrets: bool = False) -> dict[str, Any]:
        """A JSON-ready dict that :meth:`from_mapping` reads back to an equal identity.

        With ``include_secrets=False`` (the default) the access key, password, MQTT username,
        password and topic prefix are ``"<redacted>"``, URL userinfo and queries are removed,
        and secret-named metadata entries are redacted. ``data_plane_endpoints`` is always
        written (possibly empty) and ``protocols`` is written too, so nothing is lost.

        Args:
            include_secrets: Write the secrets as they are (for an identity file; never log
                the result).

        Returns:
            The identity as a JSON-ready dict.
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
        return f"ThalovantIdentity({fields_repr(self)})"

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
    """The MQTT topics of ``identity``'s client: ``<prefix>/in|out|status``.

    Args:
        identity: An identity with an ``mqtt`` block.

    Returns:
        The topics derived from the MQTT credentials' topic prefix.

    Raises:
        ThalovantUnsupportedProtocolError: The identity has no ``mqtt`` block.
        ThalovantIdentityError: The topic prefix is missing or invalid.
    """
    if identity.mqtt is None:
        raise ThalovantUnsupportedProtocolError(NO_MQTT_CREDENTIALS)
    return identity.mqtt.topics()
