"""The supervisor state machine and the backoff, with fake links (no sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantConnectTimeoutError,
    ThalovantError,
    ThalovantHubRefusedError,
)
from thalovant.link.supervisor import Backoff, Supervisor
from thalovant.link.telemetry import ConnectionTelemetry

pytestmark = pytest.mark.anyio


def test_backoff_full_jitter_with_floor() -> None:
    low, high = Backoff(rng=lambda: 0.0), Backoff(rng=lambda: 0.999999)
    assert low.delay(0) == 0.5
    assert 0.99 < high.delay(0) <= 1.0
    assert 1.99 < high.delay(1) <= 2.0
    assert high.delay(50) <= 30.0
    assert low.delay(50) == 0.5
    assert Backoff(initial=0, floor=0).delay(3) == 0.0
    with pytest.raises(ValueError):
        Backoff(initial=-1)


class FakeLink:
    def __init__(self, name: str) -> None:
        self.session_id = name
        self.ready = False
        self.dead = False
        self._end = anyio.Event()
        self._result: ThalovantError | None = None

    async def run(
        self, dispatch: Any, on_ready: Callable[[], None], *, probe: Any = None
    ) -> ThalovantError | None:
        self.ready = True
        on_ready()
        await self._end.wait()
        self.dead = True
        return self._result

    def drop(self, error: ThalovantError) -> None:
        self._result = error
        self._end.set()

    async def aclose(self) -> None:
        self.dead = True
        self._end.set()


class Dialer:
    """Dial outcomes in order: a FakeLink name, an exception, or "hang"."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0
        self.cancelled = 0
        self.was_cancelled = anyio.Event()
        self.links: list[FakeLink] = []

    async def __call__(self, telemetry: ConnectionTelemetry) -> Any:
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else "link"
        if outcome == "hang":
            try:
                await anyio.sleep_forever()
            finally:
                self.cancelled += 1
                self.was_cancelled.set()
        if isinstance(outcome, BaseException):
            raise outcome
        link = FakeLink(f"{outcome}-{self.calls}")
        self.links.append(link)
        return link


@pytest.fixture
async def harness(anyio_backend: Any) -> AsyncIterator[Callable[..., Supervisor]]:
    async with anyio.create_task_group() as tg:
        made: list[Supervisor] = []

        def start(dialer: Dialer, **kw: Any) -> Supervisor:
            kw.setdefault("auto_reconnect", True)
            kw.setdefault("backoff", Backoff(initial=0, floor=0))
            kw.setdefault("on_lost", lambda error: None)
            sup = Supervisor(
                dialer, lambda message: None, telemetry=ConnectionTelemetry("wss"), **kw
            )
            made.append(sup)
            tg.start_soon(sup.run)
            return sup

        yield start
        for sup in made:
            sup.close(ThalovantConnectionError("closed"))
        tg.cancel_scope.cancel()


def soon() -> float:
    return anyio.current_time() + 5


async def test_waiters_share_one_attempt(harness: Callable[..., Supervisor]) -> None:
    dialer = Dialer()
    sup = harness(dialer)
    links: list[Any] = []

    async def wait() -> None:
        links.append(await sup.wait_ready(soon()))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(wait)
    assert dialer.calls == 1
    assert len({id(link) for link in links}) == 1
    assert sup.state == "ready"
    assert sup.telemetry.phase == "ready"


async def test_dial_failure_reaches_every_waiter(harness: Callable[..., Supervisor]) -> None:
    error = ThalovantConnectionError("no route")
    sup = harness(Dialer(error))
    with anyio.fail_after(5), pytest.raises(ThalovantConnectionError, match="no route"):
        await sup.wait_ready(soon())
    assert sup.state == "idle"
    assert sup.telemetry.last_error is not None
    assert "no route" in sup.telemetry.last_error
    with anyio.fail_after(5):
        await sup.wait_ready(soon())  # a later call dials again


async def test_abandoned_attempt_is_cancelled(harness: Callable[..., Supervisor]) -> None:
    dialer = Dialer("hang")
    sup = harness(dialer)
    with anyio.fail_after(5):
        with pytest.raises(ThalovantConnectTimeoutError):
            await sup.wait_ready(anyio.current_time() + 0.05)
        await dialer.was_cancelled.wait()
    assert sup.state == "idle"


async def test_drop_fails_in_flight_then_redials(harness: Callable[..., Supervisor]) -> None:
    lost: list[ThalovantError] = []
    dialer = Dialer()
    sup = harness(dialer, on_lost=lost.append)
    with anyio.fail_after(5):
        first = await sup.wait_ready(soon())
        dialer.links[0].drop(ThalovantConnectionError("lost"))
        await sup.connected()
        while sup.link is None or sup.link is first:
            await sup.connected()
            await anyio.lowlevel.checkpoint()
    assert [str(e) for e in lost] == ["lost"]
    assert sup.redials == 1
    assert dialer.calls == 2


async def test_refusal_is_never_redialed(harness: Callable[..., Supervisor]) -> None:
    dialer = Dialer()
    sup = harness(dialer)
    with anyio.fail_after(5):
        await sup.wait_ready(soon())
        dialer.links[0].drop(ThalovantHubRefusedError("refused"))
        await sup.wait_down()
    assert sup.state == "idle"
    assert dialer.calls == 1
    with pytest.raises(ThalovantConnectionError, match="not reconnecting"):
        await sup.connected()


async def test_no_auto_reconnect(harness: Callable[..., Supervisor]) -> None:
    dialer = Dialer()
    sup = harness(dialer, auto_reconnect=False)
    with anyio.fail_after(5):
        await sup.wait_ready(soon())
        dialer.links[0].drop(ThalovantConnectionError("lost"))
        await sup.wait_down()
    assert dialer.calls == 1


async def test_request_skips_the_backoff_wait(harness: Callable[..., Supervisor]) -> None:
    dialer = Dialer("link", ThalovantConnectionError("still down"))
    sup = harness(dialer, backoff=Backoff(initial=100, floor=100))
    with anyio.fail_after(5):
        await sup.wait_ready(soon())
        dialer.links[0].drop(ThalovantConnectionError("lost"))
        while sup.state != "backoff":
            await anyio.lowlevel.checkpoint()
        # the 100 s wait is skipped for a caller; its failure keeps the redial loop going
        with pytest.raises(ThalovantConnectionError, match="still down"):
            await sup.wait_ready(soon())
        assert sup.state == "backoff"
        await sup.wait_ready(soon())
    assert dialer.calls == 3


async def test_close_fails_pending_waiters(harness: Callable[..., Supervisor]) -> None:
    dialer = Dialer("hang")
    sup = harness(dialer)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:

            async def wait() -> None:
                with pytest.raises(ThalovantConnectionError, match="bye"):
                    await sup.wait_ready(soon())

            tg.start_soon(wait)
            while sup.state != "connecting":
                await anyio.lowlevel.checkpoint()
            sup.close(ThalovantConnectionError("bye"))
            await dialer.was_cancelled.wait()  # the dial under way is cancelled too
    assert sup.state == "closed"
    assert sup.closed
    with pytest.raises(ThalovantConnectionError):
        await sup.connected()
