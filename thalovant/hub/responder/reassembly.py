"""The hub's memory for unfinished chunked messages (issue #11, defect 8).

One :class:`ReassemblyPool` per hub: ``total`` bytes for everyone, at most ``per_client`` for
one access key over all of its sessions. Each session's
:class:`~thalovant.protocol.framing.Reassembler` draws on it through
:meth:`ReassemblyPool.for_client` (docs/protocol.md §2.4).
"""

from __future__ import annotations

import logging

from thalovant.protocol.framing import MAX_MESSAGE_BYTES

__all__ = ["ReassemblyPool"]

logger = logging.getLogger("thalovant.hub.limits")


class ReassemblyPool:
    """The hub's memory for unfinished chunked messages: ``total`` bytes for everyone, at most
    ``per_client`` of it for one access key (over all of its sessions)."""

    def __init__(
        self, total: int = 2 * MAX_MESSAGE_BYTES, per_client: int = MAX_MESSAGE_BYTES
    ) -> None:
        self.total = total
        self.per_client = per_client
        self.used = 0
        """Bytes held right now."""
        self.refusals = 0
        """Chunks refused for lack of room (for measurements)."""
        self._by_client: dict[str, int] = {}

    def for_client(self, access_key: str) -> _ClientBudget:
        """The :class:`~thalovant.protocol.framing.ReassemblyBudget` of one session."""
        return _ClientBudget(self, access_key)

    def reserve(self, access_key: str, size: int) -> bool:
        mine = self._by_client.get(access_key, 0)
        if self.used + size > self.total or mine + size > self.per_client:
            self.refusals += 1
            if self.used + size > self.total:
                logger.warning(
                    "reassembly memory of the hub is full (%d of %d bytes): "
                    "closing a session that sent a chunk",
                    self.used,
                    self.total,
                )
            return False
        self.used += size
        self._by_client[access_key] = mine + size
        return True

    def release(self, access_key: str, size: int) -> None:
        self.used = max(0, self.used - size)
        left = self._by_client.get(access_key, 0) - size
        if left > 0:
            self._by_client[access_key] = left
        else:
            self._by_client.pop(access_key, None)


class _ClientBudget:
    __slots__ = ("_key", "_pool")

    def __init__(self, pool: ReassemblyPool, access_key: str) -> None:
        self._pool = pool
        self._key = access_key

    def reserve(self, size: int) -> bool:
        return self._pool.reserve(self._key, size)

    def release(self, size: int) -> None:
        self._pool.release(self._key, size)
