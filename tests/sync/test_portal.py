"""The bridge itself: calls, results, exceptions, iterators, guards, many threads."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import pytest

from thalovant.errors import ThalovantRuntimeError, ThalovantTimeoutError
from thalovant.sync.portal import LOOP_THREAD_NAME, LoopThread

from .dummy import Dummy


class CustomError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def test_call_returns_result_from_loop_thread(dummy: Dummy) -> None:
    assert dummy.loop.state == "idle"  # nothing started by construction
    assert dummy.echo("hi") == "hi"
    assert dummy.echo(42, checkpoint=False) == 42  # keyword arguments are passed through
    assert dummy.where() == LOOP_THREAD_NAME  # plain functions run on the loop thread too
    assert dummy.loop.state == "running"
    assert dummy.loop.thread is not None
    assert dummy.loop.thread.daemon


def test_exceptions_keep_their_type_and_attributes(dummy: Dummy) -> None:
    with pytest.raises(CustomError, match="boom") as info:
        dummy.fail(CustomError("boom", 7))
    assert info.value.code == 7
    with pytest.raises(TimeoutError):  # ThalovantTimeoutError is also the builtin
        dummy.fail(ThalovantTimeoutError("late"))
    with pytest.raises(KeyError):
        dummy.fail(KeyError("k"))
    assert dummy.echo("still usable") == "still usable"


def test_iterator_is_plain_and_ends(dummy: Dummy) -> None:
    items = dummy.listen(3)
    assert iter(items) is items
    assert list(items) == [0, 1, 2]
    assert items.closed
    assert list(items) == []


def test_early_break_closes_the_async_iterator(dummy: Dummy) -> None:
    for item in dummy.listen(10):
        if item == 1:
            break
    # The abandoned iterator was collected at once and closed its async side.
    assert dummy.inner.stream_closed.wait(5)


def test_with_block_closes_the_async_iterator(dummy: Dummy) -> None:
    with dummy.listen(10) as items:
        assert next(items) == 0
    assert dummy.inner.stream_closed.is_set()  # closed synchronously on exit
    assert items.closed
    with pytest.raises(StopIteration):
        next(items)


def test_iterator_error_propagates_and_ends_iteration(dummy: Dummy) -> None:
    items = dummy.listen(200)
    with pytest.raises(ValueError, match="bad item"):
        for _ in items:
            pass
    assert items.closed
    assert list(items) == []


def test_call_on_own_loop_thread_raises_instead_of_deadlocking(dummy: Dummy) -> None:
    with pytest.raises(ThalovantRuntimeError, match="own event loop thread") as info:
        dummy.run_on_loop(lambda: dummy.echo("nested"))
    assert "DummyAsync" in str(info.value)
    with pytest.raises(ThalovantRuntimeError, match="own event loop thread"):
        dummy.run_on_loop(dummy.close)
    assert dummy.echo("fine") == "fine"


def test_foreign_running_loop_warns_once(dummy: Dummy, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="thalovant.sync")

    async def inside_a_loop() -> list[object]:
        return [dummy.echo(1), dummy.echo(2), dummy.where()]

    assert asyncio.run(inside_a_loop()) == [1, 2, LOOP_THREAD_NAME]
    warnings = [r for r in caplog.records if r.name == "thalovant.sync"]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "Dummy.echo() was called from a running event loop" in message
    assert "use DummyAsync" in message
    caplog.clear()
    asyncio.run(inside_a_loop())
    assert not [r for r in caplog.records if r.name == "thalovant.sync"]


def test_no_warning_outside_a_loop(dummy: Dummy, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="thalovant.sync")
    for value in range(5):
        dummy.echo(value)
    assert not caplog.records


def test_eight_threads_at_once_on_a_fresh_facade(dummy: Dummy) -> None:
    barrier = threading.Barrier(8, timeout=10)
    results: dict[int, list[int]] = {}
    loops: set[str] = set()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()  # all start at once, racing the lazy start
            loops.add(f"{dummy.where()}:{id(dummy.loop.thread)}")
            results[n] = [dummy.echo(n * 1000 + i) for i in range(50)]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(loops) == 1  # one loop thread, however many callers
    assert results == {n: [n * 1000 + i for i in range(50)] for n in range(8)}
    assert len(dummy.inner.echoed) == 400


def test_calls_after_close_raise_a_clear_error(make_dummy: Callable[[], Dummy]) -> None:
    dummy = make_dummy()
    dummy.echo(1)
    thread = dummy.loop.thread
    assert thread is not None
    dummy.close()
    assert not thread.is_alive()
    assert dummy.inner.closed.is_set()
    with pytest.raises(ThalovantRuntimeError, match="is closed"):
        dummy.echo(2)
    with pytest.raises(ThalovantRuntimeError, match="is closed"):
        dummy.listen(1)
    dummy.close()  # idempotent
    assert dummy.inner.close_calls == [1.0]


def test_close_again_from_a_new_thread(make_dummy: Callable[[], Dummy]) -> None:
    # A new thread often gets the ident of the stopped loop thread: no false deadlock error.
    dummy = make_dummy()
    dummy.echo(1)
    dummy.close()
    errors: list[BaseException] = []

    def close_again() -> None:
        try:
            dummy.close()
            assert not dummy.loop.on_loop_thread()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    for _ in range(5):
        thread = threading.Thread(target=close_again)
        thread.start()
        thread.join(10)
    assert not errors


def test_closing_an_unstarted_facade_starts_nothing(make_dummy: Callable[[], Dummy]) -> None:
    dummy = make_dummy()
    dummy.close()
    assert dummy.loop.state == "closed"
    assert dummy.loop.thread is None
    assert not dummy.inner.close_calls


def test_each_facade_has_its_own_loop(make_dummy: Callable[[], Dummy]) -> None:
    one, two = make_dummy(), make_dummy()
    one.echo(1)
    two.echo(2)
    assert one.loop.thread is not two.loop.thread


def test_loop_thread_repr_and_state() -> None:
    loop = LoopThread("Thing")
    assert "Thing" in repr(loop)
    assert not loop.running
    loop.shutdown()
    assert loop.state == "closed"


def test_call_sync_refuses_a_coroutine_function(dummy: Dummy) -> None:
    async def not_plain() -> None:
        pass  # pragma: no cover - closed unawaited

    with pytest.raises(TypeError, match="returned an awaitable"):
        _ = dummy.loop.call_sync(not_plain)  # what a mistyped caller would do


def test_submit_before_start_does_nothing(dummy: Dummy) -> None:
    dummy.loop.submit(dummy.inner.close)
    assert dummy.loop.state == "idle"
    assert not dummy.inner.close_calls
