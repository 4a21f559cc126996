"""A client's MQTT broker credentials and the topics derived from its prefix (docs/protocol.md
§1.2).

The topic prefix may embed the access key, so reprs hide it along with the username and
password; :meth:`MqttBrokerCredentials.as_dict` redacts them unless asked not to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import msgspec

from thalovant.errors import ThalovantIdentityError
from thalovant.identity.display import fields_repr
from thalovant.identity.parse import normalize_topic_prefix, parse_mqtt_block, safe_url
from thalovant.redact import REDACTED

__all__ = ["NO_MQTT_CREDENTIALS", "MqttBrokerCredentials", "MqttTopicSet"]

#: Why an identity cannot use MQTT when it has no (complete) ``mqtt`` block.
NO_MQTT_CREDENTIALS = (
    "This identity has no MQTT credentials (no complete 'mqtt' block with endpoint, username "
    "and password); enable MQTT on the hub, then create a fresh identity"
)


class MqttTopicSet(NamedTuple):
    """The three MQTT topics of a client, derived from its topic prefix; a tuple, so
    ``inbound, outbound, status = topics`` unpacks it as in the official SDK.

    The repr hides the prefix, which may embed the access key.

    Attributes:
        inbound: ``<prefix>/in``, client → hub.
        outbound: ``<prefix>/out``, hub → client.
        status: ``<prefix>/status``, retained presence and last will.
    """

    inbound: str
    outbound: str
    status: str

    @classmethod
    def from_prefix(cls, prefix: str) -> MqttTopicSet:
        """Derive the topics from a topic prefix.

        Args:
            prefix: The prefix; whitespace and ``/`` at either end are trimmed.

        Returns:
            ``<prefix>/in``, ``<prefix>/out``, ``<prefix>/status``.

        Raises:
            ThalovantIdentityError: The prefix is empty or holds ``#``, ``+`` or control
                characters.
        """
        base = normalize_topic_prefix(prefix)
        return cls(f"{base}/in", f"{base}/out", f"{base}/status")

    def __repr__(self) -> str:
        return f"MqttTopicSet({fields_repr(self)})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [
            ("inbound", f"{REDACTED}/in"),
            ("outbound", f"{REDACTED}/out"),
            ("status", f"{REDACTED}/status"),
        ]


class MqttBrokerCredentials(msgspec.Struct, frozen=True):
    """A client's own MQTT broker credentials and topic scope (docs/protocol.md §1.2).

    Attributes:
        endpoint: The broker URL (``mqtts://``, ``mqtt://``, ``ssl://`` ...).
        username: The client's broker username.
        password: The client's broker password.
        topic_prefix: The prefix of the client's topics (see :meth:`topics`), normalised.
        qos: The MQTT quality of service, 0 or 1.
        tls: What the identity said about TLS (when parsed, by default: the endpoint uses
            ``mqtts://`` or ``ssl://``; when constructed, True as in the official SDK);
            :attr:`uses_tls` is what a transport should do.

    Raises:
        ThalovantIdentityError: On construction, when a credential is blank, ``qos`` is not 0
            or 1, or the topic prefix is invalid.
    """

    endpoint: str
    username: str
    password: str
    topic_prefix: str | None = None
    qos: int = 1
    tls: bool = True

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
        cls, values: Mapping[str, Any] | None, *, label: str = "mqtt"
    ) -> MqttBrokerCredentials | None:
        """Parse an ``mqtt`` block.

        A topic prefix, when present, is validated here and stored normalised;
        ``c2s_topic``/``s2c_topic``/``status_topic`` are accepted and ignored.

        Args:
            values: The ``mqtt`` block of an identity (None: no credentials).
            label: The field name used in error messages.

        Returns:
            The credentials, or ``None`` unless endpoint, username and password are all set.

        Raises:
            ThalovantIdentityError: A field is malformed.
        """
        if values is None:
            return None
        fields = parse_mqtt_block(values, label)
        return None if fields is None else cls(**fields)

    @property
    def uses_tls(self) -> bool:
        """True when the ``tls`` flag is set or the endpoint scheme is ``mqtts``/``ssl``."""
        return self.tls or self.endpoint.lower().startswith(("mqtts://", "ssl://"))

    def topics(self) -> MqttTopicSet:
        """The client's topics, derived from :attr:`topic_prefix`.

        Returns:
            ``<prefix>/in``, ``<prefix>/out``, ``<prefix>/status``.

        Raises:
            ThalovantIdentityError: There is no topic prefix.
        """
        if self.topic_prefix is None:
            raise ThalovantIdentityError(
                "mqtt.topic_prefix is missing; the MQTT transport derives its topics from it"
            )
        return MqttTopicSet.from_prefix(self.topic_prefix)

    def as_dict(self, include_secrets: bool = False) -> dict[str, Any]:
        """The ``mqtt`` block, as an identity file holds it.

        Keys: ``endpoint``, ``username``, ``password``, ``topic_prefix``, ``qos`` (only if 0),
        ``tls``.

        Args:
            include_secrets: Keep the username, password and topic prefix, and the endpoint's
                userinfo and query (all redacted by default).

        Returns:
            A JSON-ready dict that :meth:`from_mapping` reads back.
        """
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
        return f"MqttBrokerCredentials({fields_repr(self)})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return list(self.as_dict().items())
