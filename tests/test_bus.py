"""EventBus: request routing, denial attribution, streams, handlers, fail_all, close."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from thalovant.bus import CollectorSink, EventBus, RequestRegistration
from thalovant.client.collector import AskCollector, QueryCollector
from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantPolicyDeniedError,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
)
from thalovant.models.types import ThalovantEvent

pytestmark = pytest.mark.anyio


def ev(
    name: str = "speak", rid: str | None = None, sid: str | None = None, **data: Any
) -> ThalovantEvent:
    context: dict[str, Any] = {}
    if rid is not None:
        context["request_id"] = rid
    if sid is not None:
        context["session"] = {"session_id": sid}
    return ThalovantEvent(name, data, context)


def denial(
    denied_type: str = "recognizer_loop:utterance", rid: str | None = None
) -> ThalovantEvent:
    return ev("hive.policy.denied", rid=rid, denied_type=denied_type, code="blocked")


class Sink:
    def __init__(self) -> None:
        self.events: list[ThalovantEvent] = []
        self.errors: list[BaseException] = []

    def deliver(self, event: ThalovantEvent) -> None:
        self.events.append(event)

    def fail(self, exc: BaseException) -> None:
        self.errors.append(exc)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class NoIterDict(dict[str, RequestRegistration]):
    """Routing must look requests up by id, never scan them."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise AssertionError("request index was scanned")

    def values(self):  # type: ignore[no-untyped-def]
        raise AssertionError("request index was scanned")

    def items(self):  # type: ignore[no-untyped-def]
        raise AssertionError("request index was scanned")


# --- request routing -----------------------------------------------------------------------


async def test_routing_by_request_id_is_a_lookup_among_10k() -> None:
    bus = EventBus()
    sinks = {f"r{i}": Sink() for i in range(10_000)}
    regs = [bus.register_request(rid, sink) for rid, sink in sinks.items()]
    assert bus.in_flight == 10_000
    bus._asks = NoIterDict(bus._asks)
    for i in range(0, 10_000, 7):
        bus.publish(ev(rid=f"r{i}", utterance=str(i)))
    bus.publish(ev(rid="unknown"))
    bus.publish(ev())  # no request id, not a denial: no request sink involved
    for rid, sink in sinks.items():
        i = int(rid[1:])
        assert [e.text for e in sink.events] == ([str(i)] if i % 7 == 0 else [])
    bus._asks = dict(bus._asks)
    for reg in regs:
        reg.close()
    assert bus.in_flight == 0


async def test_duplicate_registration_and_namespaces() -> None:
    bus = EventBus()
    reg = bus.register_request("r1", Sink())
    with pytest.raises(ThalovantRuntimeError, match="already in flight"):
        bus.register_request("r1", Sink())
    query = bus.register_request("r1", Sink(), kind="query")  # separate namespace
    reg.close()
    reg.close()  # idempotent
    with bus.register_request("r1", Sink()) as again:
        assert bus.in_flight == 2
    assert again.closed
    assert bus.in_flight == 1
    query.unregister()
    assert bus.in_flight == 0


async def test_closing_a_stale_registration_keeps_the_new_one() -> None:
    bus = EventBus()
    old = bus.register_request("r1", Sink())
    bus.fail_all(ThalovantConnectionError("gone"))
    sink = Sink()
    new = bus.register_request("r1", sink)
    old.close()
    bus.publish(ev(rid="r1"))
    assert len(sink.events) == 1
    new.close()


async def test_query_delivery() -> None:
    bus = EventBus()
    sink = Sink()
    bus.register_request("q1", sink, kind="query")
    assert bus.deliver_query("q1", ev("speak"))
    assert not bus.deliver_query("q2", ev("speak"))
    bus.publish(ev(rid="q1"))  # bus events route to asks only
    assert len(sink.events) == 1


async def test_raising_sink_does_not_break_publish(caplog: pytest.LogCaptureFixture) -> None:
    class Bad(Sink):
        def deliver(self, event: ThalovantEvent) -> None:
            raise RuntimeError("boom")

    bus = EventBus()
    bus.register_request("r1", Bad())
    stream = bus.subscribe("speak")
    with caplog.at_level(logging.ERROR, logger="thalovant.bus"):
        bus.publish(ev(rid="r1"))
    assert "boom" in caplog.text
    with anyio.fail_after(5):
        assert (await stream.__anext__()).request_id == "r1"
    stream.close()


# --- policy denial attribution -------------------------------------------------------------


async def test_denial_without_id_goes_to_the_only_ask() -> None:
    clock = Clock()
    bus = EventBus(clock=clock)
    sink = Sink()
    reg = bus.register_request("r1", sink)
    bus.publish(denial())
    assert len(sink.events) == 1
    bus.publish(denial(denied_type="ovos.intent.list"))  # another message was denied
    assert len(sink.events) == 1
    bus.publish(denial(rid="r1", denied_type="ovos.intent.list"))  # carries our id
    assert len(sink.events) == 2
    reg.close()


async def test_denial_not_attributed_with_two_asks_or_a_query() -> None:
    bus = EventBus()
    a, b = Sink(), Sink()
    reg_a = bus.register_request("a", a)
    reg_b = bus.register_request("b", b)
    bus.publish(denial())
    assert a.events == b.events == []
    reg_b.mark_done()  # answered, only listening for a late handled event
    assert bus.in_flight == 1
    bus.publish(denial())
    assert len(a.events) == 1
    assert b.events == []
    query = bus.register_request("q", Sink(), kind="query")
    bus.publish(denial())
    assert len(a.events) == 1
    query.close()
    reg_a.close()
    reg_b.close()


async def test_denial_not_attributed_after_untracked_utterance() -> None:
    clock = Clock()
    bus = EventBus(clock=clock)
    sink = Sink()
    bus.register_request("r1", sink)
    bus.note_untracked_utterance()
    clock.now += 9.9
    bus.publish(denial())
    assert sink.events == []
    clock.now += 0.1
    bus.publish(denial())
    assert len(sink.events) == 1
    bus.note_untracked_utterance(now=clock.now)
    bus.publish(denial())
    assert len(sink.events) == 1


# --- streams -------------------------------------------------------------------------------


async def test_stream_receives_matching_events_in_order() -> None:
    bus = EventBus()
    async with bus.subscribe("speak") as stream:
        for i in range(3):
            bus.publish(ev(utterance=str(i)))
        bus.publish(ev("other"))
        with anyio.fail_after(5):
            got = [(await stream.__anext__()).text for _ in range(3)]
        assert got == ["0", "1", "2"]
    assert stream.closed
    assert "speak" not in bus._subs


async def test_stream_filters() -> None:
    bus = EventBus()
    stream = bus.subscribe(
        "speak", session_id="s1", request_id="r1", predicate=lambda e: e.text != "skip"
    )
    bus.publish(ev(rid="r2", utterance="other request"))
    bus.publish(ev(sid="s2", utterance="other session"))
    bus.publish(ev(rid="r1", sid="s2", utterance="our request, hub session"))
    bus.publish(ev(utterance="no metadata"))
    bus.publish(ev(rid="r1", utterance="skip"))
    bus.close()
    with anyio.fail_after(5):
        got = [e.text async for e in stream]
    assert got == ["our request, hub session", "no metadata"]


async def test_raising_predicate_skips_the_event(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()

    def predicate(event: ThalovantEvent) -> bool:
        raise ValueError("bad predicate")

    stream = bus.subscribe("speak", predicate=predicate)
    with caplog.at_level(logging.ERROR, logger="thalovant.bus"):
        bus.publish(ev())
    assert "bad predicate" in caplog.text
    bus.close()
    assert [e async for e in stream] == []


async def test_wildcard_stream_sees_everything() -> None:
    bus = EventBus()
    stream = bus.subscribe("*")
    for name in ("speak", "ovos.utterance.handled", "mycroft.audio.queue"):
        bus.publish(ev(name))
    bus.close()
    assert [e.name async for e in stream] == [
        "speak",
        "ovos.utterance.handled",
        "mycroft.audio.queue",
    ]


async def test_overflow_raise_retires_the_stream() -> None:
    bus = EventBus()
    stream = bus.subscribe("speak", max_buffered=2)
    for i in range(3):
        bus.publish(ev(utterance=str(i)))
    assert stream.closed
    assert "speak" not in bus._subs
    with pytest.raises(ThalovantRuntimeError, match="overflowed"):
        await stream.__anext__()
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    bus.publish(ev())  # retired: nothing is buffered any more


async def test_overflow_drop_oldest_counts_and_rate_limits_its_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    stream = bus.subscribe("speak", max_buffered=2, overflow="drop_oldest")
    with caplog.at_level(logging.WARNING, logger="thalovant.bus"):
        for i in range(5):
            bus.publish(ev(utterance=str(i)))
        assert stream.dropped == 3
        assert len(caplog.records) == 1  # the first drop warns at once
        with anyio.fail_after(5):
            assert [(await stream.__anext__()).text for _ in range(2)] == ["3", "4"]
        for i in range(5, 8):
            bus.publish(ev(utterance=str(i)))
        assert stream.dropped == 4
        assert len(caplog.records) == 1  # another burst within the interval: counted only
        bus.close()
    assert len(caplog.records) == 2  # closing reports the drops no warning mentioned
    assert "3 dropped since the last warning, 4 in all" in caplog.records[1].getMessage()
    assert [e.text async for e in stream] == ["6", "7"]


async def test_a_flood_of_drops_logs_a_handful_of_warnings(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from thalovant.bus import subscribers as _subscribers

    clock = [1000.0]
    monkeypatch.setattr(_subscribers.time, "monotonic", lambda: clock[0])
    release = anyio.Event()

    async def stuck(event: ThalovantEvent) -> None:
        await release.wait()

    with caplog.at_level(logging.WARNING, logger="thalovant.bus"):
        async with EventBus() as bus:
            sub = bus.on("speak", stuck, max_buffered=4)
            await anyio.lowlevel.checkpoint()  # the handler takes the first event and sticks
            for _ in range(10_000):
                bus.publish(ev())
                clock[0] += 0.002  # 10,000 drops in 20 s: two intervals
            release.set()
            sub.close()
    assert sub.dropped > 9_000
    messages = [r.getMessage() for r in caplog.records]
    assert 2 <= len(messages) <= 4, messages
    assert f"{sub.dropped} in all" in messages[-1]


async def test_a_no_op_handler_keeps_up_with_bursts_of_events() -> None:
    """Like the link's reader: many events per turn of the event loop (one TLS read holds
    dozens of frames). The handler's task must take the whole batch at each turn."""
    heard: list[ThalovantEvent] = []
    async with EventBus() as bus:
        sub = bus.on("speak", heard.append)  # 256 buffered
        for _ in range(50):
            for _ in range(200):
                bus.publish(ev())
            await anyio.lowlevel.checkpoint()
            await anyio.lowlevel.checkpoint()
        with anyio.fail_after(5):
            await anyio.wait_all_tasks_blocked()  # the handler's task drained its queue
    assert sub.dropped == 0
    assert len(heard) == sub.delivered == 10_000


async def test_a_listener_keeps_up_with_bursts_of_events() -> None:
    async with EventBus() as bus:
        stream = bus.subscribe("speak")  # 256 buffered, overflow raises
        got = 0

        async def consume() -> None:
            nonlocal got
            async for _ in stream:
                got += 1

        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            for _ in range(50):
                for _ in range(200):
                    bus.publish(ev())
                await anyio.lowlevel.checkpoint()
                await anyio.lowlevel.checkpoint()
            stream._detach()  # end the iteration after what is buffered
    assert stream.dropped == 0
    assert got == 10_000


async def test_overflow_drop_newest() -> None:
    bus = EventBus()
    stream = bus.subscribe("speak", max_buffered=2, overflow="drop_newest")
    for i in range(5):
        bus.publish(ev(utterance=str(i)))
    assert stream.dropped == 3
    bus.close()
    assert [e.text async for e in stream] == ["0", "1"]


async def test_bad_arguments() -> None:
    bus = EventBus()
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ThalovantRuntimeError):
            bus.subscribe("speak", max_buffered=bad)  # type: ignore[arg-type]
        with pytest.raises(ThalovantRuntimeError):
            bus.on("speak", print, max_buffered=bad)  # type: ignore[arg-type]
    with pytest.raises(ThalovantRuntimeError):
        bus.subscribe("speak", overflow="block")  # type: ignore[arg-type]
    bus.close()
    with pytest.raises(ThalovantRuntimeError, match="closed"):
        bus.subscribe("speak")
    with pytest.raises(ThalovantRuntimeError, match="closed"):
        bus.register_request("r", Sink())


async def test_close_ends_waiting_iterators() -> None:
    bus = EventBus()
    stream = bus.subscribe("speak")
    got: list[str] = []
    ended = anyio.Event()

    async def consume() -> None:
        async for event in stream:
            got.append(event.text)
        ended.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        bus.publish(ev(utterance="last"))
        await anyio.wait_all_tasks_blocked()
        bus.close()
        bus.publish(ev(utterance="after close"))
        with anyio.fail_after(5):
            await ended.wait()
    assert got == ["last"]


async def test_consumer_close_ends_iteration_now() -> None:
    bus = EventBus()
    stream = bus.subscribe("speak")
    bus.publish(ev())
    await stream.aclose()
    assert [e async for e in stream] == []
    bus.publish(ev())
    assert not bus._subs


# --- callback subscriptions ----------------------------------------------------------------


async def test_sync_and_async_handlers() -> None:
    seen: list[str] = []
    done = anyio.Event()

    def sync_handler(event: ThalovantEvent) -> None:
        seen.append("sync:" + event.text)

    async def async_handler(event: ThalovantEvent) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append("async:" + event.text)
        done.set()

    async with EventBus() as bus:
        sub1 = bus.on("speak", sync_handler)
        sub2 = bus.on("speak", async_handler)
        bus.publish(ev(utterance="hi"))
        with anyio.fail_after(5):
            await done.wait()
            await anyio.wait_all_tasks_blocked()
    assert sorted(seen) == ["async:hi", "sync:hi"]
    assert sub1.delivered == sub2.delivered == 1


async def test_slow_handler_blocks_neither_publish_nor_other_handlers() -> None:
    release = anyio.Event()
    slow_entered = anyio.Event()
    fast_got: list[str] = []
    fast_done = anyio.Event()
    slow_got: list[str] = []

    async def slow(event: ThalovantEvent) -> None:
        slow_got.append(event.text)
        slow_entered.set()
        await release.wait()

    def fast(event: ThalovantEvent) -> None:
        fast_got.append(event.text)
        if len(fast_got) == 101:
            fast_done.set()

    async with EventBus() as bus:
        slow_sub = bus.on("speak", slow, max_buffered=10)
        bus.on("speak", fast, max_buffered=1000)
        with anyio.fail_after(5):
            bus.publish(ev(utterance="first"))
            await slow_entered.wait()  # the slow handler is now stuck
            for i in range(100):
                bus.publish(ev(utterance=str(i)))  # synchronous: returns at once
            await fast_done.wait()
        assert fast_got == ["first"] + [str(i) for i in range(100)]
        assert slow_got == ["first"]
        assert slow_sub.dropped == 90  # its own bounded queue dropped the oldest
        release.set()
        with anyio.fail_after(5):
            while slow_sub.delivered < 11:
                await anyio.wait_all_tasks_blocked()
        assert slow_got == ["first"] + [str(i) for i in range(90, 100)]


async def test_raising_handler_is_logged_and_isolated(caplog: pytest.LogCaptureFixture) -> None:
    good: list[str] = []

    def bad(event: ThalovantEvent) -> None:
        raise RuntimeError(f"handler exploded on {event.text}")

    with caplog.at_level(logging.ERROR, logger="thalovant.bus"):
        async with EventBus() as bus:
            bad_sub = bus.on("speak", bad)
            bus.on("speak", lambda e: good.append(e.text))
            bus.publish(ev(utterance="a"))
            bus.publish(ev(utterance="b"))
            with anyio.fail_after(5):
                while len(good) < 2 or bad_sub.errors < 2:
                    await anyio.wait_all_tasks_blocked()
    assert good == ["a", "b"]
    records = [r for r in caplog.records if r.name == "thalovant.bus"]
    assert len(records) == 2
    assert records[0].exc_info is not None
    assert "handler exploded on a" in caplog.text


async def test_subscription_close_stays_closed() -> None:
    got: list[str] = []
    async with EventBus() as bus:
        sub = bus.on("speak", lambda e: got.append(e.text))
        bus.publish(ev(utterance="1"))
        with anyio.fail_after(5):
            while not got:
                await anyio.wait_all_tasks_blocked()
        sub.close()
        sub.unsubscribe()
        bus.publish(ev(utterance="2"))
        await anyio.wait_all_tasks_blocked()
        with bus.on("speak", lambda e: got.append("ctx " + e.text)) as ctx_sub:
            pass
        assert ctx_sub.closed
        bus.publish(ev(utterance="3"))
        await anyio.wait_all_tasks_blocked()
    assert got == ["1"]


async def test_handler_can_unsubscribe_itself() -> None:
    got: list[str] = []
    async with EventBus() as bus:

        def once(event: ThalovantEvent) -> None:
            got.append(event.text)
            sub.close()

        sub = bus.on("speak", once)
        for text in "abc":
            bus.publish(ev(utterance=text))
        with anyio.fail_after(5):
            await anyio.wait_all_tasks_blocked()
    assert got == ["a"]


async def test_handlers_registered_before_start_run_after_start() -> None:
    bus = EventBus()
    got: list[str] = []
    bus.on("speak", lambda e: got.append(e.text), session_id="s1")
    bus.publish(ev(sid="s1", utterance="early"))
    bus.publish(ev(sid="s2", utterance="filtered"))
    async with anyio.create_task_group() as tg:
        await bus.start(tg)
        with anyio.fail_after(5):
            while not got:
                await anyio.wait_all_tasks_blocked()
        bus.close()
    assert got == ["early"]


async def test_close_stops_a_stuck_handler_and_unstarted_ones() -> None:
    entered = anyio.Event()

    async def stuck(event: ThalovantEvent) -> None:
        entered.set()
        await anyio.sleep_forever()

    never_started = EventBus()
    never_started.on("speak", print)
    never_started.publish(ev())
    never_started.close()
    never_started.close()

    with anyio.fail_after(5):
        async with EventBus() as bus:
            sub = bus.on("speak", stuck)
            bus.publish(ev())
            await entered.wait()
    assert sub.closed
    assert bus.closed


async def test_subscriptions_survive_fail_all() -> None:
    got: list[str] = []
    async with EventBus() as bus:
        bus.on("speak", lambda e: got.append(e.text))
        bus.fail_all(ThalovantConnectionError("link dropped"))
        bus.publish(ev(utterance="after reconnect"))
        with anyio.fail_after(5):
            while not got:
                await anyio.wait_all_tasks_blocked()
    assert got == ["after reconnect"]


# --- fail_all and CollectorSink --------------------------------------------------------------


async def test_fail_all_wakes_waiters_at_once() -> None:
    bus = EventBus()
    sinks = [CollectorSink(AskCollector(f"r{i}")) for i in range(3)]
    plain = Sink()
    for i, sink in enumerate(sinks):
        bus.register_request(f"r{i}", sink)
    bus.register_request("plain", plain)
    errors: list[BaseException] = []

    async def wait(sink: CollectorSink) -> None:
        try:
            await sink.wait(anyio.current_time() + 3600)
        except ThalovantConnectionError as exc:
            errors.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for sink in sinks:
                tg.start_soon(wait, sink)
            await anyio.wait_all_tasks_blocked()
            bus.fail_all(ThalovantConnectionError("link dropped"))
    assert len(errors) == 3
    assert len(plain.errors) == 1
    assert bus.in_flight == 0


async def test_collector_sink_completes_on_handled() -> None:
    bus = EventBus()
    sink = CollectorSink(AskCollector("r1", hub_sends_handled=True))
    with bus.register_request("r1", sink):
        result: list[str] = []

        async def wait() -> None:
            result.append((await sink.wait(anyio.current_time() + 3600)).text)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait)
                await anyio.wait_all_tasks_blocked()
                bus.publish(ev(rid="r1", utterance="Hello"))
                await anyio.wait_all_tasks_blocked()
                assert result == []  # no settle window: waiting for handled
                bus.publish(ev("ovos.utterance.handled", rid="r1"))
    assert result == ["Hello"]


async def test_collector_sink_settle_fallback_uses_the_clock() -> None:
    sink = CollectorSink(AskCollector("r1", settle_seconds=0.01))
    sink.deliver(ev(rid="r1", utterance="Hi"))
    with anyio.fail_after(5):
        reply = await sink.wait(anyio.current_time() + 3600)
    assert reply.text == "Hi"


async def test_collector_sink_overall_deadline() -> None:
    sink = CollectorSink(AskCollector("r1"))
    with anyio.fail_after(5), pytest.raises(ThalovantTimeoutError):
        await sink.wait(anyio.current_time() + 0.01)


async def test_collector_sink_denial_and_query() -> None:
    bus = EventBus()
    sink = CollectorSink(AskCollector("r1"))
    bus.register_request("r1", sink)
    bus.publish(denial())
    with anyio.fail_after(5), pytest.raises(ThalovantPolicyDeniedError):
        await sink.wait(anyio.current_time() + 3600)
    qsink = CollectorSink(QueryCollector("q1"))
    bus.register_request("q1", qsink, kind="query")
    bus.deliver_query("q1", ev(utterance="answer"))
    bus.deliver_query("q1", ev("hive.query.complete"))
    with anyio.fail_after(5):
        assert (await qsink.wait(anyio.current_time() + 3600)).text == "answer"


async def test_subscription_whose_task_group_ended_closes_itself(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    got: list[str] = []
    async with anyio.create_task_group() as tg:
        await bus.start(tg)
        sub = bus.on("speak", lambda e: got.append(e.text))
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()  # e.g. the owner's task group went away without bus.close()
    with caplog.at_level(logging.WARNING, logger="thalovant.bus"):
        bus.publish(ev(utterance="nobody home"))
    assert sub.closed
    assert "ended" in caplog.text
    bus.close()


def test_collector_sink_is_constructible_outside_a_loop() -> None:
    sink = CollectorSink(AskCollector("r1"), clock=lambda: 0.0)
    sink.deliver(ev(rid="r1", utterance="x"))
    sink.fail(ThalovantConnectionError("gone"))
    assert sink.collector.finish(1.0).text == "x"
