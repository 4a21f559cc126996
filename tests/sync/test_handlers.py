"""Handlers of the blocking facade: their own thread, arrival order, callbacks into the
client, overflow, failures, unsubscribing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from thalovant.errors import ThalovantRuntimeError
from thalovant.sync.handlers import HANDLER_THREAD_NAME, HandlerBridge, HandlerThread

from .dummy import Dummy


def test_handlers_run_in_order_on_their_thread_and_may_call_the_client(dummy: Dummy) -> None:
    seen: list[tuple[str, int]] = []

    def handler(item: int) -> None:
        seen.append((threading.current_thread().name, item))
        dummy.echo(f"from handler {item}")  # a blocking call back into the facade

    sub = dummy.on(handler)
    last = threading.Event()
    dummy.on(lambda item: last.set() if item == 49 else None)  # runs after handler(49)
    # The caller blocks in a call that only finishes once every handler has called back:
    # handlers running on the loop (or one at a time on the caller's thread) would deadlock.
    echoed = dummy.fire_and_wait(50, echoes=50)
    assert echoed == [f"from handler {i}" for i in range(50)]
    assert last.wait(5)
    assert seen == [(HANDLER_THREAD_NAME, i) for i in range(50)]
    assert sub.delivered == 50
    assert sub.errors == 0
    assert sub.dropped == 0


def test_two_subscriptions_share_one_ordered_thread(dummy: Dummy) -> None:
    seen: list[str] = []
    dummy.on(lambda item: seen.append(f"a{item}"))
    dummy.on(lambda item: seen.append(f"b{item}"))
    done = threading.Event()
    dummy.on(lambda item: done.set() if item == 2 else None)
    dummy.fire_and_wait(3, echoes=0)
    assert done.wait(5)
    assert seen == ["a0", "b0", "a1", "b1", "a2", "b2"]


def test_a_raising_handler_is_logged_and_kept(
    dummy: Dummy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="thalovant.sync")
    done = threading.Event()

    def handler(item: int) -> None:
        if item == 0:
            raise ValueError("handler bug")

    sub = dummy.on(handler)
    dummy.on(lambda item: done.set() if item == 1 else None)  # runs after handler(1)
    dummy.fire_and_wait(2, echoes=0)
    assert done.wait(5)
    assert sub.errors == 1
    assert sub.delivered == 1
    assert "handler for 'dummy' raised" in caplog.text
    assert "handler bug" in caplog.text


def test_async_handlers_are_refused(dummy: Dummy) -> None:
    async def handler(item: int) -> None:
        pass  # pragma: no cover

    with pytest.raises(ThalovantRuntimeError, match="plain function"):
        dummy.on(handler)


def test_a_handler_returning_an_awaitable_is_an_error(
    dummy: Dummy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="thalovant.sync")

    async def later() -> None:
        pass  # pragma: no cover - closed unawaited

    done = threading.Event()
    sub = dummy.on(lambda item: later() if item == 0 else done.set())
    dummy.fire_and_wait(2, echoes=0)
    assert done.wait(5)
    assert sub.errors == 1
    assert "returned an awaitable" in caplog.text


def test_unsubscribe_stops_delivery(dummy: Dummy) -> None:
    seen: list[int] = []
    sub = dummy.on(seen.append)
    marker = threading.Event()
    dummy.on(lambda item: marker.set())
    with sub:
        pass  # leaving the block unsubscribes
    assert sub.closed
    assert len(dummy.inner.subs) == 1  # removed on the loop
    dummy.fire_and_wait(3, echoes=0)
    assert marker.wait(5)
    assert seen == []
    sub.unsubscribe()  # idempotent


def test_a_handler_may_unsubscribe_itself(dummy: Dummy) -> None:
    seen: list[int] = []
    holder: dict[str, Any] = {}
    last = threading.Event()

    def handler(item: int) -> None:
        seen.append(item)
        holder["sub"].close()

    holder["sub"] = dummy.on(handler)
    dummy.on(lambda item: last.set() if item == 4 else None)
    dummy.fire_and_wait(5, echoes=0)
    assert last.wait(5)
    assert seen == [0]  # the queued events of a closed subscription are skipped


def test_a_handler_may_close_the_client(make_dummy: Callable[[], Dummy]) -> None:
    dummy = make_dummy()
    closed = threading.Event()

    def handler(item: int) -> None:
        dummy.close()  # from the handler thread: must not wait for itself
        closed.set()

    dummy.on(handler)
    dummy.loop.submit(dummy.inner.fire_and_wait, 1, 0)
    assert closed.wait(10)
    assert dummy.inner.closed.is_set()
    assert dummy.loop.state == "closed"


def test_overflow_drops_the_oldest_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="thalovant.sync")
    runner = HandlerThread(name="test-handlers", maxsize=2)
    entered, release = threading.Event(), threading.Event()
    seen: list[int] = []
    finished = threading.Event()

    def handler(item: int) -> None:
        seen.append(item)
        if item == 0:
            entered.set()
            release.wait(10)
        if item == 4:
            finished.set()

    bridge = HandlerBridge(handler, runner, "slow")
    try:
        bridge(0)
        assert entered.wait(5)  # 0 is running; the queue is empty
        for item in (1, 2, 3, 4):  # room for two: 1 and 2 are dropped
            bridge(item)
        release.set()
        assert finished.wait(5)
    finally:
        release.set()
        runner.stop(5)
    assert seen == [0, 3, 4]
    assert runner.dropped == 2
    assert bridge.dropped == 2
    warnings = [r for r in caplog.records if "too slow" in r.getMessage()]
    assert len(warnings) == 1
    assert runner.thread is not None
    assert not runner.thread.is_alive()


def test_stopped_handler_thread_ignores_new_items() -> None:
    runner = HandlerThread(name="test-handlers")
    runner.stop(1)
    seen: list[int] = []
    HandlerBridge(seen.append, runner, "late")(1)
    assert runner.thread is None
    assert seen == []
