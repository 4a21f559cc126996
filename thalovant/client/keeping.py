"""Holding the link of an ``AsyncThalovantClient`` for a long-lived session or agent.

A mixin: :class:`~thalovant.client.client.AsyncThalovantClient` inherits ``keep``,
``on_link_state``, ``link_failure``, ``keep_timing`` and ``probe_link``. They configure and
watch the client's one :class:`~thalovant.link.supervisor.Supervisor` (the one state machine
of the connection: there is no second reconnect loop);
:class:`~thalovant.agent.session.AsyncHubSession` and
:class:`~thalovant.agent.agent.AsyncThalovantAgent` are built on them. Loop-bound (except
``keep_timing``, plain reads): the blocking forms are ``HubSession`` and ``ThalovantAgent``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from thalovant.client.runtime import ClientRuntime, OriginRoute
from thalovant.errors import ThalovantError
from thalovant.link.policy import HubSessionPolicy
from thalovant.link.supervisor import StateListener

__all__ = ["KeepTiming", "KeepingMethods"]


@dataclass(frozen=True)
class KeepTiming:
    """Where a held link stands in time (a snapshot; see ``keep_timing``).

    Attributes:
        quiet_seconds: Seconds since the ready link last heard from the hub (None: no ready
            link).
        redial_in: Seconds until the scheduled redial (None: none is scheduled).
        failures: Consecutive failed attempts (0 after a ready link or a drop).
    """

    quiet_seconds: float | None
    redial_in: float | None
    failures: int


class KeepingMethods:
    """``keep``, ``on_link_state`` and ``link_failure`` of the async client."""

    _runtime: ClientRuntime

    if TYPE_CHECKING:

        async def connect(self, timeout: float | None = None) -> None: ...

    def keep(self, policy: HubSessionPolicy | None, *, origin: OriginRoute | None = None) -> None:
        """Hold the link with ``policy``: redial every failed attempt on its ladder (the first
        included), probe an idle link, ride out refusals for its grace period, and let its pin
        policy decide on a rotated hub key. Takes effect at once, also on a running link's
        next redial; ``None`` goes back to redialing only after drops.

        Args:
            policy: The policy (replaces the redial backoff with its ladder), or None.
            origin: Dial through a preferred (LAN) origin first, e.g. an
                ``OriginPreference``.
        """
        self._runtime.hold(policy, origin)

    def on_link_state(self, listener: StateListener) -> Callable[[], None]:
        """Call ``listener`` (on the loop, synchronously: keep it short) with every new
        connection state: ``connecting``, ``ready``, ``backoff``, ``refused``, ``failed``,
        ``idle``, ``closed``. Survives closes and reconnects.

        Args:
            listener: A plain function of the new state.

        Returns:
            A function that removes the listener.
        """
        listeners = self._runtime.state_listeners
        listeners.append(listener)

        def remove() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return remove

    @property
    def link_failure(self) -> ThalovantError | None:
        """What put a held link in the terminal ``failed`` state (None otherwise)."""
        sup = self._runtime.supervisor
        return sup.failure if sup is not None and sup.state == "failed" else None

    def keep_timing(self) -> KeepTiming:
        """Where the link stands in time: quiet since, next redial, failures (plain reads,
        fine from any thread).

        Returns:
            The snapshot.
        """
        sup = self._runtime.supervisor
        if sup is None:
            return KeepTiming(None, None, 0)
        link = sup.link
        quiet = None if link is None else max(0.0, time.monotonic() - link.last_heard)
        return KeepTiming(quiet, sup.retry_in, sup.failures)

    async def probe_link(self, *, down: float, connect_timeout: float) -> bool:
        """Check the link now: probe a ready link with one round trip (no answer within
        ``down`` drops it, and a held link redials on its ladder), or dial now when it is
        down (skipping the rest of a backoff wait; a failure counts as any failed attempt).
        Does nothing in the terminal ``failed`` state or once closed.

        Args:
            down: Seconds a probe may go unanswered.
            connect_timeout: Seconds a dial may take.

        Returns:
            True when the link is up afterwards.
        """
        sup = self._runtime.supervisor
        if sup is not None and (sup.closed or sup.state == "failed"):
            return False
        link = sup.link if sup is not None else None
        if link is not None:
            return await link.check(down)
        try:
            await self.connect(connect_timeout)
        except ThalovantError:
            return False
        return True
