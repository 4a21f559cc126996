"""Holding the link of an ``AsyncThalovantClient`` for a long-lived session or agent.

A mixin: :class:`~thalovant.client.client.AsyncThalovantClient` inherits ``keep``,
``on_link_state`` and ``link_failure``. They configure and watch the client's one
:class:`~thalovant.link.supervisor.Supervisor` (the one state machine of the connection:
there is no second reconnect loop); :class:`~thalovant.agent.session.AsyncHubSession` and
:class:`~thalovant.agent.agent.AsyncThalovantAgent` are built on them. Loop-bound: the
blocking forms are ``HubSession`` and ``ThalovantAgent``.
"""

from __future__ import annotations

from collections.abc import Callable

from thalovant.client.runtime import ClientRuntime, OriginRoute
from thalovant.errors import ThalovantError
from thalovant.link.policy import HubSessionPolicy
from thalovant.link.supervisor import StateListener

__all__ = ["KeepingMethods"]


class KeepingMethods:
    """``keep``, ``on_link_state`` and ``link_failure`` of the async client."""

    _runtime: ClientRuntime

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
