"""Write coalescing for ``websockets`` asyncio connections: the frames of one event-loop tick
leave in one ``transport.write`` (one TLS record, one ``send`` syscall), not one each.

With many requests in flight a client sends several frames per tick (64 asks, a speak and a
``handled`` per reply on the hub side); writing each on its own costs a TLS record and a
syscall per frame. Order is kept (every write goes through the one buffer), and so is flow
control: the buffer is flushed at once when it passes :data:`FLUSH_BYTES`, so ``drain`` still
sees a full transport, and a loop of sends that never yields cannot pile up memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["FLUSH_BYTES", "CoalescedWrites"]

#: Pending bytes that are written at once rather than at the end of the tick.
FLUSH_BYTES = 64 * 1024


class CoalescedWrites:
    """Mixin for ``websockets.asyncio`` connections (before the connection class in the bases):
    replaces ``send_data`` with a buffered one flushed by ``loop.call_soon``."""

    # Provided by websockets' Connection.
    protocol: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    _pending: list[bytes] | None = None
    _pending_bytes = 0
    _flush_scheduled = False

    def send_data(self) -> None:
        """Queue what the protocol has to send; an end of stream flushes and closes as
        ``websockets`` does."""
        pending = self._pending
        if pending is None:
            pending = self._pending = []
        for data in self.protocol.data_to_send():
            if not data:
                self._flush()
                self._write_eof()
                continue
            pending.append(data)
            self._pending_bytes += len(data)
        if self._pending_bytes >= FLUSH_BYTES:
            self._flush()
        elif pending and not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        pending = self._pending
        if not pending:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        self._pending_bytes = 0
        if not self.transport.is_closing():
            self.transport.write(data)

    def _write_eof(self) -> None:
        # What websockets does with an empty chunk: half-close TCP when it can (no TLS),
        # else close the transport.
        if self.transport.can_write_eof():
            with contextlib.suppress(Exception):  # as websockets: no documented errors
                self.transport.write_eof()
        else:
            self.transport.close()
