"""Start and stop of the loop thread: garbage collection, atexit, fork, Ctrl-C, closing
under a running call."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Callable

import pytest

from thalovant.errors import ThalovantConnectionError, ThalovantRuntimeError
from thalovant.sync.process import close_all_at_exit

from .dummy import Dummy, DummyAsync


def test_garbage_collection_stops_the_thread_and_closes() -> None:
    dummy = Dummy()
    dummy.echo(1)
    inner: DummyAsync = dummy.inner
    thread = dummy.loop.thread
    assert thread is not None
    assert thread in threading.enumerate()
    del dummy
    gc.collect()
    assert inner.closed.is_set()
    assert thread not in threading.enumerate()


def test_garbage_collection_of_unstarted_facade_is_quiet() -> None:
    dummy = Dummy()
    loop = dummy.loop
    del dummy
    gc.collect()
    assert loop.state == "closed"
    assert loop.thread is None


def test_handler_thread_stops_with_the_facade() -> None:
    dummy = Dummy()
    dummy.on(lambda item: None)
    dummy.fire_and_wait(1, 0)
    handlers = dummy.loop.handlers
    assert handlers.thread is not None  # started by the first event
    handler_thread = handlers.thread
    del dummy
    gc.collect()
    assert not handler_thread.is_alive()


def test_atexit_hook_closes_open_facades(make_dummy: Callable[[], Dummy]) -> None:
    open_one, closed_one, idle_one = make_dummy(), make_dummy(), make_dummy()
    open_one.echo(1)
    closed_one.echo(1)
    closed_one.close()
    close_all_at_exit(timeout=5)
    assert open_one.inner.closed.is_set()
    assert open_one.loop.state == "closed"
    assert open_one.loop.thread is not None
    assert not open_one.loop.thread.is_alive()
    assert closed_one.inner.close_calls == [1.0]  # not closed twice
    assert idle_one.loop.state == "idle"  # never started: nothing to do


def test_interpreter_exit_closes_a_client_left_open() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, {root!r})
        from tests.sync.dummy import Dummy

        class Loud(Dummy):
            pass

        dummy = Loud()
        original = dummy.inner.close

        async def close(timeout=None):
            print("closed within", round(timeout), "s", flush=True)
            await original(timeout)

        dummy.loop._closer = close
        print("echo", dummy.echo(5), flush=True)
        # no close(): the atexit hook must close it, and exit must not hang
        """
    ).format(root=os.getcwd())
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["echo 5", "closed within 5 s"]


def _fork() -> int:
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a multi-threaded process; that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def _child_exit_code(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), f"child did not exit normally: {status}"
    return os.WEXITSTATUS(status)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_a_clear_error(make_dummy: Callable[[], Dummy]) -> None:
    started, fresh = make_dummy(), make_dummy()
    started.echo("parent")
    pid = _fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 10
        try:
            signal.alarm(20)  # a hang kills the child instead of the test run
            try:
                started.echo("child")
            except ThalovantRuntimeError as exc:
                code = 0 if "os.fork()" in str(exc) and "create a new Dummy" in str(exc) else 11
            else:
                code = 12
            if code == 0:
                # a facade never started in the parent starts afresh in the child
                code = 0 if fresh.echo("child") == "child" else 13
                fresh.close()
                started.close()  # a forked copy closes quietly
        except BaseException:
            code = 14
        finally:
            os._exit(code)
    assert _child_exit_code(pid) == 0
    assert started.echo("parent again") == "parent again"  # the parent is unaffected


def test_ctrl_c_cancels_the_inner_call(dummy: Dummy) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are delivered to the main thread only")
    dummy.echo("warm up")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    main = threading.main_thread().ident
    assert main is not None

    def press_ctrl_c() -> None:
        if dummy.inner.started.wait(10):
            signal.pthread_kill(main, signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            dummy.block()
    finally:
        presser.join(10)
        signal.signal(signal.SIGINT, previous)
    assert dummy.inner.cancelled.is_set()  # the inner task unwound before the re-raise
    assert dummy.echo("after") == "after"


def test_closing_under_a_blocked_call_fails_it(make_dummy: Callable[[], Dummy]) -> None:
    dummy = make_dummy()
    outcome: list[BaseException] = []

    def blocked() -> None:
        try:
            dummy.block()
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=blocked)
    caller.start()
    assert dummy.inner.started.wait(10)
    dummy.close()
    caller.join(10)
    assert not caller.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], ThalovantConnectionError)
    assert "closed while this call was running" in str(outcome[0])
    assert dummy.inner.cancelled.is_set()


def test_shutdown_from_the_loop_thread_hands_over(make_dummy: Callable[[], Dummy]) -> None:
    dummy = make_dummy()
    dummy.echo(1)
    thread = dummy.loop.thread
    assert thread is not None

    async def shutdown_on_loop() -> None:
        dummy.loop.shutdown(5)  # what a garbage collection on the loop thread would do

    dummy.loop.submit(shutdown_on_loop)
    assert dummy.inner.closed.wait(10)
    thread.join(10)
    assert not thread.is_alive()
    assert dummy.loop.state == "closed"
