"""Client enrolment on the local hub: register clients and hand out their identities.

:class:`ClientEnrolment` joins the registry (:mod:`thalovant.hub.state.registry`) and the
listeners' endpoints (:class:`~thalovant.hub.servers.listeners.Listeners`) into each client's
identity (docs/protocol.md §1.1): WSS, HTTPS and MQTT with the client's own broker account.
:class:`~thalovant.hub.LocalHub` inherits it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from thalovant.hub.servers.listeners import Listeners
from thalovant.hub.state.allowed_types import DEFAULT_ALLOWED_TYPES
from thalovant.hub.state.identities import client_identity
from thalovant.hub.state.registry import ClientRecord, ClientRegistry
from thalovant.identity.model import ThalovantIdentity

__all__ = ["ClientEnrolment", "MqttProvisioner"]

#: Called with ``(username, password, topic_prefix)`` when a client's broker account is minted,
#: so an external broker can learn it (see ``thalovant.testing`` for mosquitto).
MqttProvisioner = Callable[[str, str, str], None]


class ClientEnrolment:
    """Registration and identities over ``registry`` and ``_listeners`` (set by the
    subclass, with ``_mqtt_provisioner``)."""

    registry: ClientRegistry
    """The client registry (on disk in ``clients.json``)."""
    _listeners: Listeners
    _mqtt_provisioner: MqttProvisioner | None

    @property
    def wss_url(self) -> str:
        """``wss://<host>:<port>`` (``ws://`` without an SSL context)."""
        return self._listeners.wss_url

    @property
    def wss_port(self) -> int:
        """The WebSocket port (the bound one once running)."""
        return self._listeners.wss_port

    def register_client(
        self,
        name: str = "demo",
        *,
        site_id: str | None = None,
        allowed_types: Iterable[str] = DEFAULT_ALLOWED_TYPES,
        admin: bool = False,
        access_key: str | None = None,
        password: str | None = None,
    ) -> ThalovantIdentity:
        """Register a client and return its identity for this hub.

        The hub must be running, or have a fixed ``wss_port``, so the URL is known. With
        MQTT on, the client also gets its own broker account.

        Args:
            name: The client's name.
            site_id: Its site id (``None``: ``name``).
            allowed_types: The bus message types it may send (docs/protocol.md §3.3).
            admin: Whether it may send anything, mesh kinds included.
            access_key: The access key (``None``: a random one).
            password: The password (``None``: a random one).

        Returns:
            The identity, as :meth:`identity_for` gives it.

        Raises:
            ThalovantRuntimeError: The hub's port is not known yet.
            ClientExistsError: The access key is taken.
            InvalidClientError: A field is not storable.
        """
        self._listeners.require_url()
        record = self.registry.create(
            name,
            site_id=site_id,
            allowed_types=allowed_types,
            admin=admin,
            access_key=access_key,
            password=password,
        )
        prefix = self._listeners.mqtt_prefix(record.access_key)
        if prefix is not None:
            record = self.registry.ensure_mqtt_credentials(record.access_key)
            if self._mqtt_provisioner is not None and record.mqtt_username and record.mqtt_password:
                self._mqtt_provisioner(record.mqtt_username, record.mqtt_password, prefix)
        return self.identity_for(record.access_key)

    def identity_for(self, access_key: str) -> ThalovantIdentity:
        """The identity of a registered client, pointing at this hub's current URLs.

        Args:
            access_key: The client's access key.

        Returns:
            The identity (docs/protocol.md §1.1): WSS (the default protocol), HTTPS and MQTT
            (with the client's own broker account).

        Raises:
            KeyError: No client has this access key.
            ThalovantRuntimeError: The hub's port is not known yet.
        """
        record = self.registry.get(access_key)
        if record is None:
            raise KeyError("no client with this access key")
        return client_identity(
            record,
            wss_url=self.wss_url,
            wss_port=self.wss_port,
            plane=self.data_plane(),
            mqtt_prefix=self._listeners.mqtt_prefix(record.access_key),
        )

    def data_plane(self) -> dict[str, Any]:
        """``data_plane_endpoints`` and ``protocols`` of this hub.

        What every identity from :meth:`identity_for` carries; the local control plane
        shows them on its hub resource.

        Returns:
            The two mappings under those keys (docs/protocol.md §1.3, §1.4).

        Raises:
            ThalovantRuntimeError: The hub's port is not known yet.
        """
        return self._listeners.data_plane()

    def client(self, access_key: str) -> ClientRecord | None:
        """The registry record of a client.

        Args:
            access_key: The client's access key.

        Returns:
            The record, or ``None`` for an unknown key.
        """
        return self.registry.get(access_key)
