"""``HubSessionState``: one state of a session's link, as its callbacks and waiters see it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PHASES", "HubSessionState"]

#: Phases a session reports (the client supervisor's states).
PHASES = ("idle", "connecting", "ready", "backoff", "refused", "failed", "closed")


@dataclass(frozen=True, eq=False)
class HubSessionState:
    """One state of a session's link.

    Truthy exactly while the link is held (``phase == "ready"``) and equal to that ``bool``,
    so a callback written for the official ``on_state_change(Callable[[bool], Any])`` works
    unchanged; it also equals its ``phase`` string.

    Attributes:
        phase: ``idle``, ``connecting``, ``ready``, ``backoff`` (waiting to redial),
            ``refused`` (credentials refused, redialing within the grace period), ``failed``
            (terminal: grace over, or a hub key change the pin policy refused) or ``closed``.
        error: The last error (scrubbed), if any.
        since: The session clock's time of the change.
    """

    phase: str
    error: str | None = None
    since: float = 0.0

    @property
    def held(self) -> bool:
        """True while the link is up."""
        return self.phase == "ready"

    @property
    def terminal(self) -> bool:
        """True in ``failed`` and ``closed``: no redial comes by itself."""
        return self.phase in ("failed", "closed")

    def __bool__(self) -> bool:
        return self.held

    def __eq__(self, other: object) -> bool:
        if isinstance(other, bool):
            return self.held is other
        if isinstance(other, str):
            return self.phase == other
        if isinstance(other, HubSessionState):
            return (self.phase, self.error) == (other.phase, other.error)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.phase)
