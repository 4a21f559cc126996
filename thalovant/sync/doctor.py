"""The blocking ``doctor`` of ``ThalovantClient``.

A mixin of :class:`~thalovant.sync.client.ThalovantClient`: one call of its async twin
(:mod:`thalovant.client.doctor`) through the client's loop thread.
"""

from __future__ import annotations

from thalovant.client.client import AsyncThalovantClient
from thalovant.models.doctor import ThalovantDoctorReport
from thalovant.sync.portal import LoopThread

__all__ = ["DoctorMethods"]


class DoctorMethods:
    """``doctor`` of the blocking client."""

    _async: AsyncThalovantClient
    _loop: LoopThread

    def doctor(
        self, *, timeout: float = 10.0, utterance: str = "hello", round_trip: bool = True
    ) -> ThalovantDoctorReport:
        """Diagnose the way to the hub, step by step (``AsyncThalovantClient.doctor``).

        Args:
            timeout: Seconds per network step (the handshake gets at least 25).
            utterance: What the round-trip check asks.
            round_trip: Whether to ask at all.

        Returns:
            The report; never raises for a failed step.
        """
        return self._loop.call(
            self._async.doctor, timeout=timeout, utterance=utterance, round_trip=round_trip
        )
