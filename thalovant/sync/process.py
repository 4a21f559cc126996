"""Process hooks of the sync facade: closing every open facade at interpreter exit, and
marking every started loop thread unusable in a forked child.

Every :class:`~thalovant.sync.portal.LoopThread` registers itself here when created (held
weakly). ``atexit`` runs :func:`close_all_at_exit`, bounded by :data:`ATEXIT_TIMEOUT` seconds
in total; ``os.register_at_fork`` tells each registered loop it now lives in a child, whose
copy has no loop thread (docs/architecture.md, the blocking facade's four guards).
"""

from __future__ import annotations

import atexit
import os
import time
import weakref
from typing import Protocol

__all__ = ["ATEXIT_TIMEOUT", "ProcessBound", "abandon", "close_all_at_exit", "register"]

#: Total seconds the ``atexit`` hook spends closing every open facade.
ATEXIT_TIMEOUT = 5.0


class ProcessBound(Protocol):
    """What the hooks need of a loop thread."""

    @property
    def running(self) -> bool:
        """True while the loop thread runs."""
        ...

    def shutdown(self, timeout: float = ..., *, close: bool = ...) -> None:
        """Close the async object, then stop the loop thread (never raises)."""
        ...

    def _after_fork_in_child(self) -> None: ...


# Every loop thread alive in this process (for the fork and atexit hooks).
_LIVE: weakref.WeakSet[ProcessBound] = weakref.WeakSet()
# In a forked child: the parent's portals and loops, never to be finalized.
_ABANDONED: list[object] = []


def register(loop: ProcessBound) -> None:
    """Put ``loop`` under the exit and fork hooks (held weakly).

    Args:
        loop: A new loop thread.
    """
    _LIVE.add(loop)


def abandon(*objects: object) -> None:
    """Keep ``objects`` alive for good: in a forked child, nothing of the parent's loop may
    be finalized.

    Args:
        *objects: The parent's portal, loop, ...
    """
    _ABANDONED.append(objects)


def close_all_at_exit(timeout: float = ATEXIT_TIMEOUT) -> None:
    """Close every running facade (the ``atexit`` hook; safe to call at any time).

    Args:
        timeout: Seconds in total.
    """
    deadline = time.monotonic() + timeout
    for loop in list(_LIVE):
        if loop.running:
            loop.shutdown(max(0.1, deadline - time.monotonic()))


def _after_fork_in_child() -> None:
    for loop in list(_LIVE):
        loop._after_fork_in_child()


atexit.register(close_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
