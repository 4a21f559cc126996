"""One blocking call of the sync facade in flight, and the loop callbacks that run it.

:func:`start_task` (a coroutine function, run in its own task) and :func:`run_sync` (a plain
function, run in the callback itself) are what :class:`~thalovant.sync.portal.LoopThread`
schedules with ``loop.call_soon_threadsafe``; each completes the caller's concurrent future,
and :class:`Call` tells a Ctrl-C'd caller when the cancelled call has unwound
(docs/architecture.md, the blocking facade).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import Callable
from typing import Any

_sniffio: Any
try:
    import sniffio as _sniffio  # type: ignore[import-not-found, no-redef, unused-ignore]
except ImportError:  # pragma: no cover - depends on the environment
    _sniffio = None

__all__ = ["Call", "run_sync", "run_task", "start_task"]


class Call:
    """One call in flight: its task, and when it finished (for a Ctrl-C'd caller)."""

    __slots__ = ("cancelled", "done", "finished", "task")

    def __init__(self) -> None:
        self.finished = False
        self.cancelled = False
        self.done: threading.Event | None = None
        self.task: asyncio.Task[None] | None = None

    def mark(self) -> None:
        """Record that the call finished, and wake a waiting Ctrl-C'd caller."""
        # Write ``finished`` before reading ``done``; the waiter writes ``done`` before reading
        # ``finished``: one of the two always sees the other.
        self.finished = True
        done = self.done
        if done is not None:
            done.set()

    def cancel_task(self) -> None:
        """Cancel the call's task, or mark it finished when there is none (loop thread)."""
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
    ``asyncio.run_coroutine_threadsafe`` does, minus a loop iteration of result chaining).

    Args:
        call: The call's record.
        future: Completed with the result or exception (cancelled on cancellation).
        fn: The function (its awaitable result is awaited).
        args: Its positional arguments.
        kwargs: Its keyword arguments.
    """
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
    """The task of one :func:`start_task` call.

    Args:
        call: The call's record (marked when the task ends).
        future: Completed with the result or exception; cancelled on cancellation.
        fn: The function (its awaitable result is awaited).
        args: Its positional arguments.
        kwargs: Its keyword arguments.
    """
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
    """Loop callback: run the plain function ``fn`` here and complete ``future``.

    Args:
        call: The call's record.
        future: Completed with the result or exception (a TypeError if ``fn`` returned an
            awaitable).
        fn: The plain function.
        args: Its positional arguments.
        kwargs: Its keyword arguments.
    """
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
