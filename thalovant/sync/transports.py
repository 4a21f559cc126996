"""The blocking transport handles of the official SDK: ``HiveMindWSSTransport``,
``HiveMindHTTPTransport`` and ``HiveMindMQTTTransport``.

Each is a carrier face (:mod:`thalovant.carriers.faces`, so it can be given as a client's
``transport=``) and a small blocking handle over a :class:`~thalovant.sync.client.ThalovantClient`
pinned to its carrier: ``connect``, ``emit_event``, ``send_hive_frame``, ``on_mycroft`` and
the rest map one-to-one onto the client, which does the handshake, encryption and redials.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from thalovant._version import DEFAULT_USER_AGENT
from thalovant.carriers.faces import (
    AsyncHiveMindHTTPTransport,
    AsyncHiveMindMQTTTransport,
    AsyncHiveMindTransport,
    AsyncHiveMindWSSTransport,
)
from thalovant.errors import ThalovantError, ThalovantRuntimeError
from thalovant.identity.model import ThalovantIdentity
from thalovant.models.types import ThalovantConnectionInfo, ThalovantHealth
from thalovant.sync.bridges import SyncSubscription
from thalovant.sync.client import ThalovantClient

__all__ = ["HiveMindHTTPTransport", "HiveMindMQTTTransport", "HiveMindWSSTransport"]

_FRAME_KINDS = ("propagate", "escalate", "broadcast")


class _TransportHandle(AsyncHiveMindTransport):
    """A blocking handle over a client pinned to this carrier.

    Args:
        identity: The client's identity.
        useragent: Stamped on every message.
        connect_timeout: Seconds to open the carrier.
        handshake_timeout: Seconds for the Noise handshake.
        send_timeout: Seconds to write one message.
        noise_state_dir: Folder of the pinned hub keys.
        **options: Further ``ThalovantClient`` options (``ssl_context``, ``self_signed``).
    """

    def __init__(
        self,
        identity: ThalovantIdentity,
        *,
        useragent: str = DEFAULT_USER_AGENT,
        connect_timeout: float = 4.0,
        handshake_timeout: float = 20.0,
        send_timeout: float = 8.0,
        noise_state_dir: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(ssl_context=options.get("ssl_context"))
        known = {k: v for k, v in options.items() if k in ("ssl_context", "self_signed")}
        self._client = ThalovantClient(
            identity,
            protocol=self.protocol,
            useragent=useragent,
            connect_timeout=connect_timeout,
            handshake_timeout=handshake_timeout,
            send_timeout=send_timeout,
            noise_state_dir=noise_state_dir,
            **known,
        )
        self._error: BaseException | None = None
        self._subs: dict[tuple[str, str, Callable[..., Any]], SyncSubscription] = {}

    def connect(self) -> None:
        """Connect (handshake included).

        Raises:
            ThalovantConnectionError: Not connected in time (also kept as :meth:`last_error`).
        """
        try:
            self._client.connect()
        except ThalovantError as exc:
            self._error = exc
            raise

    def disconnect(self) -> None:
        """Close the connection and stop the handle's thread."""
        for sub in self._subs.values():
            sub.close()
        self._subs.clear()
        self._client.close()

    def is_connected(self) -> bool:
        """True while the link is ready."""
        return self._client.is_connected

    def last_error(self) -> BaseException | None:
        """The last connect failure, if any."""
        return self._error

    def connection_info(self) -> ThalovantConnectionInfo:
        """The connection's telemetry."""
        return self._client.connection_info()

    def healthcheck(self) -> ThalovantHealth:
        """Connect if needed and report whether the link is usable."""
        return self._client.healthcheck()

    def emit_event(self, event_type: str, data: dict[str, Any], context: dict[str, Any]) -> Any:
        """Send a bus message (``ThalovantClient.emit``)."""
        self._client.emit(event_type, data, context)

    def send_hive_frame(
        self, kind: str, event_type: str, data: dict[str, Any], context: dict[str, Any]
    ) -> Any:
        """Send a ``propagate``, ``escalate`` or ``broadcast`` frame nesting a bus message.

        Raises:
            ThalovantRuntimeError: Another kind.
        """
        if kind not in _FRAME_KINDS:
            raise ThalovantRuntimeError(f"send_hive_frame sends {', '.join(_FRAME_KINDS)}")
        getattr(self._client, kind)(event_type, data, context)

    def send_hive_message(self, message: dict[str, Any], *, encrypt: bool = True) -> Any:
        """Send a HiveMind message ``{"msg_type", "payload"}`` whose payload is a bus message.

        Raises:
            ThalovantRuntimeError: ``encrypt=False`` (this SDK never sends cleartext after the
                handshake), or a message that is not a ``bus`` or mesh frame of a bus message.
        """
        if not encrypt:
            raise ThalovantRuntimeError("messages are always encrypted after the handshake")
        kind, payload = message.get("msg_type"), message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            raise ThalovantRuntimeError("send_hive_message needs a bus message payload")
        data, context = payload.get("data") or {}, payload.get("context") or {}
        if kind == "bus":
            self._client.emit(payload["type"], data, context)
        else:
            self.send_hive_frame(str(kind), payload["type"], data, context)

    def on_mycroft(self, event_name: str, handler: Callable[[Any], None]) -> None:
        """Call ``handler`` for every ``event_name`` bus event."""
        self._subs[("bus", event_name, handler)] = self._client.on(event_name, handler)

    def remove_mycroft(self, event_name: str, handler: Callable[[Any], None]) -> None:
        """Stop a handler added with :meth:`on_mycroft`."""
        sub = self._subs.pop(("bus", event_name, handler), None)
        if sub is not None:
            sub.close()

    def on_hive_message(self, msg_type: str, handler: Callable[[Any], None]) -> None:
        """Call ``handler`` for every hive message of ``msg_type``."""
        self._subs[("hive", msg_type, handler)] = self._client.on_hive(msg_type, handler)

    def remove_hive_message(self, msg_type: str, handler: Callable[[Any], None]) -> None:
        """Stop a handler added with :meth:`on_hive_message`."""
        sub = self._subs.pop(("hive", msg_type, handler), None)
        if sub is not None:
            sub.close()


class HiveMindWSSTransport(_TransportHandle, AsyncHiveMindWSSTransport):
    """The WebSocket carrier, as a blocking handle."""


class HiveMindHTTPTransport(_TransportHandle, AsyncHiveMindHTTPTransport):
    """The HTTPS polling carrier, as a blocking handle."""


class HiveMindMQTTTransport(_TransportHandle, AsyncHiveMindMQTTTransport):
    """The MQTT carrier, as a blocking handle."""
