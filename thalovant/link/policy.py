"""How a long-lived link is kept: the retry ladder, idle probes, the refusal grace period,
and the pin policy that decides on a rotated hub key.

:class:`HubSessionPolicy` (the official name and defaults, contract §1.15) configures the
client's one :class:`~thalovant.link.supervisor.Supervisor` when a session or an agent holds
the link (``AsyncThalovantClient.keep``): there is no second reconnect loop. A
:data:`HubKeyPolicy` is asked once per changed hub key; the default (None) never accepts one.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from thalovant.errors import ThalovantRuntimeError
from thalovant.link.backoff import Backoff

__all__ = ["HubKeyChange", "HubKeyPolicy", "HubSessionPolicy", "accept_hub_keys"]


@dataclass(frozen=True)
class HubKeyChange:
    """A hub presented another static key than the one pinned (public keys, not secrets).

    Attributes:
        pin_id: What the key is pinned under (the hub's URL or endpoint base).
        pinned_key: The pinned 32-byte public key.
        presented_key: The 32-byte public key the hub presented.
    """

    pin_id: str
    pinned_key: bytes
    presented_key: bytes


#: Decides on a changed hub key: True re-pins ``presented_key`` and dials again at once;
#: False (or raising) makes the change terminal. May be async.
HubKeyPolicy = Callable[[HubKeyChange], "bool | Awaitable[bool]"]


def accept_hub_keys(*public_keys: bytes) -> HubKeyPolicy:
    """A pin policy that accepts a rotation only to one of ``public_keys`` (announced out of
    band, e.g. by the hub's operator before rotating).

    Args:
        *public_keys: The 32-byte public keys the hub may rotate to.

    Returns:
        The policy.

    Raises:
        ThalovantRuntimeError: A key that is not 32 bytes.
    """
    keys = tuple(bytes(key) for key in public_keys)
    if any(len(key) != 32 for key in keys):
        raise ThalovantRuntimeError("a hub public key is 32 bytes")

    def decide(change: HubKeyChange) -> bool:
        return any(hmac.compare_digest(change.presented_key, key) for key in keys)

    return decide


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ThalovantRuntimeError(f"{name} must be a positive number of seconds")
    if not math.isfinite(value):
        raise ThalovantRuntimeError(f"{name} must be finite")


@dataclass(frozen=True)
class HubSessionPolicy:
    """How a session or agent keeps its link (all in seconds).

    Attributes:
        retry_seconds: The first rung of the redial ladder (each wait is jittered between
            half a rung and the rung).
        retry_ceiling_seconds: The top rung; rungs double up to it.
        probe_seconds: Probe the link with a round trip after this long without a frame.
        probe_down_seconds: Declare the link down when a probe gets no answer this long.
        refusal_grace_seconds: Keep redialing through credential refusals this long (e.g. a
            hub restoring its client list), then stop in the terminal ``failed`` state.
        hub_key_policy: Decides on a rotated hub key (None: never accept; a changed key is
            terminal at once).

    Raises:
        ThalovantRuntimeError: A value that is not a positive finite number, or a ceiling
            below the first rung.
    """

    retry_seconds: float = 10.0
    retry_ceiling_seconds: float = 120.0
    probe_seconds: float = 60.0
    probe_down_seconds: float = 5.0
    refusal_grace_seconds: float = 600.0
    hub_key_policy: HubKeyPolicy | None = None

    def __post_init__(self) -> None:
        for name in (
            "retry_seconds",
            "retry_ceiling_seconds",
            "probe_seconds",
            "probe_down_seconds",
            "refusal_grace_seconds",
        ):
            _positive(name, getattr(self, name))
        if self.retry_ceiling_seconds < self.retry_seconds:
            raise ThalovantRuntimeError("retry_ceiling_seconds must not be below retry_seconds")

    def next_wait(self, current: float) -> float:
        """The next rung of the ladder.

        Args:
            current: The current rung (0 or less: none yet).

        Returns:
            ``retry_seconds`` first, then double the current rung, at most the ceiling.
        """
        if current <= 0:
            return self.retry_seconds
        return min(self.retry_ceiling_seconds, current * 2.0)

    def rung(self, failures: int) -> float:
        """The longest wait before the redial after ``failures`` consecutive failures.

        Args:
            failures: Consecutive failed attempts (0 right after a drop).

        Returns:
            ``min(ceiling, retry_seconds * 2**failures)``.
        """
        return min(self.retry_ceiling_seconds, self.retry_seconds * 2.0 ** min(failures, 32))

    def backoff(self) -> Backoff:
        """The supervisor's backoff for this ladder.

        Returns:
            Full jitter between half a rung and the rung.
        """
        return Backoff(
            initial=self.retry_seconds,
            cap=self.retry_ceiling_seconds,
            floor=self.retry_seconds / 2.0,
        )
