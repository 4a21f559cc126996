"""Events and low-level sends: emit, reply, listen buffers, conversations, portal use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import pytest

from thalovant import EVENT_SPEAK
from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import ThalovantConnectionError, ThalovantRuntimeError
from thalovant.hub import LocalHub, SkillContext
from thalovant.identity.model import ThalovantIdentity
from thalovant.models.types import ThalovantEvent
from thalovant.testing import HubTLS

from .conftest import NODE_ID, ClientFactory, register

pytestmark = pytest.mark.anyio


async def test_emit_and_wait_for_correlated_response(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(5):
        waiter = client.wait_for_event("ovos.intent.list.response", request_id="inv-1")
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                client.emit, "ovos.intent.list", {"lang": "en-us"}, {"request_id": "inv-1"}
            )
            response = await waiter
    assert "thalovant-demo.joke" in response.data["skills"]
    assert response.request_id == "inv-1"


async def test_reply_swaps_routing(hub: LocalHub, make_client: ClientFactory) -> None:
    identity = register(
        hub, "home", allowed_types=["thalovant.test.start", "thalovant.home.response"]
    )
    answered: list[SkillContext] = []
    done = anyio.Event()

    @hub.on_bus("thalovant.test.start")
    async def start(ctx: SkillContext) -> None:
        await ctx.emit("thalovant.home.request", {"utterance": "lights on"})

    @hub.on_bus("thalovant.home.response")
    async def response(ctx: SkillContext) -> None:
        answered.append(ctx)
        done.set()

    async with make_client(identity) as client:

        async def answer(event: ThalovantEvent) -> None:
            await client.reply(event, "thalovant.home.response", {"speech": "done"})

        client.on("thalovant.home.request", answer)
        with anyio.fail_after(5):
            await client.emit("thalovant.test.start", {}, {"request_id": "home-1"})
            await done.wait()
    context = answered[0].request_context
    assert answered[0].data == {"speech": "done"}
    assert context["request_id"] == "home-1"
    # the hub's reply had source=HiveMind, destination=<UA>; our reply swaps them back
    assert context["source"] == client.options.useragent
    assert context["destination"] == "HiveMind"


async def test_listen_overflow_retires_the_listener(client: AsyncThalovantClient) -> None:
    listener = client.listen(EVENT_SPEAK, timeout=5, max_buffered_events=1)
    with anyio.fail_after(5):
        reply = await client.ask("tell me a story")  # three speak events, nobody reading
        assert len(reply.utterances) == 3
        with pytest.raises(ThalovantRuntimeError, match="overflowed"):
            async for _ in listener:
                pass
    assert listener.closed


async def test_listen_filters_by_session(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(5):
        mine = client.conversation()
        other = client.conversation()
        listener = mine.listen(EVENT_SPEAK, timeout=5, max_events=1)
        await other.ask("hello")
        await mine.ask("tell me a joke")
        events = [event async for event in listener]
    assert events[0].session_id == mine.session_id


async def test_conversation_context_merge_and_emit(client: AsyncThalovantClient) -> None:
    chat = client.conversation(
        session_id="chat-1", lang="en-gb", context={"channel": "web", "session": {"x": 1}}
    )
    merged = chat._context({"user_id": "u", "session": {"y": 2}})
    assert merged == {"channel": "web", "user_id": "u", "session": {"x": 1, "y": 2}}
    assert chat.context == {"channel": "web", "session": {"x": 1}}
    with anyio.fail_after(5):
        reply = await chat.ask("hello")
        assert reply.session_id == "chat-1"
        assert reply.events[0].context["channel"] == "web"
        assert reply.events[0].context["session"]["x"] == 1
        assert reply.events[0].lang == "en-gb"
        seen = chat.wait_for_event("ovos.intent.list.response")
        async with anyio.create_task_group() as tg:
            tg.start_soon(chat.emit, "ovos.intent.list", {"lang": "en-gb"})
            response = await seen
    session = response.context["session"]
    assert session["session_id"] == "chat-1"
    assert session["lang"] == "en-gb"
    assert "request_id" not in response.context


async def test_handler_may_close_the_client(client: AsyncThalovantClient) -> None:
    closing = anyio.Event()

    async def close_on_speak(event: ThalovantEvent) -> None:
        closing.set()
        await client.close()

    client.on(EVENT_SPEAK, close_on_speak)
    with anyio.fail_after(5):
        await client.ask("hello")
        await closing.wait()
        await client.wait_closed()
    assert client.state == "closed"
    with pytest.raises(ThalovantConnectionError):
        await client.connected()


def test_portal_calls_from_different_tasks(hub_tls: HubTLS, tmp_path: Path) -> None:
    """connect, ask and close each run in their own task, as a blocking portal does."""
    with anyio.from_thread.start_blocking_portal() as portal:
        hub = portal.wrap_async_context_manager(
            LocalHub(tmp_path / "hub", ssl_context=hub_tls.server_context, node_id=NODE_ID)
        )
        with hub as running:
            identity: ThalovantIdentity = register(running, "portal")
            client = AsyncThalovantClient(
                identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "noise"
            )
            portal.call(client.connect)
            reply: Any = portal.call(client.ask, "hello")
            portal.call(client.close)
    assert "Hello" in reply.text
    assert client.state == "closed"
