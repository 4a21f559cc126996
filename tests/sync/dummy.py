"""A small async class and its blocking facade, built on the same machinery as
``ThalovantClient``, so the machinery is tested without a hub."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import anyio

from thalovant.sync.bridges import SyncIterator, SyncSubscription
from thalovant.sync.handlers import HandlerBridge
from thalovant.sync.portal import LoopThread


class DummyStream:
    """An async iterator of ``0..n-1`` whose ``aclose`` is observable."""

    def __init__(self, n: int, closed: threading.Event) -> None:
        self._items = iter(range(n))
        self._closed = closed

    def __aiter__(self) -> DummyStream:
        return self

    async def __anext__(self) -> int:
        await anyio.lowlevel.checkpoint()
        for item in self._items:
            if item == 99:
                raise ValueError("bad item")
            return item
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._closed.set()


class DummySub:
    """What ``DummyAsync.on`` returns (the shape of the bus's subscriptions)."""

    def __init__(self, owner: DummyAsync, handler: Callable[[int], object]) -> None:
        self.owner = owner
        self.handler = handler
        self.closed = False
        self.dropped = 0

    def close(self) -> None:
        self.closed = True
        self.owner.subs.remove(self)


class DummyAsync:
    """The async object: every method records the thread it runs on."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.close_calls: list[float] = []
        self.started = threading.Event()
        self.cancelled = threading.Event()
        self.stream_closed = threading.Event()
        self.subs: list[DummySub] = []
        self.echoed: list[Any] = []
        self._echo_event: anyio.Event | None = None
        self._echo_target = 0

    async def echo(self, value: Any, *, checkpoint: bool = True) -> Any:
        if checkpoint:
            await anyio.lowlevel.checkpoint()
        self.echoed.append(value)
        if self._echo_event is not None and len(self.echoed) >= self._echo_target:
            self._echo_event.set()
        return value

    def where(self) -> str:
        return threading.current_thread().name

    async def fail(self, exc: BaseException) -> None:
        await anyio.lowlevel.checkpoint()
        raise exc

    async def block(self) -> None:
        self.started.set()
        try:
            await anyio.sleep_forever()
        finally:
            self.cancelled.set()

    async def run_on_loop(self, fn: Callable[[], Any]) -> Any:
        return fn()

    def listen(self, n: int) -> DummyStream:
        return DummyStream(n, self.stream_closed)

    def on(self, handler: Callable[[int], object]) -> DummySub:
        sub = DummySub(self, handler)
        self.subs.append(sub)
        return sub

    async def fire_and_wait(self, n: int, echoes: int) -> list[Any]:
        """Deliver events ``0..n-1`` to every handler (on the loop, as the bus does), then
        wait until ``echoes`` echo calls arrived (handlers call back into the client)."""
        self._echo_event, self._echo_target = anyio.Event(), echoes
        for i in range(n):
            for sub in list(self.subs):
                sub.handler(i)
        with anyio.fail_after(10):
            if len(self.echoed) < echoes:
                await self._echo_event.wait()
        return list(self.echoed)

    async def close(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self.close_calls.append(1.0 if timeout is None else timeout)
        self.closed.set()


class Dummy:
    """The blocking facade of :class:`DummyAsync` (same pattern as ``ThalovantClient``)."""

    def __init__(self) -> None:
        self._async = DummyAsync()
        self._loop = LoopThread("Dummy", self._async.close, async_name="DummyAsync")
        self._finalizer = weakref.finalize(self, self._loop.shutdown)
        self._finalizer.atexit = False

    @property
    def inner(self) -> DummyAsync:
        return self._async

    @property
    def loop(self) -> LoopThread:
        return self._loop

    def echo(self, value: Any, *, checkpoint: bool = True) -> Any:
        return self._loop.call(self._async.echo, value, checkpoint=checkpoint)

    def where(self) -> str:
        return self._loop.call_sync(self._async.where)

    def fail(self, exc: BaseException) -> None:
        self._loop.call(self._async.fail, exc)

    def block(self) -> None:
        self._loop.call(self._async.block)

    def run_on_loop(self, fn: Callable[[], Any]) -> Any:
        return self._loop.call(self._async.run_on_loop, fn)

    def listen(self, n: int) -> SyncIterator[int]:
        return SyncIterator(self._loop, self._loop.call_sync(self._async.listen, n))

    def on(self, handler: Callable[[int], object]) -> SyncSubscription:
        bridge = HandlerBridge(handler, self._loop.handlers, "dummy")
        return SyncSubscription(self._loop, self._loop.call_sync(self._async.on, bridge), bridge)

    def fire_and_wait(self, n: int, echoes: int) -> list[Any]:
        return self._loop.call(self._async.fire_and_wait, n, echoes)

    def close(self) -> None:
        self._loop.finish(self._async.close, 1.0)

    def __enter__(self) -> Dummy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
