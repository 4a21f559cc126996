"""The state of a ``ThalovantClient``: snapshot reads of its async twin, no loop hop
(``connection_info`` excepted, which reads on the loop).

A mixin of :class:`~thalovant.sync.client.ThalovantClient`, mirroring
:mod:`thalovant.client.status` (docs/architecture.md, the blocking facade).
"""

from __future__ import annotations

from thalovant.client.client import AsyncThalovantClient
from thalovant.client.options import ClientOptions
from thalovant.identity.model import ThalovantIdentity
from thalovant.link.supervisor import Backoff
from thalovant.models.types import ThalovantConnectionInfo
from thalovant.sync.portal import LoopThread

__all__ = ["StatusMethods"]


class StatusMethods:
    """State properties and ``connection_info`` of the blocking client."""

    _async: AsyncThalovantClient
    _loop: LoopThread

    @property
    def identity(self) -> ThalovantIdentity:
        """The client's identity."""
        return self._async.identity

    @property
    def protocol(self) -> str:
        """The carrier chosen at construction (``wss``, ``https`` or ``mqtt``)."""
        return self._async.protocol

    @property
    def options(self) -> ClientOptions:
        """The connection options (read-only)."""
        return self._async.options

    @property
    def max_buffered_events(self) -> int:
        """Default buffer of each subscription."""
        return self._async.max_buffered_events

    @property
    def reconnect_backoff(self) -> Backoff:
        """The redial backoff; replace it before connecting."""
        return self._async.reconnect_backoff

    @reconnect_backoff.setter
    def reconnect_backoff(self, backoff: Backoff) -> None:
        self._async.reconnect_backoff = backoff

    @property
    def state(self) -> str:
        """``idle``, ``connecting``, ``ready``, ``backoff`` or ``closed``."""
        return self._async.state

    @property
    def is_connected(self) -> bool:
        """True while a link is ready."""
        return self._async.is_connected

    @property
    def session_id(self) -> str | None:
        """The current connection's session id, if connected."""
        return self._async.session_id

    @property
    def redials(self) -> int:
        """How many times the link came back after a drop."""
        return self._async.redials

    @property
    def last_error(self) -> str | None:
        """The last connection error (scrubbed); None if none yet."""
        return self._async.last_error

    def connection_info(self) -> ThalovantConnectionInfo:
        """The connection's telemetry.

        Returns:
            Phase, timings, Noise pattern and the last error (scrubbed).
        """
        return self._loop.call(self._async.connection_info)
