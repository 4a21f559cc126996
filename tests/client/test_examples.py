"""Every documented example, run against the local hub (async API)."""

from __future__ import annotations

import anyio
import pytest

from tests.conftest import E2E_PROTOCOLS
from thalovant import EVENT_SPEAK, EVENT_UTTERANCE_HANDLED
from thalovant.client.client import AsyncThalovantClient
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

from .conftest import MQTT_MOSQUITTO, ClientFactory, register

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("protocol")]


@pytest.fixture(params=[*E2E_PROTOCOLS, MQTT_MOSQUITTO])
def protocol(request: pytest.FixtureRequest) -> str:
    """The documented examples also run over MQTT through a real mosquitto broker."""
    value: str = request.param
    return value


async def test_ask_joke(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(5):
        reply = await client.ask("Tell me a short clean joke.")
    assert reply.text in DEMO_JOKES
    assert reply.ok
    assert reply.handled
    assert reply.request_id is not None
    assert reply.request_id.startswith("thalovant-request-")
    assert reply.session_id == client.session_id
    assert reply.display_items[0].kind == "text"


async def test_ask_connects_lazily(make_client: ClientFactory, identity: ThalovantIdentity) -> None:
    client = make_client(identity)
    try:
        with anyio.fail_after(5):
            reply = await client.ask("hello")
        assert "Hello" in reply.text
        assert client.is_connected
    finally:
        await client.close()
    assert client.state == "closed"


async def test_blank_ask_is_rejected(
    make_client: ClientFactory, identity: ThalovantIdentity
) -> None:
    client = make_client(identity)
    with pytest.raises(ThalovantRuntimeError):
        await client.ask("   ")
    assert client.state == "idle"  # nothing was started


async def test_conversation_memory(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(5):
        async with client.conversation() as chat:
            await chat.ask("my favourite colour is blue")
            remembered = await chat.ask("what is my favourite colour")
        other = client.conversation()
        forgotten = await other.ask("what is my favourite colour")
    assert remembered.text == "Your favourite colour is blue."
    assert remembered.session_id == chat.session_id
    assert chat.session_id.startswith("thalovant-session-")
    assert "don't know" in forgotten.text


async def test_context_and_ids_visible_in_reply(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(5):
        reply = await client.ask(
            "what time is it",
            context={"user_id": "u-7", "session": {"pipeline": ["adapt_high"]}},
            session_id="checkout-session",
            request_id="req-42",
            stt_lang="fr-fr",
        )
    assert reply.request_id == "req-42"
    assert reply.session_id == "checkout-session"
    event = reply.events[0]
    assert event.request_id == "req-42"
    assert event.context["user_id"] == "u-7"
    assert event.context["stt_lang"] == "fr-fr"
    session = event.context["session"]
    assert session["session_id"] == "checkout-session"
    assert session["pipeline"] == ["adapt_high"]
    assert session["site_id"] == client.identity.site_id
    assert session["lang"] == "en-us"


async def test_send_utterance_and_listen(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(5):
        listener = client.listen(EVENT_SPEAK, timeout=5, max_events=1)
        request_id = await client.send_utterance("hello")
        events = [event async for event in listener]
    assert len(events) == 1
    assert events[0].request_id == request_id
    assert "Hello" in events[0].text
    assert listener.closed


async def test_listen_ends_quietly_at_timeout(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(5):
        events = [event async for event in client.listen("never.sent", timeout=0.05)]
    assert events == []


async def test_wait_for_event(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(5):
        async with client.conversation() as chat:
            waiter = client.wait_for_event(EVENT_UTTERANCE_HANDLED, session_id=chat.session_id)
            async with anyio.create_task_group() as tg:
                tg.start_soon(chat.send_utterance, "hello")
                handled = await waiter
        assert handled.session_id == chat.session_id
        with pytest.raises(ThalovantTimeoutError):
            await client.wait_for_event("never.sent", timeout=0.05)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("/choose",), {"payload": {"id": "42"}, "title": "Coffee"}),
        (('/choose{"id":"42"}',), {"title": "Coffee"}),
        (("/choose",), {"payload": {"id": "42"}}),
        (('/choose{"id":"42"}',), {}),
    ],
    ids=["docs-form", "reference-form", "docs-form-untitled", "reference-form-untitled"],
)
async def test_send_action_both_forms(
    client: AsyncThalovantClient, args: tuple[str, ...], kwargs: dict[str, object]
) -> None:
    with anyio.fail_after(5):
        listener = client.listen(EVENT_SPEAK, timeout=5, max_events=1)
        request_id = await client.send_action(*args, **kwargs)  # type: ignore[arg-type]
        events = [event async for event in listener]
    assert events[0].text == "You chose Coffee."
    assert events[0].request_id == request_id
    given = events[0].context["input"]
    assert given["kind"] == "action"
    assert given["payload"] == '/choose{"id":"42"}'
    assert events[0].context["session"]["request_id"] == request_id


async def test_show_choices_then_choose(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(5):
        async with client.conversation() as chat:
            offer = await chat.ask("show me choices")
            choices = offer.display_items
            assert choices[0].kind == "choices"
            listener = chat.listen(EVENT_SPEAK, timeout=5, max_events=1)
            await chat.send_action("/choose", payload={"id": "43"}, title="Tea")
            answer = [event async for event in listener]
    assert answer[0].text == "You chose Tea."


async def test_send_code_echo(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(5):
        listener = client.listen(EVENT_SPEAK, timeout=5, max_events=1)
        request_id = await client.send_code(
            "SN-001-XYZ", kind="barcode", label="device serial", session_id="maintenance"
        )
        events = [event async for event in listener]
    assert events[0].text == "Got barcode device serial: SN-001-XYZ"
    assert events[0].request_id == request_id
    assert events[0].context["input"] == {
        "kind": "barcode",
        "label": "device serial",
        "value": "SN-001-XYZ",
        "exact": True,
    }


async def test_unsupported_protocol_is_immediate(identity: ThalovantIdentity) -> None:
    no_mqtt = ThalovantIdentity.from_mapping(
        {**identity.as_dict(include_secrets=True), "mqtt": None}
    )
    with pytest.raises(ThalovantUnsupportedProtocolError, match="no MQTT credentials"):
        AsyncThalovantClient(no_mqtt, protocol="mqtt")
    with pytest.raises(ThalovantUnsupportedProtocolError):
        AsyncThalovantClient(identity, protocol="carrier-pigeon")


async def test_policy_denial(hub: LocalHub, make_client: ClientFactory) -> None:
    muted = register(hub, "muted", allowed_types=["ovos.intent.list"])
    with anyio.fail_after(5):
        async with make_client(muted) as client:
            with pytest.raises(ThalovantPolicyDeniedError) as caught:
                await client.ask("hello")
    assert caught.value.denied_type == "recognizer_loop:utterance"
    assert caught.value.code == "acl_disallowed_type"
    assert client.bus.in_flight == 0


async def test_unmatched(client: AsyncThalovantClient, hub: LocalHub) -> None:
    hub.fallback = False  # the fallback skill would answer it
    with anyio.fail_after(5), pytest.raises(ThalovantUnansweredError) as caught:
        await client.ask("please recalibrate the flux capacitor")
    assert caught.value.said == "please recalibrate the flux capacitor"


async def test_slow_story_in_one_reply(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(5):
        reply = await client.ask("tell me a story")
        again = await client.ask("tell me a story")  # now completing on handled
    assert len(reply.utterances) == 3
    assert reply.text.endswith("The end.")
    assert again.utterances == reply.utterances


async def test_be_quiet_is_a_timeout(
    make_client: ClientFactory, identity: ThalovantIdentity
) -> None:
    # handled without speech opens the empty window; no speech by then -> timeout error
    async with make_client(identity, empty_reply_wait_seconds=0.1) as client:
        with anyio.fail_after(5):
            started = anyio.current_time()
            with pytest.raises(ThalovantTimeoutError, match="did not emit a speak reply"):
                await client.ask("be quiet", timeout=4)
        assert anyio.current_time() - started < 2
        assert client.bus.in_flight == 0


async def test_query(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(5):
        reply = await client.query("hello")
    assert "Hello" in reply.text
    assert reply.session_id is not None


async def test_local_hub_fixture(local_hub: LocalHub, make_client: ClientFactory) -> None:
    identity = local_hub.register_client("fixture-user")
    with anyio.fail_after(10):
        async with make_client(identity) as client:
            reply = await client.ask("what can this hub do")
    assert "joke" in reply.text
