"""Waiting for a PSK on the event loop: no worker thread is held while Argon2id is queued.

:meth:`thalovant.protocol.psk.PskDeriver.submit` hands out a place in the deriver's queue; this
module waits for it on the running asyncio loop (the deriver's own threads do the work), and
gives the place up when the caller is cancelled, so a derivation nobody wants any more is
dropped before it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import Future

from thalovant.protocol.psk import PskDeriver

__all__ = ["derive_psk_async"]


async def derive_psk_async(
    deriver: PskDeriver, access_key: str, password: str, node_id: str
) -> bytes:
    """The PSK for these credentials from ``deriver`` (cached, or derived).

    Waits on the event loop; cancelling gives up the place in the deriver's queue.
    """
    request = deriver.submit(access_key, password, node_id)
    try:
        if not request.future.done():
            await _wait(request.future)
        return request.future.result()
    finally:
        request.release()


async def _wait(future: Future[bytes]) -> None:
    # Not asyncio.wrap_future: cancelling this waiter must leave the shared future alone.
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake(_: Future[bytes]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, waiter)

    future.add_done_callback(wake)
    await waiter


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
