"""Resource bounds of the local hub's listeners and sessions (issue #11, defects 7 and 8).

:class:`HubLimits` holds the knobs (``LocalHub(limits=...)``). The listeners enforce them with
a :class:`~thalovant.hub.servers.gate.ConnectionGate` each, the sessions share one
:class:`~thalovant.hub.responder.reassembly.ReassemblyPool` (docs/architecture.md, "The hub").
"""

from __future__ import annotations

from dataclasses import dataclass

from thalovant.protocol.framing import MAX_MESSAGE_BYTES

__all__ = ["HubLimits"]


@dataclass(frozen=True)
class HubLimits:
    """Bounds on what the hub's listeners and sessions hold (``LocalHub(limits=...)``).

    Connection caps apply to each listener (WSS, HTTPS, the standalone ``/v1`` server, both
    embedded-broker ports) on its own. Each field is documented below; all are keyword
    arguments of the constructor.

    Raises:
        ValueError: A timeout is not positive, or a count is below 1.
    """

    request_timeout: float = 10.0
    """Seconds from accept to the first request (TLS handshake included), and from the first
    byte of a later HTTP request to the end of its headers."""
    keepalive_timeout: float = 30.0
    """Seconds an HTTP connection may sit idle between two requests."""
    max_connections: int = 512
    """Open connections per listener."""
    max_connections_per_peer: int = 128
    """Open connections per listener from one peer address."""
    max_sessions_per_client: int = 16
    """HiveMind sessions one access key may hold over all carriers; the oldest is closed
    (1008) to make room for a new one."""
    max_reassembly_per_client: int = MAX_MESSAGE_BYTES
    """Bytes of unfinished chunked messages one access key may hold (all its sessions)."""
    max_reassembly_total: int = 2 * MAX_MESSAGE_BYTES
    """Bytes of unfinished chunked messages the whole hub holds."""
    chunk_stall_timeout: float = 15.0
    """Seconds a chunked message may go without a new chunk before the session is closed."""

    def __post_init__(self) -> None:
        for name in ("request_timeout", "keepalive_timeout", "chunk_stall_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"HubLimits.{name} must be positive")
        for name in (
            "max_connections",
            "max_connections_per_peer",
            "max_sessions_per_client",
            "max_reassembly_per_client",
            "max_reassembly_total",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"HubLimits.{name} must be at least 1")
