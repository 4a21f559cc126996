"""Write coalescing on a real loopback WebSocket: one write per loop tick, order kept, big
bursts flushed as they pass FLUSH_BYTES."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from thalovant.carriers.coalesce import FLUSH_BYTES, CoalescedWrites

pytestmark = pytest.mark.anyio


class _Coalesced(CoalescedWrites, ClientConnection):
    pass


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def echo_count() -> AsyncIterator[tuple[str, list[bytes], asyncio.Event]]:
    received: list[bytes] = []
    twenty = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            received.append(message if isinstance(message, bytes) else message.encode())
            if len(received) == 20:
                twenty.set()

    async with serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}", received, twenty


def _count_writes(ws: ClientConnection) -> list[int]:
    sizes: list[int] = []
    write: Callable[[Any], None] = ws.transport.write

    def counted(data: Any) -> None:
        sizes.append(len(data))
        write(data)

    ws.transport.write = counted  # type: ignore[method-assign]
    return sizes


async def test_frames_of_one_tick_leave_in_one_write(
    echo_count: tuple[str, list[bytes], asyncio.Event],
) -> None:
    url, received, twenty = echo_count
    async with connect(url, create_connection=_Coalesced, compression=None) as ws:
        sizes = _count_writes(ws)
        await asyncio.gather(*(ws.send(f"frame {i}".encode()) for i in range(20)))
        with anyio.fail_after(10):
            await twenty.wait()
        assert len(sizes) == 1, sizes
    assert received == [f"frame {i}".encode() for i in range(20)]


async def test_a_burst_is_flushed_as_it_passes_the_threshold(
    echo_count: tuple[str, list[bytes], asyncio.Event],
) -> None:
    url, received, twenty = echo_count
    chunk = os.urandom(16_000)
    async with connect(url, create_connection=_Coalesced, compression=None) as ws:
        sizes = _count_writes(ws)
        for i in range(20):  # never yields to the loop while the transport takes it
            await ws.send(bytes([i]) + chunk)
        assert 3 <= len(sizes) <= 6, sizes
        assert max(sizes) < FLUSH_BYTES + len(chunk) + 64, sizes
        with anyio.fail_after(10):
            await twenty.wait()
    assert [m[0] for m in received] == list(range(20))
