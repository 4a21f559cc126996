"""``ask_stream`` against the local hub over every carrier: items arrive as the hub speaks,
the final reply afterwards, the typed errors of ``ask``, and early exit releases the request
(docs/architecture.md, the data flow of ``ask``; thalovant/client/streaming.py)."""

from __future__ import annotations

import anyio
import pytest

from tests.client.conftest import ClientFactory, register
from thalovant.client import streaming
from thalovant.client.client import AsyncThalovantClient
from thalovant.client.streaming import AsyncThalovantReplyStream, stream_options
from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantPolicyDeniedError,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
    ThalovantUnansweredError,
)
from thalovant.events import EVENT_UTTERANCE_HANDLED
from thalovant.hub import LocalHub
from thalovant.identity.model import ThalovantIdentity

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("protocol")]

STORY_END = "The end."


async def _drain(stream: AsyncThalovantReplyStream) -> list[str]:
    """Read the whole stream."""
    async with stream:
        return [event.text async for event in stream]


async def _timed(stream: AsyncThalovantReplyStream) -> list[tuple[float, str]]:
    """Each item's text with the time the consumer received it."""
    return [(anyio.current_time(), event.text) async for event in stream]


async def test_story_arrives_as_three_spread_items(
    client: AsyncThalovantClient, protocol: str
) -> None:
    for turn in range(2):  # the first ask learns that the hub sends handled; both stream
        with anyio.fail_after(10):
            async with client.ask_stream("tell me a story") as stream:
                assert stream.reply is None
                assert stream.request_id is not None  # published on entry
                items = await _timed(stream)
                completed = anyio.current_time()
        assert len(items) == 3, (protocol, turn, items)
        assert items[-1][1].endswith(STORY_END)
        first, third = items[0][0], items[2][0]
        assert third - first >= 0.08, (protocol, turn, items)
        assert completed - first >= 0.08  # the first item came well before the end
        reply = stream.reply
        assert reply is not None
        assert reply.utterances == tuple(text for _, text in items)
        assert reply.request_id == stream.request_id
        assert stream.received == 3
        assert client.bus.in_flight == 0


async def test_plain_async_for_and_conversation(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(10):
        stream = client.ask_stream("tell me a joke")
        texts = [event.text async for event in stream]  # published on the first __anext__
        assert stream.reply is not None
        assert stream.reply.utterances == tuple(texts)
        async with client.conversation() as convo:
            async with convo.ask_stream("my favourite colour is green") as first:
                assert [e.text async for e in first] == ["Got it: your favourite colour is green."]
            async with convo.ask_stream("what is my favourite colour") as second:
                said = [e.text async for e in second]
        assert said == ["Your favourite colour is green."]
        assert second.reply is not None
        assert second.reply.session_id == convo.session_id


async def test_display_items_are_yielded(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(10):
        async with client.ask_stream("show me choices") as stream:
            events = [event async for event in stream]
    assert len(events) == 1
    assert next(item.kind for item in events[0].display_items()) == "choices"


async def test_unanswered(client: AsyncThalovantClient, hub: LocalHub) -> None:
    hub.fallback = False  # the fallback skill would answer it
    stream = client.ask_stream("please recalibrate the flux capacitor")
    with anyio.fail_after(10), pytest.raises(ThalovantUnansweredError) as caught:
        await _drain(stream)
    assert caught.value.said == "please recalibrate the flux capacitor"
    assert stream.reply is None
    assert stream.closed
    assert client.bus.in_flight == 0


async def test_timeout(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(10):
        started = anyio.current_time()
        with pytest.raises(ThalovantTimeoutError):
            await _drain(client.ask_stream("be quiet", timeout=0.5))
        assert anyio.current_time() - started < 3
    assert client.bus.in_flight == 0


async def test_policy_denied(hub: LocalHub, make_client: ClientFactory) -> None:
    muted = register(hub, "muted", allowed_types=["ovos.intent.list"])
    with anyio.fail_after(10):
        async with make_client(muted) as client:
            with pytest.raises(ThalovantPolicyDeniedError):
                await _drain(client.ask_stream("tell me a story"))
            assert client.bus.in_flight == 0


async def test_early_exit_releases_the_request(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(10):
        async with client.ask_stream("tell me a story", request_id="rid-early") as stream:
            async for event in stream:
                assert event.text.startswith("Once upon a time")
                break
        assert stream.closed
        assert stream.reply is None
        assert client.bus.in_flight == 0
        # the id is free again at once; the old request's late speech goes nowhere
        again = await client.ask("tell me a story", request_id="rid-early")
    assert again.text.endswith(STORY_END)
    assert [e async for e in stream] == []  # a closed stream stays ended


async def test_abandoned_stream_is_released_after_its_deadline(
    client: AsyncThalovantClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming, "CARRY_GRACE_SECONDS", 0.0)
    stream = client.ask_stream("tell me a story", timeout=0.3)
    with anyio.fail_after(10):
        await stream.__anext__()  # then never read again, never closed
        # polled within fail_after's bound: the expiry task closes it at 0.3 s
        while client.bus.in_flight:  # noqa: ASYNC110 - a registration has no event to await
            await anyio.sleep(0.02)


async def test_a_consumer_that_never_reads_fails_the_request(
    client: AsyncThalovantClient,
) -> None:
    options = stream_options(
        lang="en-us",
        context=None,
        session_id=None,
        request_id="rid-unread",
        stt_lang=None,
        pipeline=None,
        location=None,
    )
    with anyio.fail_after(10):
        async with (
            client.listen(
                EVENT_UTTERANCE_HANDLED, request_id="rid-unread", max_events=1, timeout=8
            ) as handled,
            AsyncThalovantReplyStream(
                client._asker, "tell me a story", timeout=8, options=options, max_buffered=1
            ) as stream,
        ):
            async for _ in handled:
                pass  # the hub finished speaking; the stream read nothing meanwhile
            assert (await stream.__anext__()).text.startswith("Once upon a time")
            with pytest.raises(ThalovantRuntimeError, match="was not read"):
                await stream.__anext__()
    assert client.bus.in_flight == 0


async def test_connection_lost(
    hub: LocalHub, make_client: ClientFactory, identity: ThalovantIdentity
) -> None:
    async with make_client(identity, auto_reconnect=False) as client:

        async def drop_after_first(stream: AsyncThalovantReplyStream) -> None:
            async with stream:
                async for _ in stream:
                    await hub.drop_connections()

        with anyio.fail_after(10), pytest.raises(ThalovantConnectionError):
            await drop_after_first(client.ask_stream("tell me a story"))
        assert client.bus.in_flight == 0


async def test_invalid_arguments(client: AsyncThalovantClient) -> None:
    with pytest.raises(ThalovantRuntimeError):
        client.ask_stream("   ")
    with pytest.raises(ThalovantRuntimeError, match="negative"):
        client.ask_stream("hello", timeout=-1)
