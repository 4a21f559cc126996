"""The redial delays of the supervisor: full-jitter exponential backoff."""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["Backoff"]


class Backoff:
    """Full-jitter exponential backoff with a small floor.

    The n-th consecutive failure (``n`` from 0) waits a uniform random time between
    ``min(floor, ceiling)`` and ``ceiling = min(cap, initial * 2**n)``: the first redial comes
    after 0.5-1 s, later ones spread out up to ``cap``. Tests inject
    ``Backoff(initial=0, floor=0)`` or a fixed ``rng``.

    Args:
        initial: The first ceiling, in seconds.
        cap: The largest ceiling, in seconds.
        floor: The shortest wait, in seconds (unless the ceiling is lower).
        rng: Returns floats in [0, 1).

    Raises:
        ValueError: A negative delay.
    """

    def __init__(
        self,
        *,
        initial: float = 1.0,
        cap: float = 30.0,
        floor: float = 0.5,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if initial < 0 or cap < 0 or floor < 0:
            raise ValueError("backoff delays must not be negative")
        self.initial = initial
        self.cap = cap
        self.floor = floor
        self._rng = rng

    def delay(self, failures: int) -> float:
        """Seconds to wait before the next dial.

        Args:
            failures: Consecutive failures so far.

        Returns:
            A random delay between the floor and the ceiling for ``failures``.
        """
        ceiling = min(self.cap, self.initial * 2.0 ** min(failures, 32))
        low = min(self.floor, ceiling)
        return low + (ceiling - low) * self._rng()
