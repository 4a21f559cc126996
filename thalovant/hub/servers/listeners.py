"""The hub's listeners as one set: WSS, HTTPS polling and MQTT (embedded broker or external).

:class:`Listeners` builds the servers :class:`~thalovant.hub.LocalHub` runs, starts them in
order (WSS, HTTPS, then the MQTT side: broker for the hub, hub client, broker for clients),
stops, kills and drops them together, and answers where each one is: the URLs and ports that
go into a client's identity (docs/protocol.md §1.3, §1.4; docs/architecture.md, "The hub").
"""

from __future__ import annotations

import secrets
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio

from thalovant.errors import ThalovantRuntimeError
from thalovant.hub.limits import HubLimits
from thalovant.hub.responder.session import HubServices
from thalovant.hub.servers.broker import BrokerAccount, EmbeddedBroker
from thalovant.hub.servers.http import HTTPServer
from thalovant.hub.servers.mqtt import MQTTHubServer
from thalovant.hub.servers.wss import WSSServer
from thalovant.hub.state.registry import ClientRegistry

__all__ = ["Listeners"]


class Listeners:
    """The listening side of one hub (see the module docstring).

    Args:
        services: What every session needs (keys, registry, dispatcher, limits).
        registry: The client registry (carrier authentication, broker accounts).
        host: The address to listen on.
        wss_port: The WebSocket port (``0``: any free port).
        https_port: The HTTPS polling port (``0``: any free port, ``None``: no HTTPS).
        ssl_context: The server TLS context (``None``: plain ``ws://``/``http://``).
        handshake_timeout: Seconds a client has for the Noise handshake.
        close_timeout: Seconds connections get to finish when stopping.
        mqtt_broker: ``"embedded"``, a broker URL with the hub account, or ``None``.
        mqtt_port: The embedded broker's client port (``0``: any free port).
        mqtt_client_url: The broker URL clients use (external broker; ``None``: the broker
            URL without userinfo).
        mqtt_topic_prefix: The topic prefix; each client gets ``<prefix>/<access key>``.
        limits: Connection caps and deadlines of every listener.
    """

    def __init__(
        self,
        services: HubServices,
        registry: ClientRegistry,
        *,
        host: str,
        wss_port: int,
        https_port: int | None,
        ssl_context: ssl.SSLContext | None,
        handshake_timeout: float,
        close_timeout: float,
        mqtt_broker: str | None,
        mqtt_port: int,
        mqtt_client_url: str | None,
        mqtt_topic_prefix: str,
        limits: HubLimits,
    ) -> None:
        self._services = services
        self._registry = registry
        self._host = host
        self._ssl = ssl_context
        self._limits = limits
        self._close_timeout = close_timeout
        self.wss = WSSServer(
            services,
            lookup=registry.get,
            host=host,
            port=wss_port,
            ssl_context=ssl_context,
            handshake_timeout=handshake_timeout,
            limits=limits,
        )
        """The WebSocket carrier's server."""
        self.http = (
            None
            if https_port is None
            else HTTPServer(
                services,
                lookup=registry.get,
                host=host,
                port=https_port,
                ssl_context=ssl_context,
                handshake_timeout=handshake_timeout,
                limits=limits,
            )
        )
        """The HTTPS carrier's server (``None`` without HTTPS)."""
        self.broker: EmbeddedBroker | None = None
        """The in-process broker when ``mqtt_broker="embedded"``."""
        self.mqtt: MQTTHubServer | None = None
        """The hub's MQTT side (``None`` without MQTT)."""
        self._mqtt_client_url = mqtt_client_url
        self._hub_account: tuple[str, str] = ("", "")
        if mqtt_broker is not None:
            self._setup_mqtt(mqtt_broker, mqtt_port, mqtt_topic_prefix, handshake_timeout)

    def _setup_mqtt(self, broker: str, port: int, prefix: str, handshake_timeout: float) -> None:
        hub_user: str | None
        hub_password: str | None
        if broker == "embedded":
            self._hub_account = (f"hub-{secrets.token_hex(6)}", secrets.token_urlsafe(24))
            hub_user, hub_password = self._hub_account
            self.broker = EmbeddedBroker(
                self._broker_account,
                host=self._host,
                client_port=port,
                ssl_context=self._ssl,
                limits=self._limits,
            )
            url = "mqtt://placeholder"  # the hub port is known once the broker runs
        else:
            parts = urlsplit(broker)
            hub_user = unquote(parts.username) if parts.username else None
            hub_password = unquote(parts.password) if parts.password else None
            url = broker
            if self._mqtt_client_url is None:
                host = parts.hostname or ""
                host = f"[{host}]" if ":" in host else host
                netloc = f"{host}:{parts.port}" if parts.port else host
                self._mqtt_client_url = f"{parts.scheme}://{netloc}"
        self.mqtt = MQTTHubServer(
            self._services,
            lookup=self._registry.get,
            broker_url=url,
            username=hub_user,
            password=hub_password,
            topic_prefix=prefix,
            registered=lambda: [r.access_key for r in self._registry.records()],
            handshake_timeout=handshake_timeout,
        )

    def _broker_account(self, username: str) -> BrokerAccount | None:
        if username == self._hub_account[0]:
            return BrokerAccount(username, self._hub_account[1])
        record = self._registry.by_mqtt_username(username)
        if record is None or record.mqtt_password is None or self.mqtt is None:
            return None
        prefix = self.mqtt.client_prefix(record.access_key)
        return BrokerAccount(username, record.mqtt_password, prefix)

    # ------------------------------------------------------------------------ facts

    @property
    def wss_url(self) -> str:
        """``wss://<host>:<port>`` (``ws://`` without an SSL context)."""
        return self.wss.url

    @property
    def wss_port(self) -> int:
        """The WebSocket port (the bound one once running)."""
        return self.wss.port

    @property
    def https_url(self) -> str | None:
        """The HTTPS base URL; ``None`` without HTTPS."""
        return self.http.url if self.http is not None else None

    @property
    def https_port(self) -> int | None:
        """The HTTPS port (the bound one once running); ``None`` without HTTPS."""
        return self.http.port if self.http is not None else None

    @property
    def mqtt_url(self) -> str | None:
        """The broker URL clients use (``mqtts://`` with TLS), or ``None`` without MQTT."""
        if self.mqtt is None:
            return None
        if self.broker is not None:
            return self.broker.client_url if self.broker.client_port else None
        return self._mqtt_client_url

    @property
    def mqtt_port(self) -> int:
        """The embedded broker's client port (0 for an external broker or before start)."""
        return self.broker.client_port if self.broker is not None else 0

    def mqtt_prefix(self, access_key: str) -> str | None:
        """The topic prefix of one client (``None`` without MQTT)."""
        return self.mqtt.client_prefix(access_key) if self.mqtt is not None else None

    def require_url(self) -> str:
        """The WebSocket URL, once its port is known.

        Returns:
            ``wss_url``.

        Raises:
            ThalovantRuntimeError: The port is not known yet (not started, no fixed port).
        """
        if self.wss_port == 0:
            raise ThalovantRuntimeError(
                "the hub's port is not known yet: start the hub first, or pass wss_port"
            )
        return self.wss_url

    def data_plane(self) -> dict[str, Any]:
        """``data_plane_endpoints`` and ``protocols`` of these listeners.

        Returns:
            The two mappings under those keys (docs/protocol.md §1.3, §1.4).

        Raises:
            ThalovantRuntimeError: The WebSocket port is not known yet.
        """
        url = self.require_url()
        endpoints: dict[str, str] = {"wss": url}
        protocols = {"wss": True, "http": False, "mqtt": False}
        if self.https_url is not None and self.https_port:  # known once bound (or fixed)
            endpoints["https"] = self.https_url
            protocols["http"] = True
        mqtt_url = self.mqtt_url
        if self.mqtt is not None and mqtt_url is not None:
            endpoints["mqtt"] = mqtt_url
            protocols["mqtt"] = True
        return {"data_plane_endpoints": endpoints, "protocols": protocols}

    # -------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start every listener; on a failure, stop the ones already started and re-raise."""
        await self.wss.start()
        try:
            if self.http is not None:
                await self.http.start()
            await self._start_mqtt()
        except BaseException:
            await self.wss.aclose(self._close_timeout)
            if self.http is not None:
                await self.http.aclose(self._close_timeout)
            raise

    async def _start_mqtt(self) -> None:
        if self.mqtt is None:
            return
        if self.broker is not None:
            await self.broker.start(serve_clients=False)
            self.mqtt.set_broker_url(self.broker.hub_url)
        try:
            await self.mqtt.start()
            if self.broker is not None:
                await self.broker.serve_clients()
        except BaseException:
            if self.broker is not None:
                await self.broker.aclose()
            raise

    async def aclose(self) -> None:
        """Stop: MQTT first, then WSS and HTTPS together within ``close_timeout``."""
        if self.mqtt is not None:
            await self.mqtt.aclose()
        if self.broker is not None:
            await self.broker.aclose()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.wss.aclose, self._close_timeout)
            if self.http is not None:
                tg.start_soon(self.http.aclose, self._close_timeout)

    def kill(self) -> None:
        """Stop listening and abort every connection without a close frame."""
        self.wss.kill()
        if self.mqtt is not None:
            self.mqtt.kill()
        if self.broker is not None:
            self.broker.kill()
        if self.http is not None:
            self.http.kill()

    async def drop_connections(self, code: int, reason: str) -> None:
        """Close every open connection on every carrier with ``code`` and ``reason``."""
        await self.wss.drop_connections(code, reason)
        if self.mqtt is not None:
            await self.mqtt.drop_connections(code, reason)
        if self.http is not None:
            await self.http.drop_connections(code, reason)
