"""One connection of the HTTPS polling carrier: posted frames in, two mailboxes out.

A :class:`HTTPConnection` is an access key plus a ``hivemind_http_replica`` cookie value
(:mod:`thalovant.hub.servers.http`); its session's writer queues frames in a bounded mailbox
(cleartext or binary, :data:`MAX_MAILBOX` each) until a poll takes up to :data:`MAX_BATCH`
of them; an empty poll is held briefly while an answer is likely (docs/protocol.md §5.1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.lowlevel

from thalovant.hub.state.registry import ClientRecord

__all__ = ["MAX_BATCH", "MAX_MAILBOX", "HTTPConnection"]

MAX_MAILBOX = 256
"""Frames a connection's outbound mailbox holds before the session's writer waits."""
MAX_BATCH = 64
"""Most frames one poll returns."""
_COALESCE_TURNS = 8  # event-loop turns a woken poll yields so a reply's frames share it


@dataclass(eq=False)
class HTTPConnection:
    """One client admission: its session task, inbox of posted frames, two mailboxes."""

    client: ClientRecord
    cookie: str
    peer: str
    # Posted frames in order, each with its request's done event (None but on its last).
    inbound: list[tuple[str | bytes, anyio.Event | None]] = field(default_factory=list)
    cleartext: list[str] = field(default_factory=list)
    binary: list[bytes] = field(default_factory=list)
    bound: bool = False  # the client showed it keeps the cookie: only the cookie reaches it
    serial: int = 0  # creation order, among the connections of one access key
    last_seen: float = field(default_factory=time.monotonic)
    last_posted: float = -1.0  # time.monotonic() of the last frame the client posted
    answered: bool = True  # a frame was queued for the client since its last post
    closed: tuple[int, str] | None = None
    changed: anyio.Event = field(default_factory=anyio.Event)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)

    @property
    def key(self) -> tuple[str, str]:
        return self.client.access_key, self.cookie

    def notify(self) -> None:
        changed, self.changed = self.changed, anyio.Event()
        changed.set()

    def close(self, code: int, reason: str) -> None:
        """End the connection; later requests see a tombstone with ``code``."""
        if self.closed is None:
            self.closed = (code, reason)
            self.cleartext.clear()
            self.binary.clear()
            self.scope.cancel()
            self.notify()

    async def put(self, frame: str | bytes) -> None:
        """The session's ``send``: wait for room in the mailbox, then queue the frame."""
        while True:
            if self.closed is not None:
                raise ConnectionError("the HTTP connection is closed")
            box: list[Any] = self.cleartext if isinstance(frame, str) else self.binary
            if len(box) < MAX_MAILBOX:
                box.append(frame)
                self.answered = True
                self.notify()  # wake a held poll
                return
            await self.changed.wait()

    async def take(self, binary: bool, hold: float) -> list[Any]:
        """Up to :data:`MAX_BATCH` frames; an empty poll waits (at most ``hold`` s) while an
        answer to the client's last post is likely."""
        box: list[Any] = self.binary if binary else self.cleartext
        if not box and self.closed is None and not self.answered:
            with anyio.move_on_after(min(hold, self.last_posted + hold - time.monotonic())):
                while not box and self.closed is None and not self.answered:
                    await self.changed.wait()
            if box:  # an answer started: let the rest of it join this batch
                for _ in range(_COALESCE_TURNS):
                    await anyio.lowlevel.checkpoint()
        batch = box[:MAX_BATCH]
        del box[:MAX_BATCH]
        if batch:
            self.notify()  # room for a waiting writer
        return batch
