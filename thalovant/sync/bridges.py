"""Bridges of the sync facade between the loop thread and plain threads.

* :class:`Call`, :func:`start_task`, :func:`run_sync`: one blocking call in flight, and the
  loop callbacks that run it (a task for a coroutine function, the callback itself for a
  plain function) and complete its concurrent future (see :mod:`thalovant.sync.portal`).
* :class:`HandlerThread`: one thread per facade (``thalovant-handlers``) that runs the
  handlers registered through the sync ``on``/``on_hive``/``on_binary``, one at a time in
  arrival order, fed by a bounded queue (the oldest item is dropped on overflow, with one
  warning per burst). Handlers therefore never run on the event loop and may call the
  blocking client (``client.emit`` inside a handler while another thread is in ``ask``).
* :class:`HandlerBridge`: the plain callable registered on the async side; it runs on the
  loop, in the async subscription's own task, and only enqueues.
* :class:`SyncSubscription`: what the sync ``on`` returns (``close`` goes through the loop).
* :class:`SyncIterator`: a plain iterator stepping an async iterator through the loop, one
  loop hop per item; ``close`` (also on ``with`` exit, or when an abandoned iterator is
  garbage-collected) closes the async iterator.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from thalovant.errors import ThalovantRuntimeError

_sniffio: Any
try:
    import sniffio as _sniffio  # type: ignore[import-not-found, no-redef, unused-ignore]
except ImportError:  # pragma: no cover - depends on the environment
    _sniffio = None

if TYPE_CHECKING:
    from thalovant.sync.portal import LoopThread

__all__ = [
    "HANDLER_QUEUE_SIZE",
    "HANDLER_THREAD_NAME",
    "Call",
    "HandlerBridge",
    "HandlerThread",
    "SyncIterator",
    "SyncSubscription",
    "run_sync",
    "start_task",
]

logger = logging.getLogger("thalovant.sync")

T = TypeVar("T")

#: Name of every facade's handler thread.
HANDLER_THREAD_NAME = "thalovant-handlers"
#: Items waiting for the handler thread before the oldest is dropped.
HANDLER_QUEUE_SIZE = 1024


class Call:
    """One call in flight: its task, and when it finished (for a Ctrl-C'd caller)."""

    __slots__ = ("cancelled", "done", "finished", "task")

    def __init__(self) -> None:
        self.finished = False
        self.cancelled = False
        self.done: threading.Event | None = None
        self.task: asyncio.Task[None] | None = None

    def mark(self) -> None:
        # Write ``finished`` before reading ``done``; the waiter writes ``done`` before reading
        # ``finished``: one of the two always sees the other.
        self.finished = True
        done = self.done
        if done is not None:
            done.set()

    def cancel_task(self) -> None:
        # On the loop thread, queued after the call's start callback.
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()  # its finally marks
        else:
            self.mark()  # never started, or a plain function that already ran


def start_task(
    call: Call,
    future: concurrent.futures.Future[Any],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """Loop callback: start ``fn``'s task, which completes ``future`` itself (what
    ``asyncio.run_coroutine_threadsafe`` does, minus a loop iteration of result chaining)."""
    if call.cancelled or future.cancelled():
        call.mark()
        return
    call.task = asyncio.get_running_loop().create_task(run_task(call, future, fn, args, kwargs))


async def run_task(
    call: Call,
    future: concurrent.futures.Future[Any],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """The task of one :func:`start_task` call."""
    try:
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
    except asyncio.CancelledError:
        future.cancel()  # Ctrl-C or a shutdown; the caller (if still waiting) is told
        raise
    except BaseException as exc:
        if future.set_running_or_notify_cancel():
            future.set_exception(exc)
    else:
        if future.set_running_or_notify_cancel():
            future.set_result(result)
    finally:
        call.mark()


def run_sync(
    call: Call,
    future: concurrent.futures.Future[Any],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """Loop callback: run the plain function ``fn`` here and complete ``future``."""
    try:
        if not future.set_running_or_notify_cancel():
            return
        if _sniffio is not None:  # anyio asks sniffio, when installed, which loop this is
            _sniffio.current_async_library_cvar.set("asyncio")
        try:
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise TypeError(f"{fn!r} returned an awaitable; use LoopThread.call")
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
    finally:
        call.mark()


class HandlerThread:
    """Runs queued handler calls on one daemon thread, in arrival order (started lazily)."""

    def __init__(self, name: str = HANDLER_THREAD_NAME, maxsize: int = HANDLER_QUEUE_SIZE) -> None:
        self.name = name
        self.maxsize = maxsize
        self.dropped = 0
        """Items dropped because the queue was full."""
        self._cond = threading.Condition()
        self._queue: deque[tuple[HandlerBridge[Any], Any]] = deque()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._burst = False

    @property
    def thread(self) -> threading.Thread | None:
        """The handler thread, once started."""
        return self._thread

    def submit(self, bridge: HandlerBridge[Any], item: Any) -> None:
        """Queue ``bridge``'s handler for ``item`` (never blocks; called on the loop)."""
        with self._cond:
            if self._stopped:
                return
            if len(self._queue) >= self.maxsize:
                old, _ = self._queue.popleft()
                old.dropped += 1
                self.dropped += 1
                if not self._burst:
                    self._burst = True
                    logger.warning(
                        "sync handlers are too slow; dropping the oldest queued event "
                        "(%d dropped so far)",
                        self.dropped,
                    )
            else:
                self._burst = False
            self._queue.append((bridge, item))
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
                self._thread.start()
            else:
                self._cond.notify()

    def _main(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                bridge, item = self._queue.popleft()
            bridge._run(item)

    def stop(self, timeout: float) -> None:
        """Discard queued calls, let a running handler finish (up to ``timeout``) and end
        the thread. From the handler thread itself (a handler closing the client) it does
        not wait."""
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _after_fork_in_child(self) -> None:
        self._cond = threading.Condition()
        if self._thread is not None:  # it does not exist in the child
            self._stopped = True
            self._queue.clear()


class HandlerBridge(Generic[T]):
    """The callable the sync facade registers on the async client for one user handler."""

    def __init__(self, handler: Callable[[T], object], runner: HandlerThread, label: str) -> None:
        if inspect.iscoroutinefunction(handler):
            raise ThalovantRuntimeError(
                "the blocking client runs handlers on its handler thread and cannot await "
                "them; pass a plain function, or use the async client for async handlers"
            )
        self.handler = handler
        self.label = label
        self.errors = 0
        self.delivered = 0
        self.dropped = 0
        self.closed = False
        self._runner = runner

    def __call__(self, item: T) -> None:
        # On the loop thread: hand over, never block.
        if not self.closed:
            self._runner.submit(self, item)

    def _run(self, item: T) -> None:
        # On the handler thread.
        if self.closed:
            return
        try:
            result = self.handler(item)
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise ThalovantRuntimeError("a blocking client's handler returned an awaitable")
        except Exception:
            self.errors += 1
            logger.exception("handler for %r raised; subscription kept", self.label)
        else:
            self.delivered += 1


class _AsyncSubscription(Protocol):
    closed: bool
    dropped: int

    def close(self) -> None: ...


class SyncSubscription:
    """A handler subscription of the blocking client. ``close`` (or ``unsubscribe``, or
    leaving a ``with`` block) unsubscribes; queued events are then skipped. ``errors`` and
    ``delivered`` count the handler's outcomes; ``dropped`` counts overflow drops (in the
    async subscription's queue and in the handler thread's queue)."""

    def __init__(
        self, loop: LoopThread, inner: _AsyncSubscription, bridge: HandlerBridge[Any]
    ) -> None:
        self._loop = loop
        self._inner = inner
        self._bridge = bridge

    def __repr__(self) -> str:
        return f"<SyncSubscription {self._bridge.label!r} closed={self.closed}>"

    @property
    def closed(self) -> bool:
        """True once unsubscribed (or the client closed)."""
        return self._bridge.closed or self._inner.closed

    @property
    def errors(self) -> int:
        """Calls of the handler that raised."""
        return self._bridge.errors

    @property
    def delivered(self) -> int:
        """Calls of the handler that returned."""
        return self._bridge.delivered

    @property
    def dropped(self) -> int:
        """Events dropped because the handler was too slow."""
        return self._inner.dropped + self._bridge.dropped

    def close(self) -> None:
        """Unsubscribe for good (idempotent; a handler may call it)."""
        self._bridge.closed = True
        if self._loop.on_loop_thread():
            self._inner.close()
        elif self._loop.running and not self._inner.closed:
            self._loop.call_sync(self._inner.close)

    unsubscribe = close

    def __enter__(self) -> SyncSubscription:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SyncIterator(Generic[T]):
    """A plain iterator over an async iterator living on ``loop``. Also a context manager;
    any exception ends the iteration (the async side closes itself then)."""

    def __init__(self, loop: LoopThread, inner: AsyncIterator[T]) -> None:
        self._loop = loop
        self._inner = inner
        self._closed = False

    def __iter__(self) -> SyncIterator[T]:
        return self

    def __next__(self) -> T:
        if self._closed:
            raise StopIteration
        try:
            return self._loop.call(self._inner.__anext__)
        except StopAsyncIteration:
            self._closed = True
            raise StopIteration from None
        except BaseException:
            self._closed = True
            raise

    @property
    def closed(self) -> bool:
        """True once exhausted or closed."""
        return self._closed

    def close(self) -> None:
        """Stop iterating and close the async iterator (idempotent)."""
        if self._closed:
            return
        self._closed = True
        aclose = getattr(self._inner, "aclose", None)
        if aclose is not None and self._loop.running:
            self._loop.call(aclose)

    def __enter__(self) -> SyncIterator[T]:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # Abandoned (e.g. ``break`` out of a for loop): close the async side without waiting.
        if not getattr(self, "_closed", True):
            self._closed = True
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                self._loop.submit(aclose)
