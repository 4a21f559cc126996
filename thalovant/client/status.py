"""The state of an ``AsyncThalovantClient``: its bus, redial backoff, connection state,
session id, redial count and connection telemetry.

A mixin: :class:`~thalovant.client.client.AsyncThalovantClient` inherits these reads, all
snapshots of its :class:`~thalovant.client.runtime.ClientRuntime` (docs/protocol.md §11,
docs/architecture.md).
"""

from __future__ import annotations

from thalovant.bus.bus import EventBus
from thalovant.client.runtime import ClientRuntime
from thalovant.link.supervisor import Backoff
from thalovant.models.types import ThalovantConnectionInfo

__all__ = ["StatusMethods"]


class StatusMethods:
    """State properties and ``connection_info`` of the async client."""

    _runtime: ClientRuntime

    @property
    def bus(self) -> EventBus:
        """The client's event bus (subscriptions and in-flight requests)."""
        return self._runtime.bus

    @property
    def reconnect_backoff(self) -> Backoff:
        """The redial backoff; replace it before connecting (e.g. no delays in tests)."""
        return self._runtime.backoff

    @reconnect_backoff.setter
    def reconnect_backoff(self, backoff: Backoff) -> None:
        self._runtime.backoff = backoff

    @property
    def state(self) -> str:
        """``idle``, ``connecting``, ``ready``, ``backoff`` (waiting to redial) or ``closed``."""
        sup = self._runtime.supervisor
        if sup is None:
            return "closed" if self._runtime.generation else "idle"
        return sup.state

    @property
    def is_connected(self) -> bool:
        """True while a link is ready."""
        return self._runtime.link is not None

    @property
    def session_id(self) -> str | None:
        """The current connection's session id (from its HELLO), if connected."""
        link = self._runtime.link
        return link.session_id if link is not None else None

    @property
    def redials(self) -> int:
        """How many times the link came back after a drop (since the last connect)."""
        sup = self._runtime.supervisor
        return sup.redials if sup is not None else 0

    @property
    def last_error(self) -> str | None:
        """The last connection error (scrubbed), read without awaiting; None if none yet."""
        return self._runtime.telemetry.last_error

    async def connection_info(self) -> ThalovantConnectionInfo:
        """The connection's telemetry.

        Returns:
            Phase, timings, Noise pattern and the last error (scrubbed).
        """
        return self._runtime.telemetry.info()
