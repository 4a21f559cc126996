"""When the HTTPS carrier polls, and the replica cookie it keeps (sans-I/O, no aiohttp).

The official carrier polls both mailboxes at a fixed 10 Hz (about 1200 requests a minute, busy
or idle). :class:`PollSchedule` instead polls at once after every send and after every poll
that returned frames, polls every ``fast_interval`` while a sent frame has had no answer yet
(at most ``reply_window`` seconds), and otherwise backs off geometrically to ``idle_interval``.
An idle link therefore costs ``60 / idle_interval`` requests a minute (60 by default).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REPLICA_COOKIE", "PollSchedule", "PollSettings", "ReplicaAffinity"]

#: Cookie a replicated hub sets so later requests reach the same replica (docs/protocol.md §5.1).
REPLICA_COOKIE = "hivemind_http_replica"


@dataclass(frozen=True)
class PollSettings:
    """Tuning of the HTTPS carrier (all in seconds).

    ``fast_interval``: first delay after an empty poll; ``busy_interval``: longest delay while
    a sent frame awaits an answer (for ``reply_window`` after the send); ``idle_interval``:
    longest delay when idle (the back-off bound); ``growth``: back-off factor per empty poll;
    ``request_timeout``: bound of each poll and ``/disconnect`` request.
    """

    fast_interval: float = 0.01
    busy_interval: float = 0.1
    idle_interval: float = 1.0
    growth: float = 1.5
    reply_window: float = 15.0
    request_timeout: float = 8.0

    def __post_init__(self) -> None:
        if not 0 < self.fast_interval <= self.busy_interval <= self.idle_interval:
            raise ValueError("need 0 < fast_interval <= busy_interval <= idle_interval")
        if self.growth < 1 or self.reply_window < 0 or self.request_timeout <= 0:
            raise ValueError("need growth >= 1, reply_window >= 0 and request_timeout > 0")


class ReplicaAffinity:
    """The ``hivemind_http_replica`` cookie of one client, kept across its reconnects."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: str | None = None

    def __repr__(self) -> str:
        return f"<ReplicaAffinity {'set' if self.value else 'unset'}>"


class PollSchedule:
    """Decides the delay before the next poll; time is passed in (``anyio.current_time``).

    Args:
        settings: Back-off bounds (default :class:`PollSettings`).
    """

    def __init__(self, settings: PollSettings | None = None) -> None:
        self.settings = settings or PollSettings()
        self._due = True  # the first poll goes out at once
        self._empty = 0  # empty polls since the last activity
        self._last_send = -float("inf")
        self._last_frame = -float("inf")

    @property
    def awaiting(self) -> bool:
        """A frame was sent and nothing has arrived since."""
        return self._last_send > self._last_frame

    def sent(self, now: float) -> None:
        """A frame reached the hub: poll at once, and stay quick until something arrives.

        Args:
            now: The current time.
        """
        self._last_send = now
        self._due = True
        self._empty = 0

    def polled(self, now: float, frames: int) -> None:
        """A poll returned (more may follow at once if it returned any).

        Args:
            now: The current time.
            frames: How many frames it returned.
        """
        if frames:
            self._last_frame = now
            self._due = True
            self._empty = 0
        else:
            self._empty += 1

    def next_delay(self, now: float) -> float:
        """Seconds to wait before the next poll; consumes a pending "due".

        Args:
            now: The current time.

        Returns:
            0 to poll now, else the back-off delay (quick while a reply is awaited).
        """
        if self._due:
            self._due = False
            return 0.0
        settings = self.settings
        busy = self.awaiting and now - self._last_send < settings.reply_window
        bound = settings.busy_interval if busy else settings.idle_interval
        # growth ** n overflows for huge n; the bound is reached long before n = 200.
        delay = settings.fast_interval * settings.growth ** min(self._empty - 1, 200)
        return float(min(bound, max(settings.fast_interval, delay)))
