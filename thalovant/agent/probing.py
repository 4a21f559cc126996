"""The official probe and retry members of a hub session: ``probe``, ``probe_delay``,
``retry_at`` and ``retry_wait``.

A mixin of :class:`~thalovant.agent.session.AsyncHubSession` (and so, one call away, of the
blocking ``HubSession``). There is no second loop behind them: they read and nudge the client's
one supervisor (``client.keep_timing``, ``client.probe_link``), which probes an idle link every
``probe_seconds`` and redials on the policy's ladder by itself. ``probe()`` only does now what
the supervisor would do later: one round trip on a held link, or the redial at once when the
link is down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from thalovant.agent.state import HubSessionState
from thalovant.client.client import AsyncThalovantClient
from thalovant.client.options import DEFAULT_CONNECT_TIMEOUT
from thalovant.link.policy import HubSessionPolicy

__all__ = ["ProbingMethods"]


class ProbingMethods:
    """``probe``, ``probe_delay``, ``retry_at`` and ``retry_wait`` of a session."""

    policy: HubSessionPolicy
    _client: AsyncThalovantClient | None
    _clock: Callable[[], float]
    _closed: bool
    _state: HubSessionState

    if TYPE_CHECKING:

        async def _ensure(self) -> AsyncThalovantClient: ...

    async def probe(self, timeout: float | None = None) -> bool:
        """Check the link now instead of at the next idle probe or redial.

        Held: one round trip with the hub (a WebSocket ping, the next HTTPS poll, an MQTT QoS 1
        publish); no answer within ``policy.probe_down_seconds`` drops the link as a silent
        peer, and the session redials on its ladder. Not held (waiting to redial, refused
        within the grace period, not yet connected): dial now, skipping the rest of the wait; a
        failure climbs the ladder as any failed redial. Terminal (``failed``, ``closed``):
        nothing. Never raises for a connection failure: :attr:`state` tells it.

        Args:
            timeout: Seconds the dial may take when the link is down (default 25).

        Returns:
            True when the link is held afterwards.
        """
        if self._closed or self._state.phase in ("failed", "closed"):
            return False
        client = await self._ensure()
        return await client.probe_link(
            down=self.policy.probe_down_seconds,
            connect_timeout=DEFAULT_CONNECT_TIMEOUT if timeout is None else timeout,
        )

    def probe_delay(self) -> float:
        """Seconds until the session next checks the link by itself.

        Returns:
            While held, the time left until the idle probe (``probe_seconds`` after the last
            frame from the hub); while a redial is scheduled, the time left until it; else
            (dialing, not started, terminal) ``policy.probe_down_seconds``, the official
            cadence while the link is down.
        """
        timing = self._client.keep_timing() if self._client is not None else None
        if timing is not None and timing.quiet_seconds is not None and self._state.held:
            return max(0.0, self.policy.probe_seconds - timing.quiet_seconds)
        if timing is not None and timing.redial_in is not None:
            return timing.redial_in
        return self.policy.probe_down_seconds

    @property
    def retry_at(self) -> float | None:
        """When the scheduled redial is due, on the session's clock (None: none is
        scheduled, e.g. while held, dialing or terminal)."""
        client = self._client
        wait = client.keep_timing().redial_in if client is not None else None
        return None if wait is None else self._clock() + wait

    @property
    def retry_wait(self) -> float:
        """The current rung of the retry ladder, in seconds: ``retry_seconds`` while the link
        is held or just dropped, doubling with every consecutive failed attempt up to
        ``retry_ceiling_seconds``. A scheduled redial waits a jittered time between half this
        rung and the rung."""
        client = self._client
        failures = client.keep_timing().failures if client is not None else 0
        return self.policy.rung(failures)
