"""The handler thread of a sync facade, and the bridge that feeds it from the loop.

* :class:`HandlerThread`: one thread per facade (``thalovant-handlers``) that runs the
  handlers registered through the sync ``on``/``on_hive``/``on_binary``, one at a time in
  arrival order, fed by a bounded queue (the oldest item is dropped on overflow, with one
  warning per burst). Handlers therefore never run on the event loop and may call the
  blocking client (``client.emit`` inside a handler while another thread is in ``ask``).
* :class:`HandlerBridge`: the plain callable registered on the async side; it runs on the
  loop, in the async subscription's own task, and only enqueues.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from thalovant.errors import ThalovantRuntimeError

__all__ = ["HANDLER_QUEUE_SIZE", "HANDLER_THREAD_NAME", "HandlerBridge", "HandlerThread"]

logger = logging.getLogger("thalovant.sync")

T = TypeVar("T")

#: Name of every facade's handler thread.
HANDLER_THREAD_NAME = "thalovant-handlers"
#: Items waiting for the handler thread before the oldest is dropped.
HANDLER_QUEUE_SIZE = 1024


class HandlerThread:
    """Runs queued handler calls on one daemon thread, in arrival order (started lazily).

    Args:
        name: The thread's name.
        maxsize: Queued calls before the oldest is dropped.
    """

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
        """Queue ``bridge``'s handler for ``item`` (never blocks; called on the loop).

        Args:
            bridge: The bridge whose handler runs.
            item: The handler's argument.
        """
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
        """Discard queued calls, let a running handler finish and end the thread. From the
        handler thread itself (a handler closing the client) it does not wait.

        Args:
            timeout: Seconds to wait for a running handler.
        """
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
    """The callable the sync facade registers on the async client for one user handler.

    Args:
        handler: The user's plain function.
        runner: The facade's handler thread.
        label: The subscription's name, for logs.

    Raises:
        ThalovantRuntimeError: ``handler`` is a coroutine function.
    """

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
