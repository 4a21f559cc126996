"""ThalovantClient against a real local hub (the ``local_hub`` fixture, real TLS sockets).

The hub runs on the test's event loop, so every blocking call runs in a worker thread
(``in_thread``); calling the blocking client on the hub's own loop would stall the hub, which
is exactly what the foreign-loop warning is about.
"""

from __future__ import annotations

import functools
import gc
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import pytest

from thalovant import EVENT_SPEAK
from thalovant.client.context import build_client_context
from thalovant.errors import (
    ThalovantPolicyDeniedError,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
    ThalovantUnansweredError,
    ThalovantUnsupportedProtocolError,
)
from thalovant.hub import LocalHub
from thalovant.hub.responder.demo import DEMO_JOKES
from thalovant.identity.model import ThalovantIdentity
from thalovant.link.supervisor import Backoff
from thalovant.models.types import ThalovantEvent
from thalovant.sync.client import ThalovantClient
from thalovant.sync.handlers import HANDLER_THREAD_NAME
from thalovant.testing import HubTLS

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("short_refusal_window", "protocol")]

T = TypeVar("T")
SyncFactory = Callable[..., ThalovantClient]


async def in_thread(fn: Callable[[], T], timeout: float = 30) -> T:  # noqa: ASYNC109
    """Run blocking code off the hub's loop."""
    with anyio.fail_after(timeout):
        return await anyio.to_thread.run_sync(fn)


@pytest.fixture
def identity(local_hub: LocalHub) -> ThalovantIdentity:
    return local_hub.register_client("sync-kiosk")


@pytest.fixture
async def make_sync(
    anyio_backend: Any, hub_tls: HubTLS, tmp_path: Path, protocol: str
) -> AsyncIterator[SyncFactory]:
    """Build blocking clients trusting the test CA over ``protocol``; each is closed after."""
    made: list[ThalovantClient] = []

    def factory(identity: ThalovantIdentity, **opts: Any) -> ThalovantClient:
        opts.setdefault("protocol", protocol)
        opts.setdefault("ssl_context", hub_tls.client_context)
        opts.setdefault("noise_state_dir", tmp_path / "noise")
        client = ThalovantClient(identity, **opts)
        client.reconnect_backoff = Backoff(initial=0.0, floor=0.0)
        made.append(client)
        return client

    yield factory
    for client in made:
        await in_thread(functools.partial(client.close, timeout=2))


async def test_documented_flow(
    identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path, protocol: str
) -> None:
    holder: dict[str, Any] = {}

    def flow() -> str:
        with ThalovantClient(
            identity,
            protocol=protocol,
            ssl_context=hub_tls.client_context,
            noise_state_dir=tmp_path / "noise",
        ) as client:
            assert client.is_connected  # connected on enter
            holder["client"], holder["thread"] = client, client._loop.thread
            return client.ask("Tell me a short clean joke.").text

    text = await in_thread(flow)
    assert text in DEMO_JOKES
    client: ThalovantClient = holder["client"]
    assert client.state == "closed"
    assert not holder["thread"].is_alive()  # leaving the block stopped the loop thread
    with pytest.raises(ThalovantRuntimeError, match="is closed"):
        client.ask("again")


async def test_methods_work_without_with(
    make_sync: SyncFactory, identity: ThalovantIdentity
) -> None:
    client = make_sync(identity)

    def use() -> tuple[str, bool, Any, Any]:
        reply = client.ask("hello")
        info = client.connection_info()
        health = client.healthcheck()
        return reply.text, client.is_connected, info, health

    text, connected, info, health = await in_thread(use)
    assert "Hello" in text
    assert connected
    assert info.phase == "ready"
    assert health.connected
    thread = client._loop.thread
    assert thread is not None
    await in_thread(client.close)
    assert not thread.is_alive()


@pytest.mark.thalovant_hub(fallback=False)  # unmatched utterances stay unanswered
async def test_errors_keep_their_types(make_sync: SyncFactory, identity: ThalovantIdentity) -> None:
    client = make_sync(identity)

    def use() -> None:
        with pytest.raises(ThalovantUnansweredError) as caught:
            client.ask("please recalibrate the flux capacitor")
        assert caught.value.said == "please recalibrate the flux capacitor"
        with pytest.raises(ThalovantRuntimeError):
            client.ask("   ")
        with pytest.raises(ThalovantTimeoutError):
            client.wait_for_event("never.sent", timeout=0.05)

    await in_thread(use)


async def test_disconnect_keeps_the_thread(
    make_sync: SyncFactory, identity: ThalovantIdentity
) -> None:
    client = make_sync(identity)

    def use() -> str:
        client.connect()
        client.disconnect()
        assert client.state == "closed"
        assert client._loop.running
        info = client.connect_with_info(timeout=10)
        assert info.phase == "ready"
        return client.ask("hello").text

    assert "Hello" in await in_thread(use)


async def test_conversation(make_sync: SyncFactory, identity: ThalovantIdentity) -> None:
    client = make_sync(identity)

    def chat() -> tuple[str, str, str, str]:
        with client.conversation(lang="en-us", context={"channel": "web"}) as convo:
            convo.ask("my favourite colour is blue")
            remembered = convo.ask("what is my favourite colour")
        other = client.conversation()
        forgotten = other.ask("what is my favourite colour")
        assert convo.client is client
        assert convo.context == {"channel": "web"}
        return remembered.text, str(remembered.session_id), convo.session_id, forgotten.text

    remembered, reply_session, session, forgotten = await in_thread(chat)
    assert remembered == "Your favourite colour is blue."
    assert reply_session == session
    assert session.startswith("thalovant-session-")
    assert "don't know" in forgotten


async def test_listen_is_a_plain_iterator(
    make_sync: SyncFactory, identity: ThalovantIdentity
) -> None:
    client = make_sync(identity)

    def use() -> tuple[list[ThalovantEvent], str, list[ThalovantEvent]]:
        story = client.listen(EVENT_SPEAK, timeout=10, max_events=3)
        request_id = client.send_utterance("tell me a story")
        events = list(story)  # max_events ends it
        quiet = list(client.listen("never.sent", timeout=0.05))  # the timeout ends it
        return events, request_id, quiet

    events, request_id, quiet = await in_thread(use)
    assert [e.request_id for e in events] == [request_id] * 3
    assert events[-1].text.endswith("The end.")
    assert quiet == []


async def test_handler_emits_during_an_ask(
    make_sync: SyncFactory, identity: ThalovantIdentity
) -> None:
    client = make_sync(identity)
    handled: list[str] = []

    def on_speak(event: ThalovantEvent) -> None:
        handled.append(threading.current_thread().name)
        # back into the client from the handler thread while the caller is still in ask()
        client.emit("ovos.intent.list", {"lang": "en-us"}, {"request_id": "sync-inv"})

    def use() -> tuple[str, list[ThalovantEvent]]:
        responses = client.listen(
            "ovos.intent.list.response", timeout=10, max_events=1, request_id="sync-inv"
        )
        with client.on(EVENT_SPEAK, on_speak) as sub:
            reply = client.ask("hello")
            found = list(responses)
        assert sub.errors == 0
        return reply.text, found

    text, found = await in_thread(use)
    assert "Hello" in text
    assert handled == [HANDLER_THREAD_NAME]
    assert "thalovant-demo.joke" in found[0].data["skills"]


async def test_eight_threads_ask_at_once(
    make_sync: SyncFactory, identity: ThalovantIdentity
) -> None:
    client = make_sync(identity)

    def crowd() -> dict[int, list[str]]:
        barrier = threading.Barrier(8, timeout=20)
        answers: dict[int, list[str]] = {}
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            try:
                barrier.wait()
                answers[n] = [client.ask("Tell me a short clean joke.").text for _ in range(3)]
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        return answers

    answers = await in_thread(crowd, timeout=60)
    assert sorted(answers) == list(range(8))
    assert all(text in DEMO_JOKES for texts in answers.values() for text in texts)


async def test_garbage_collected_client_stops_its_thread(
    identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path
) -> None:
    def use() -> threading.Thread:
        client = ThalovantClient(
            identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "noise"
        )
        client.ask("hello")
        thread = client._loop.thread
        assert thread is not None
        del client
        gc.collect()
        return thread

    thread = await in_thread(use)
    assert thread not in threading.enumerate()


async def test_from_identity_file(
    identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path
) -> None:
    import json

    path = tmp_path / "identity.json"
    path.write_text(json.dumps(identity.as_dict(include_secrets=True)))
    path.chmod(0o600)

    def use() -> str:
        with ThalovantClient.from_identity_file(
            path, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "noise"
        ) as client:
            assert isinstance(client, ThalovantClient)
            assert client.identity.access_key == identity.access_key
            return client.ask("hello").text

    assert "Hello" in await in_thread(use)


async def test_the_rest_of_the_documented_calls(
    make_sync: SyncFactory, identity: ThalovantIdentity, local_hub: LocalHub
) -> None:
    """Context and ids, send_action, send_code, unsupported protocol and policy denial, sync."""
    client = make_sync(identity)
    muted = make_sync(local_hub.register_client("sync-muted", allowed_types=["ovos.intent.list"]))

    def use() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        context = build_client_context(user_id="u-7", channel="kiosk")
        reply = client.ask(
            "what time is it", context=context, session_id="checkout", request_id="req-42"
        )
        seen["ids"] = (reply.request_id, reply.session_id, reply.events[0].context["user_id"])
        speak = client.listen(EVENT_SPEAK, timeout=10, max_events=1)
        action_id = client.send_action("/choose", payload={"id": "42"}, title="Coffee")
        seen["action"] = [(e.text, e.request_id == action_id) for e in speak]
        speak = client.listen(EVENT_SPEAK, timeout=10, max_events=1)
        client.send_code("SN-1", kind="barcode", label="serial")
        seen["code"] = [e.text for e in speak]
        with pytest.raises(ThalovantPolicyDeniedError) as denied:
            muted.ask("hello")
        seen["denied"] = denied.value.denied_type
        muted.close()
        client.close()
        return seen

    seen = await in_thread(use)
    assert seen["ids"] == ("req-42", "checkout", "u-7")
    assert seen["action"] == [("You chose Coffee.", True)]
    assert seen["code"] == ["Got barcode serial: SN-1"]
    assert seen["denied"] == "recognizer_loop:utterance"
    with pytest.raises(ThalovantUnsupportedProtocolError):
        ThalovantClient(identity, protocol="carrier-pigeon")


@pytest.mark.thalovant_hub(fallback=False)  # unmatched utterances stay unanswered
async def test_ask_stream_sync_twin(make_sync: SyncFactory, identity: ThalovantIdentity) -> None:
    client = make_sync(identity)

    def use() -> tuple[list[tuple[float, str]], Any, Any, list[str], Any]:
        with client.ask_stream("tell me a story") as stream:
            items = [(time.monotonic(), event.text) for event in stream]
        with pytest.raises(ThalovantUnansweredError):
            for _ in client.ask_stream("please recalibrate the flux capacitor"):
                pass
        with client.conversation() as convo:
            with convo.ask_stream("tell me a story") as early:
                first = next(early).text  # then leave early: the request is released
            said = [event.text for event in convo.ask_stream("hello")]
        in_flight = client._loop.call_sync(lambda: client._async.bus.in_flight)
        return items, stream.reply, early, [first, *said], in_flight

    items, reply, early, said, in_flight = await in_thread(use)
    assert len(items) == 3
    assert items[2][0] - items[0][0] >= 0.08
    assert reply is not None
    assert reply.utterances == tuple(text for _, text in items)
    assert early.closed
    assert early.reply is None
    assert said[0].startswith("Once upon a time")
    assert "Hello" in said[1]
    assert in_flight == 0
