"""Concurrency, cancellation, close and drop mid-ask, redial, handler isolation, binary."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
import pytest

from thalovant import EVENT_SPEAK
from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import ThalovantConnectionError
from thalovant.hub import LocalHub, SkillContext
from thalovant.identity.model import ThalovantIdentity
from thalovant.models.types import ThalovantEvent
from thalovant.protocol.binary import BinaryFrame
from thalovant.protocol.envelope import HiveMessage
from thalovant.testing import HubTLS

from .conftest import NODE_ID, ClientFactory, register

pytestmark = pytest.mark.anyio


def hanging_skill(hub: LocalHub) -> anyio.Event:
    """A skill matching "hang" that never answers; the event is set when it runs."""
    arrived = anyio.Event()

    @hub.skill("test.hang", match=r"\bhang\b", priority=50)
    async def hang(ctx: SkillContext) -> None:
        arrived.set()
        await anyio.sleep_forever()

    return arrived


async def test_200_concurrent_asks_on_one_connection(client: AsyncThalovantClient) -> None:
    replies: dict[int, Any] = {}

    async def one(n: int) -> None:
        replies[n] = await client.ask("hello", context={"n": n})

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for n in range(200):
                tg.start_soon(one, n)
    assert len(replies) == 200
    assert len({reply.request_id for reply in replies.values()}) == 200
    for n, reply in replies.items():
        assert "Hello" in reply.text
        assert all(event.context["n"] == n for event in reply.events)
    assert client.bus.in_flight == 0
    assert client.redials == 0


async def test_cancelled_ask_leaves_no_registration(
    hub: LocalHub, client: AsyncThalovantClient
) -> None:
    arrived = hanging_skill(hub)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:

            async def ask() -> None:
                await client.ask("hang on", timeout=10)

            tg.start_soon(ask)
            await arrived.wait()
            assert client.bus.in_flight == 1
            tg.cancel_scope.cancel()
    assert client.bus.in_flight == 0
    assert not client.bus._asks  # removed at once, not after a grace period
    # (the hub runs one request per session at a time: the hanging one still holds it)
    with anyio.fail_after(5):
        assert "Hello" in (await client.ask("hello", session_id="another-session")).text


async def test_close_mid_ask_fails_at_once(hub: LocalHub, client: AsyncThalovantClient) -> None:
    arrived = hanging_skill(hub)
    outcome: list[BaseException] = []

    async def ask() -> None:
        try:
            await client.ask("hang on", timeout=30)
        except ThalovantConnectionError as exc:
            outcome.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)
            await arrived.wait()
            started = anyio.current_time()
            await client.close()
        elapsed = anyio.current_time() - started
    assert len(outcome) == 1
    assert "closed" in str(outcome[0])
    assert elapsed < 1.0  # well under the ask's 30 s


async def test_drop_mid_ask_fails_fast_then_redials(
    hub: LocalHub, client: AsyncThalovantClient
) -> None:
    arrived = hanging_skill(hub)
    heard: list[ThalovantEvent] = []
    heard_again = anyio.Event()

    def on_speak(event: ThalovantEvent) -> None:
        heard.append(event)
        if len(heard) == 2:
            heard_again.set()

    subscription = client.on(EVENT_SPEAK, on_speak)
    assert "Hello" in (await client.ask("hello")).text
    first_session = client.session_id
    outcome: list[BaseException] = []

    async def ask() -> None:
        try:
            await client.ask("hang on", timeout=30)
        except ThalovantConnectionError as exc:
            outcome.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)
            await arrived.wait()
            started = anyio.current_time()
            await hub.drop_connections(code=1011)
        assert anyio.current_time() - started < 1.0
        assert len(outcome) == 1
        assert "1011" in str(outcome[0])
        await client.connected()
        assert client.session_id not in (None, first_session)
        assert client.redials == 1
        assert "Hello" in (await client.ask("hello")).text
        await heard_again.wait()
    assert not subscription.closed
    assert subscription.errors == 0


async def test_drop_on_a_busy_hub_fails_every_ask_at_once(
    hub: LocalHub, make_client: ClientFactory, identity: ThalovantIdentity
) -> None:
    """A busy hub stops reading (its queue of frames is full), so it never sees the client's
    answering close frame and closes TCP only after its close timeout (2 s): the client must
    not wait for that (issue #11, defect 13)."""

    @hub.skill("test.chatty", match=r"^chatty$", priority=50)
    async def chatty(ctx: SkillContext) -> None:
        for n in range(50):
            await ctx.speak(f"line {n}")

    arrived = hanging_skill(hub)
    answered = 0
    busy = anyio.Event()
    failed_at: list[float] = []
    dropping = False

    async with make_client(identity, auto_reconnect=False) as client:

        async def lane(index: int) -> None:
            nonlocal answered
            while not dropping:  # an ask started after the drop would connect again
                try:
                    await client.ask("chatty", session_id=f"lane-{index}", timeout=30)
                except ThalovantConnectionError:
                    failed_at.append(anyio.current_time())
                    return
                answered += 1
                if answered == 128:
                    busy.set()

        async def hang() -> None:  # certain to be in flight at the drop
            with pytest.raises(ThalovantConnectionError, match="1011"):
                await client.ask("hang on", session_id="hanging", timeout=30)
            failed_at.append(anyio.current_time())

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(hang)
                await arrived.wait()
                for index in range(64):
                    tg.start_soon(lane, index)
                await busy.wait()
                dropping, dropped = True, anyio.current_time()
                await hub.drop_connections(code=1011)
    assert failed_at
    assert max(failed_at) - dropped < 1.0  # was 2.0: the hub's close timeout


async def test_hub_crash_mid_ask_fails_fast(hub: LocalHub, client: AsyncThalovantClient) -> None:
    arrived = hanging_skill(hub)
    outcome: list[BaseException] = []

    async def ask() -> None:
        try:
            await client.ask("hang on", timeout=30)
        except ThalovantConnectionError as exc:
            outcome.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)
            await arrived.wait()
            started = anyio.current_time()
            hub.kill()  # no close frame: the socket just dies
        assert anyio.current_time() - started < 1.0
        # the hub is gone: a new ask cannot connect, and says so within its deadline
        with pytest.raises(ThalovantConnectionError):
            await client.ask("hello", timeout=2)
    assert len(outcome) == 1
    assert client.bus.in_flight == 0


async def test_ask_during_outage_redials_before_publishing(
    hub: LocalHub, make_client: ClientFactory, identity: ThalovantIdentity
) -> None:
    async with make_client(identity, auto_reconnect=False) as client:
        first_session = client.session_id
        with anyio.fail_after(5):
            await hub.drop_connections(code=1011)
            await client.wait_closed()  # down, and not redialing by itself
            assert client.state == "idle"
            reply = await client.ask("hello")  # connects again before publication
        assert "Hello" in reply.text
        assert client.session_id != first_session


async def test_raising_handler_does_not_kill_the_reader(
    client: AsyncThalovantClient, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []
    second = anyio.Event()

    def explode(event: ThalovantEvent) -> None:
        calls.append(event.text)
        if len(calls) == 2:
            second.set()
        raise RuntimeError("handler bug")

    with caplog.at_level(logging.ERROR, logger="thalovant.bus"):
        subscription = client.on(EVENT_SPEAK, explode)
        with anyio.fail_after(5):
            assert (await client.ask("hello")).text
            assert (await client.ask("tell me a joke")).text
            await second.wait()
    assert subscription.errors >= 1
    assert client.is_connected
    assert "handler bug" in caplog.text


async def test_large_chunked_messages_do_not_interleave(client: AsyncThalovantClient) -> None:
    blob = "x" * 150_000  # three chunks each way (the hub echoes the context)

    async def one(n: int) -> None:
        reply = await client.ask("hello", context={"blob": blob, "n": n})
        assert reply.events[0].context["n"] == n
        assert reply.events[0].context["blob"] == blob

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for n in range(8):
                tg.start_soon(one, n)
    assert client.redials == 0


async def test_send_binary_reaches_the_hub(hub: LocalHub, client: AsyncThalovantClient) -> None:
    got: list[BinaryFrame] = []
    done = anyio.Event()

    @hub.on_binary
    async def collect(session: Any, frame: BinaryFrame) -> None:
        got.append(frame)
        done.set()

    audio = bytes(range(256)) * 400  # 100 KiB: chunked
    with anyio.fail_after(5):
        await client.send_binary(audio, kind="raw_audio", metadata={"lang": "en-us"})
        await done.wait()
    assert got[0].binary_kind == "raw_audio"
    assert got[0].data == audio
    assert got[0].metadata == {"lang": "en-us"}


async def test_propagate_reaches_hive_subscribers(
    hub: LocalHub, make_client: ClientFactory, identity: ThalovantIdentity
) -> None:
    other = register(hub, "other")
    received: list[HiveMessage] = []
    arrived = anyio.Event()

    def on_propagate(message: HiveMessage) -> None:
        received.append(message)
        arrived.set()

    async with make_client(identity) as listener, make_client(other) as sender:
        await listener.on_hive("propagate", on_propagate)
        with anyio.fail_after(5):
            await hub.wait_for_connections(2)
            await sender.propagate("thalovant.test.ping", {"n": 1})
            await arrived.wait()
    inner = received[0].payload
    assert inner["msg_type"] == "bus"
    assert inner["payload"]["type"] == "thalovant.test.ping"
    assert inner["payload"]["data"] == {"n": 1}
    assert inner["payload"]["context"]["source"] == sender.options.useragent


async def test_hub_restart_redials_and_replays_nothing(
    hub_tls: HubTLS, tmp_path: Path, make_client: ClientFactory
) -> None:
    heard: list[str] = []
    arrived = anyio.Event()

    def skills(hub: LocalHub) -> None:
        @hub.skill("test.count", match=r"\bcount\b", priority=50)
        async def count(ctx: SkillContext) -> None:
            heard.append(ctx.utterance)
            await ctx.speak("counted")

        @hub.skill("test.hang", match=r"\bhang\b", priority=50)
        async def hang(ctx: SkillContext) -> None:
            heard.append(ctx.utterance)
            arrived.set()
            await anyio.sleep_forever()

    state = tmp_path / "restarted-hub"
    outcome: list[BaseException] = []

    async def ask_and_hang(client: AsyncThalovantClient) -> None:
        try:
            await client.ask("hang on", timeout=30)
        except ThalovantConnectionError as exc:
            outcome.append(exc)

    with anyio.fail_after(15):
        async with (
            anyio.create_task_group() as tg,
            LocalHub(state, node_id=NODE_ID, ssl_context=hub_tls.server_context) as hub,
        ):
            skills(hub)
            identity = register(hub, "restart")
            ports = {"wss_port": hub.wss_port, "https_port": hub.https_port}
            client = make_client(identity)
            assert (await client.ask("count one")).text == "counted"
            tg.start_soon(ask_and_hang, client)
            await arrived.wait()
        assert len(outcome) == 1  # failed fast when the hub went away, not replayed
        async with LocalHub(
            state, node_id=NODE_ID, ssl_context=hub_tls.server_context, **ports
        ) as again:
            skills(again)
            await client.connected()
            assert (await client.ask("count two")).text == "counted"
    assert heard == ["count one", "hang on", "count two"]
    assert client.redials >= 1
