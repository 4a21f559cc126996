"""The machinery of the sync facade: one event loop in one background thread per facade.

:class:`LoopThread` runs an anyio :class:`~anyio.from_thread.BlockingPortal` in its own daemon
thread: one portal, hence one event loop and one thread, per client (a client's connection
state lives on exactly one loop for its whole life; a shared ``BlockingPortalProvider`` would
put every client on one loop). It is started lazily by the first call and stopped by
:meth:`LoopThread.shutdown`: ``portal.stop(cancel_remaining=True)``, then a *bounded* join.
The thread is started the way :func:`~anyio.from_thread.start_blocking_portal` starts it, but
not through that context manager: its exit joins without a timeout, and as a generator it
runs that exit whenever it is garbage-collected, which in a forked child (no loop thread)
blocks forever.

:meth:`LoopThread.call` (coroutine functions) and :meth:`LoopThread.call_sync` (plain
functions) are the bridge every facade method uses. Both hop with one
``loop.call_soon_threadsafe`` onto the portal's loop and wait on a concurrent future, rather
than going through ``BlockingPortal.call``, whose ``start_task_soon`` first waits for a whole
round trip (scheduling the task) and then for the one that returns the result: about twice
the cost per call (``benchmarks/bench_facade.py`` prints both). ``call`` runs each call in its
own task, like the portal and ``asyncio.run_coroutine_threadsafe`` (minus the latter's extra
loop iteration for chaining the result); ``call_sync`` runs the function in the callback
itself, as anyio's ``from_thread.run_sync`` does. Both add four guards:

1. **Own loop thread.** A call from the loop thread itself (a predicate or an async handler
   calling the sync client) would deadlock; it raises :class:`ThalovantRuntimeError` at once.
2. **Foreign running loop.** A call from a thread that runs another event loop (FastAPI
   ``async def``, Jupyter) works but blocks that loop for the whole call; the first such call
   of each client logs one warning on the ``thalovant.sync`` logger ("use
   AsyncThalovantClient"). Logging rather than :func:`warnings.warn`: test suites that turn
   warnings into errors (``filterwarnings = error``) must not break on a working call.
3. **Fork.** ``os.register_at_fork`` marks every started loop as unusable in the child, whose
   copy has no loop thread: calls raise :class:`ThalovantRuntimeError` instead of hanging. A
   client that was never started in the parent starts normally in the child.
4. **Exit.** An ``atexit`` hook closes every open facade within
   :data:`~thalovant.sync.process.ATEXIT_TIMEOUT` seconds in total, then stops its thread
   (the threads are daemons, so a stuck one never blocks interpreter exit).

The fork and exit hooks are in :mod:`thalovant.sync.process`.

Ctrl-C while a call blocks cancels the inner call's task, waits up to
:data:`INTERRUPT_GRACE` seconds for it to unwind and re-raises :class:`KeyboardInterrupt`.
Owners register a ``weakref.finalize`` calling :meth:`LoopThread.shutdown`, so a facade
dropped without ``close()`` still stops its thread.
The loop callbacks are in :mod:`thalovant.sync.calls`, handler threads and bridges in
:mod:`thalovant.sync.handlers`, and plain iterators and subscriptions in
:mod:`thalovant.sync.bridges`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

import anyio
from anyio.from_thread import BlockingPortal

from thalovant.errors import ThalovantConnectionError, ThalovantRuntimeError
from thalovant.sync.calls import Call, run_sync, start_task
from thalovant.sync.handlers import HandlerThread
from thalovant.sync.process import ATEXIT_TIMEOUT, abandon, register
from thalovant.telemetry import otel

__all__ = ["INTERRUPT_GRACE", "LOOP_THREAD_NAME", "LoopThread"]

logger = logging.getLogger("thalovant.sync")

P = ParamSpec("P")
T = TypeVar("T")

#: Name of every facade's event-loop thread.
LOOP_THREAD_NAME = "thalovant-client"
#: Seconds a Ctrl-C waits for the cancelled inner call to unwind before re-raising.
INTERRUPT_GRACE = 5.0

# Stopping a loop whose tasks were just cancelled takes a moment even when time is up.
_JOIN_FLOOR = 1.0
_IDLE, _RUNNING, _CLOSED, _FORKED = "idle", "running", "closed", "forked"
_WINDOWS = sys.platform == "win32"


def _loop_main(
    ready: concurrent.futures.Future[tuple[BlockingPortal, asyncio.AbstractEventLoop]], owner: str
) -> None:
    """The loop thread: run a portal until it is stopped (as ``start_blocking_portal``)."""

    async def serve() -> None:
        async with BlockingPortal() as portal:
            ready.set_result((portal, asyncio.get_running_loop()))
            await portal.sleep_until_stopped()

    try:
        anyio.run(serve)
    except BaseException as exc:  # pragma: no cover - the loop itself failed
        if not ready.done():
            ready.set_exception(exc)
        else:
            logger.exception("the event loop thread of a %s failed", owner)


class LoopThread:
    """One anyio event loop in one daemon thread, owned by one facade object.

    Args:
        owner: The facade's name, for error messages.
        closer: An async callable taking a timeout in seconds that closes the wrapped async
            object when the loop is shut down by the garbage collector or at exit. It must
            not reference its owner (it is held by the owner's finalizer).
        name: The loop thread's name.
        async_name: The async twin's name, for error messages.
    """

    def __init__(
        self,
        owner: str,
        closer: Callable[[float], Awaitable[object]] | None = None,
        *,
        name: str = LOOP_THREAD_NAME,
        async_name: str = "AsyncThalovantClient",
    ) -> None:
        self.owner = owner
        self.name = name
        self.async_name = async_name
        self.handlers = HandlerThread()
        """The thread that runs this facade's ``on`` handlers, one at a time."""
        self._closer = closer
        # Futures of calls in flight: a shutdown fails those the loop will never complete.
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._drained = False
        self._lock = threading.Lock()
        self._state = _IDLE
        self._portal: BlockingPortal | None = None
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ident: int | None = None
        self._forked_from: int | None = None
        self._warned_foreign = False
        register(self)

    def __repr__(self) -> str:
        return f"<LoopThread owner={self.owner} state={self._state}>"

    # -- state ----------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """``idle`` (not started), ``running``, ``closed`` or ``forked`` (unusable child copy)."""
        return self._state

    @property
    def running(self) -> bool:
        """True while the loop thread runs."""
        return self._state == _RUNNING

    @property
    def thread(self) -> threading.Thread | None:
        """The loop thread, once started (kept after shutdown, for inspection)."""
        return self._thread

    def on_loop_thread(self) -> bool:
        """True when called from this facade's own loop thread."""
        return self._ident is not None and threading.get_ident() == self._ident

    def _unusable(self) -> ThalovantRuntimeError:
        if self._state == _FORKED:
            return ThalovantRuntimeError(
                f"this {self.owner} was started in process {self._forked_from} and cannot be "
                f"used after os.fork(): its event loop thread does not exist in the child "
                f"(pid {os.getpid()}); create a new {self.owner} in the child process"
            )
        return ThalovantRuntimeError(
            f"this {self.owner} is closed (its event loop thread has stopped); "
            f"create a new {self.owner}"
        )

    def _deadlock_error(self) -> ThalovantRuntimeError:
        return ThalovantRuntimeError(
            f"a blocking {self.owner} method was called from the client's own event loop "
            f"thread ({self.name}), which would deadlock; code running on that loop (an async "
            f"handler or a predicate) must use {self.async_name} and await it"
        )

    # -- start ----------------------------------------------------------------------------

    def start(self) -> BlockingPortal:
        """The running portal, starting the loop thread on first use (thread-safe)."""
        portal = self._portal
        if portal is not None and self._state == _RUNNING:
            return portal
        with self._lock:
            if self._state == _RUNNING and self._portal is not None:
                return self._portal
            if self._state != _IDLE:
                raise self._unusable()
            ready: concurrent.futures.Future[tuple[BlockingPortal, asyncio.AbstractEventLoop]]
            ready = concurrent.futures.Future()
            thread = threading.Thread(
                target=_loop_main, args=(ready, self.owner), name=self.name, daemon=True
            )
            thread.start()
            portal, aloop = ready.result()
            self._portal, self._aloop, self._thread, self._ident = (
                portal,
                aloop,
                thread,
                thread.ident,
            )
            self._state = _RUNNING
            return portal

    # -- calls ----------------------------------------------------------------------------

    def call(self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Await ``fn(*args, **kwargs)`` in a new task on the loop, blocking the calling
        thread (see the module docstring).

        Args:
            fn: A coroutine function.
            *args: Its positional arguments.
            **kwargs: Its keyword arguments.

        Returns:
            Its result (its exception is raised here).

        Raises:
            ThalovantRuntimeError: Called from the loop thread, or the loop is closed or was
                inherited through ``os.fork()``.
            ThalovantConnectionError: Another thread closed the facade during the call.
            KeyboardInterrupt: Ctrl-C; the inner call was cancelled first.
        """
        return cast("T", self._call(fn, args, kwargs, True))

    def call_sync(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the plain function ``fn(*args, **kwargs)`` on the loop thread (in a callback,
        as anyio's ``from_thread.run_sync`` does: no task, one cheap hop), blocking the
        calling thread.

        Args:
            fn: A plain function (returning an awaitable is a TypeError).
            *args: Its positional arguments.
            **kwargs: Its keyword arguments.

        Returns:
            Its result (its exception is raised here).

        Raises:
            ThalovantRuntimeError: As :meth:`call`.
            ThalovantConnectionError: As :meth:`call`.
        """
        return cast("T", self._call(fn, args, kwargs, False))

    def _call(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], task: bool
    ) -> Any:
        loop = self._aloop
        if loop is None or self._state != _RUNNING:
            if self.on_loop_thread():
                raise self._deadlock_error()
            self.start()
            loop = self._aloop
            assert loop is not None
        elif threading.get_ident() == self._ident:
            raise self._deadlock_error()
        if not self._warned_foreign:
            self._check_foreign_loop(fn)
        if task:
            fn = otel.carry_context(fn)  # the caller's current span, across the thread hop
        call = Call()
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            loop.call_soon_threadsafe(
                start_task if task else run_sync, call, future, fn, args, kwargs
            )
            self._pending.add(future)
            if self._drained:  # the shutdown already failed the calls it knew about
                future.cancel()
            return self._wait(future)
        except concurrent.futures.CancelledError:
            # The loop was stopped under this call (another thread closed the client).
            raise ThalovantConnectionError(
                f"the {self.owner} was closed while this call was running"
            ) from None
        except BaseException as exc:
            if not future.done():
                # Ctrl-C, wherever it struck (even inside call_soon_threadsafe, after the
                # call was queued): cancel the call and let it unwind before re-raising.
                future.cancel()
                try:
                    loop.call_soon_threadsafe(call.cancel_task)  # runs after the start (FIFO)
                except RuntimeError:
                    if isinstance(exc, RuntimeError) and self._state != _RUNNING:
                        raise self._unusable() from None  # the loop closed under the call
                else:
                    self._await_unwind(call)
            raise
        finally:
            self._pending.discard(future)

    @staticmethod
    def _wait(future: concurrent.futures.Future[T]) -> T:
        if _WINDOWS:  # pragma: no cover - a blocked lock wait is not interruptible there
            while not future.done():
                concurrent.futures.wait((future,), timeout=0.1)
        return future.result()

    @staticmethod
    def _await_unwind(call: Call) -> None:
        done = threading.Event()
        call.done = done
        if not call.finished:
            done.wait(INTERRUPT_GRACE)

    def _check_foreign_loop(self, fn: Callable[..., Any]) -> None:
        loop: asyncio.AbstractEventLoop | None = asyncio.events._get_running_loop()
        if loop is None:
            return
        self._warned_foreign = True
        method = getattr(fn, "__name__", "method")
        logger.warning(
            "%s.%s() was called from a running event loop (thread %r): it blocks that loop "
            "until it returns. In async code (FastAPI 'async def', Jupyter) use %s and "
            "'await client.%s(...)'. This warning is logged once per client.",
            self.owner,
            method,
            threading.current_thread().name,
            self.async_name,
            method,
        )

    def submit(self, fn: Callable[..., Awaitable[object]], /, *args: Any) -> None:
        """Start ``fn(*args)`` on the loop without waiting (fire and forget, never raises);
        used by finalizers of iterators. Does nothing when the loop is not running.

        Args:
            fn: A coroutine function.
            *args: Its arguments.
        """
        loop = self._aloop
        if loop is None or self._state != _RUNNING or self.on_loop_thread():
            return
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with contextlib.suppress(RuntimeError):  # raced with a shutdown
            loop.call_soon_threadsafe(start_task, Call(), future, fn, args, {})

    # -- stop -----------------------------------------------------------------------------

    def finish(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Run ``fn`` (the async object's close or ``__aexit__``) if the loop is running,
        then stop the loop thread for good. Its exception propagates after the stop.

        Args:
            fn: A coroutine function.
            *args: Its positional arguments.
            **kwargs: Its keyword arguments.

        Raises:
            ThalovantRuntimeError: Called from the loop thread.
        """
        if self.on_loop_thread():
            raise self._deadlock_error()
        try:
            if self._state == _RUNNING:
                self.call(fn, *args, **kwargs)
        finally:
            self.shutdown(close=False)

    def shutdown(self, timeout: float = ATEXIT_TIMEOUT, *, close: bool = True) -> None:
        """Close the async object unless ``close`` is false, then stop the handler thread
        and the loop thread. Idempotent and thread-safe; never raises. From the loop thread
        itself (a garbage collection there) the work is handed to a short-lived helper
        thread.

        Args:
            timeout: Seconds in total, for the ``closer`` and the joins.
            close: Run the ``closer`` first.
        """
        with self._lock:
            if self._state != _RUNNING:
                if self._state == _IDLE:
                    self._state = _CLOSED
                    self.handlers.stop(0)
                return
            if self.on_loop_thread():
                helper = threading.Thread(
                    target=self.shutdown,
                    args=(timeout,),
                    kwargs={"close": close},
                    name=f"{self.name}-shutdown",
                    daemon=True,
                )
                with contextlib.suppress(RuntimeError):  # interpreter shutdown
                    helper.start()
                return
            self._state = _CLOSED
            portal, thread = self._portal, self._thread
            self._portal = self._aloop = None
        assert portal is not None
        assert thread is not None
        deadline = time.monotonic() + timeout
        if close and self._closer is not None:
            self._close_async(portal, timeout)
        try:
            portal.start_task_soon(portal.stop, True).result(max(_JOIN_FLOOR, _remaining(deadline)))
        except Exception:
            logger.debug("stopping the portal of %s failed", self.owner, exc_info=True)
        self.handlers.stop(max(_JOIN_FLOOR, _remaining(deadline)))
        thread.join(max(_JOIN_FLOOR, _remaining(deadline)))
        self._drained = True
        for future in list(self._pending):
            future.cancel()  # scheduled too late to ever run: its caller gets a clear error
        if not thread.is_alive():
            self._ident = None  # the OS may give a dead thread's ident to a new thread
        else:  # pragma: no cover - a task that ignores cancellation
            logger.warning(
                "the event loop thread of a %s did not stop within %.3g s; left to end with "
                "the process",
                self.owner,
                timeout,
            )

    def _close_async(self, portal: BlockingPortal, timeout: float) -> None:
        assert self._closer is not None
        future = portal.start_task_soon(self._closer, timeout)
        try:
            future.result(timeout + 1.0)
        except concurrent.futures.TimeoutError:
            future.cancel()
            logger.warning("closing a %s took more than %.3g s; aborted", self.owner, timeout)
        except BaseException:
            logger.warning("closing a %s failed", self.owner, exc_info=True)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self.handlers._after_fork_in_child()
        if self._state == _RUNNING:
            self._state = _FORKED
            self._forked_from = os.getppid()
            # Keep the copies: nothing of the parent's loop may be finalized in the child.
            abandon(self._portal, self._aloop)
            self._portal = self._aloop = None
            self._ident = None


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
