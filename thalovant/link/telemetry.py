"""The record of one client's connection life, read as ThalovantConnectionInfo."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from thalovant.models.types import ConnectionPhase, ThalovantConnectionInfo

__all__ = ["ConnectionTelemetry"]


class ConnectionTelemetry:
    """Mutable record of the client's connection life (phase, timings, last error).

    Args:
        protocol: The protocol the client connects over.
    """

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self.phase: ConnectionPhase = "idle"
        self.started_at: float | None = None
        self.connected_at: float | None = None
        self.transport_open_ms: float | None = None
        self.handshake_ms: float | None = None
        self.connect_ms: float | None = None
        self.last_error: str | None = None
        self.pattern: str | None = None
        # long-run figures (issue #15): kept across redials and closes
        self.redials = 0
        self.refusals = 0
        self._up_since: float | None = None

    def begin(self) -> None:
        """A new connect attempt starts."""
        self.phase = "connecting"
        self.started_at = time.time()
        self.connected_at = self.transport_open_ms = self.handshake_ms = None
        self.connect_ms = None

    def fail(self, exc: BaseException) -> None:
        """The attempt or link ended.

        Args:
            exc: What ended it (kept as ``"<type>: <text>"``).
        """
        self.phase = "error"
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._up_since = None

    def ready(self) -> None:
        """The link is up."""
        self.phase = "ready"
        self._up_since = time.monotonic()
        self.connected_at = time.time()
        if self.started_at is not None:
            self.connect_ms = round((self.connected_at - self.started_at) * 1000.0, 3)

    def info(self) -> ThalovantConnectionInfo:
        """A snapshot.

        Returns:
            The connection's phase, timings and last error.
        """
        return ThalovantConnectionInfo(
            phase=self.phase,
            protocol=self.protocol,
            started_at=_iso(self.started_at),
            connected_at=_iso(self.connected_at),
            transport_open_ms=self.transport_open_ms,
            socket_open_ms=self.transport_open_ms,
            handshake_ms=self.handshake_ms,
            connect_ms=self.connect_ms,
            last_error=self.last_error,
            pattern=self.pattern,
            redials=self.redials,
            refusals=self.refusals,
            uptime_seconds=self.uptime(),
        )

    def uptime(self) -> float | None:
        """Seconds the current link has been up (None while no link is up)."""
        if self._up_since is None or self.phase != "ready":
            return None
        return round(time.monotonic() - self._up_since, 3)


def _iso(epoch: float | None) -> str | None:
    """An epoch time as the official ISO 8601 UTC text."""
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).isoformat()
