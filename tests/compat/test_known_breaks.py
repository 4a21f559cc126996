"""Regression tests of the known breaks of issue #16, each through the public API against a
real local hub (WSS over loopback with trustme TLS unless a test says otherwise): calls
written for the official SDK that raised ``TypeError`` or answered wrongly."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest

import thalovant
from tests.client.conftest import ClientFactory, register
from thalovant import (
    AsyncHiveMindHTTPTransport,
    AsyncThalovantClient,
    HiveMindWSSTransport,
    ThalovantClient,
    ThalovantEvent,
    ThalovantPolicyDeniedError,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
    build_location,
    mqtt_topics_for_identity,
)
from thalovant.hub import LocalHub
from thalovant.hub.responder.demo import DEMO_JOKES
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio
JOKE = "tell me a joke"


async def test_query_takes_request_id(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(10):
        reply = await client.query(JOKE, request_id="official-query-1")
        in_chat = await client.conversation().query(JOKE, request_id="official-query-2")
    assert reply.text in DEMO_JOKES
    assert reply.request_id == "official-query-1"
    assert in_chat.text in DEMO_JOKES
    assert in_chat.request_id == "official-query-2"


async def test_conversation_filters_take_context(client: AsyncThalovantClient) -> None:
    chat = client.conversation()
    wanted = {"request_id": "ctx-request-1"}
    heard: list[ThalovantEvent] = []
    got = anyio.Event()

    def on_speak(event: ThalovantEvent) -> None:
        heard.append(event)
        got.set()

    chat.on("speak", on_speak, context=wanted)
    with anyio.fail_after(10):
        async with chat.listen("speak", context=wanted, max_events=1, timeout=8) as listener:
            waiter_result: list[ThalovantEvent] = []

            async def wait() -> None:
                waiter_result.append(await chat.wait_for_event("speak", context=wanted))

            async with anyio.create_task_group() as tg:
                tg.start_soon(wait)
                await chat.send_utterance("tell me a joke", request_id="other-request")
                await chat.send_utterance(JOKE, request_id="ctx-request-1")
                listened = [event async for event in listener]
            await got.wait()
    for event in (*listened, *waiter_result, *heard):
        assert event.request_id == "ctx-request-1"
    assert len(listened) == len(waiter_result) == 1
    assert heard


async def test_disconnect_and_wait_closed_take_timeout(client: AsyncThalovantClient) -> None:
    with pytest.raises(ThalovantTimeoutError):
        await client.wait_closed(timeout=0.2)  # still open: a bounded wait, not a hang
    with anyio.fail_after(10):
        await client.disconnect(timeout=3)
        await client.wait_closed(timeout=3)
    assert not client.is_connected


async def test_send_action_payload_by_keyword(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(10):
        async with client.listen("speak", max_events=1, timeout=8) as listener:
            rid = await client.send_action(payload='/choose{"id":"42"}', title="Coffee")
            spoken = [event async for event in listener]
    assert spoken[0].request_id == rid
    assert "Coffee" in spoken[0].text


async def test_emit_and_mesh_frames_take_event_type(
    hub: LocalHub, make_client: ClientFactory
) -> None:
    sender = make_client(register(hub, "sender", admin=True))
    receiver = make_client(register(hub, "receiver"))
    kinds: list[str] = []
    both = anyio.Event()

    def on_frame(message: Any) -> None:
        kinds.append(message.msg_type)
        if len(kinds) == 2:
            both.set()

    await receiver.on_hive("propagate", on_frame)
    await receiver.on_hive("broadcast", on_frame)
    with anyio.fail_after(10):
        await receiver.connect()
        await sender.propagate(event_type="thalovant.test.propagated", data={"n": 1})
        await sender.broadcast(event_type="thalovant.test.broadcast", data={"n": 2})
        await sender.escalate(event_type="thalovant.test.escalated", data={"n": 3})
        async with sender.listen("speak", max_events=1, timeout=8) as listener:
            await sender.emit(
                event_type="recognizer_loop:utterance",
                data={"utterances": [JOKE], "lang": "en-us"},
                context={"request_id": "emitted-1"},
            )
            spoken = [event async for event in listener]
        await both.wait()
    assert sorted(kinds) == ["broadcast", "propagate"]
    assert spoken[0].text in DEMO_JOKES


async def test_reply_takes_event_type(hub: LocalHub, make_client: ClientFactory) -> None:
    home = make_client(register(hub, "home-assistant"))
    user = make_client(register(hub, "kiosk"))

    async def answer(event: ThalovantEvent) -> None:
        data = {"request_id": event.data["request_id"], "speech": "Replied by keyword."}
        await home.reply(event, event_type=thalovant.HOME_RESPONSE, data=data)

    home.on(thalovant.HOME_REQUEST, answer)
    with anyio.fail_after(15):
        await home.connect()
        reply = await user.ask("home are the lights on")
    assert reply.text == "Replied by keyword."
    with pytest.raises(ThalovantRuntimeError):
        await home.reply(reply.events[0], "a.type", event_type="another.type")


async def test_on_hive_and_on_binary_unsubscribes_are_callable(
    hub: LocalHub, make_client: ClientFactory
) -> None:
    sender = make_client(register(hub, "sender", admin=True))
    receiver = make_client(register(hub, "receiver"))
    early: list[Any] = []
    late = anyio.Event()
    unsubscribe = await receiver.on_hive("propagate", early.append)
    await receiver.on_hive("propagate", lambda message: late.set())
    stop_binary = await receiver.on_binary(early.append)
    assert callable(unsubscribe)
    assert callable(stop_binary)
    unsubscribe()
    stop_binary()
    assert unsubscribe.closed
    assert stop_binary.closed
    with anyio.fail_after(10):
        await receiver.connect()
        await sender.propagate("thalovant.test.after", {})
        await late.wait()  # the other subscriber got it, the unsubscribed one did not
    assert early == []


async def test_matches_context_takes_a_mapping(client: AsyncThalovantClient) -> None:
    with anyio.fail_after(10):
        reply = await client.ask(JOKE, request_id="match-1", session_id="match-session")
    event = next(e for e in reply.events if e.name == "speak")
    assert event.matches_context({"request_id": "match-1"})
    assert not event.matches_context({"request_id": "someone-else"})
    assert event.matches_context({"session": {"session_id": "match-session"}})
    assert not event.matches_context({"session": {"session_id": "other-session"}})
    assert event.matches_context(session_id="match-session", request_id="match-1")
    with pytest.raises(ThalovantRuntimeError):
        event.matches_context("match-session")  # type: ignore[arg-type]


async def test_build_location_country_without_city(client: AsyncThalovantClient) -> None:
    location = build_location(country="de", timezone="Europe/Berlin")
    assert location == {"country_code": "DE", "timezone": {"code": "Europe/Berlin"}}
    assert build_location() is None
    assert build_location("Berlin", "BE", "de", "52.5", 13.4)["coordinate"] == {
        "latitude": 52.5,
        "longitude": 13.4,
    }
    with anyio.fail_after(10):
        reply = await client.ask("what time is it", location=location)
    assert reply.text


@pytest.mark.parametrize("protocol", ["mqtt"])
async def test_mqtt_topic_set_unpacks(
    hub: LocalHub, make_client: ClientFactory, protocol: str
) -> None:
    identity = register(hub, "mqtt-kiosk")
    inbound, outbound, status = mqtt_topics_for_identity(identity)
    assert (inbound, outbound, status) == tuple(mqtt_topics_for_identity(identity))
    assert inbound.endswith("/in")
    assert outbound.endswith("/out")
    assert status.endswith("/status")
    assert identity.access_key not in repr(mqtt_topics_for_identity(identity))
    with anyio.fail_after(15):
        async with make_client(identity) as client:
            assert (await client.ask(JOKE)).text in DEMO_JOKES


async def test_connection_info_official_shape(client: AsyncThalovantClient) -> None:
    info = await client.connection_info()
    assert info.phase == "ready"
    assert isinstance(info.socket_open_ms, float)
    assert info.socket_open_ms >= 0
    for stamp in (info.started_at, info.connected_at):
        assert isinstance(stamp, str)
        assert datetime.fromisoformat(stamp).tzinfo is not None
    assert set(info.as_dict()) >= {"socket_open_ms", "started_at", "connected_at"}
    assert (await client.connect_with_info()).socket_open_ms is not None


async def test_policy_denied_error_codes_and_from_event(
    hub: LocalHub, make_client: ClientFactory
) -> None:
    muted = make_client(register(hub, "muted", allowed_types=["ovos.intent.list"]))
    with anyio.fail_after(10):
        async with muted.listen(thalovant.EVENT_POLICY_DENIED, max_events=1, timeout=8) as heard:
            with pytest.raises(ThalovantPolicyDeniedError) as caught:
                await muted.ask("hello")
            events = [event async for event in heard]
    assert caught.value.code == ThalovantPolicyDeniedError.ACL_DISALLOWED_TYPE
    rebuilt = ThalovantPolicyDeniedError.from_event(events[0])
    assert rebuilt.denied_type == "recognizer_loop:utterance"
    assert rebuilt.code == ThalovantPolicyDeniedError.ACL_DISALLOWED_TYPE
    assert ThalovantPolicyDeniedError("speak").denied_type == "speak"
    assert ThalovantPolicyDeniedError.INTENT_QUOTA_EXCEEDED == "intent_quota_exceeded"
    assert ThalovantPolicyDeniedError.BACKEND_UNAVAILABLE == "backend_unavailable"


async def test_transport_option(hub: LocalHub, make_client: ClientFactory) -> None:
    identity = register(hub, "carried")
    client = make_client(identity, transport=AsyncHiveMindHTTPTransport())
    assert client.protocol == "https"
    with anyio.fail_after(15):
        async with client:
            assert (await client.ask(JOKE)).text in DEMO_JOKES
            assert (await client.connection_info()).protocol == "https"
    with pytest.raises(ThalovantRuntimeError):
        AsyncThalovantClient(identity, protocol="mqtt", transport=AsyncHiveMindHTTPTransport())


async def test_session_option_uses_the_callers_session(
    hub: LocalHub, make_client: ClientFactory
) -> None:
    async with aiohttp.ClientSession() as session:
        client = make_client(register(hub, "own-session"), protocol="https", session=session)
        with anyio.fail_after(15):
            async with client:
                assert (await client.ask(JOKE)).text in DEMO_JOKES
        assert not session.closed  # the caller's session is theirs to close
    with pytest.raises(ThalovantRuntimeError):
        ThalovantClient(register(hub, "blocking"), session=object())


async def test_blocking_transport_handle(hub: LocalHub, hub_tls: HubTLS, tmp_path: Path) -> None:
    identity = register(hub, "handle")

    def run() -> tuple[list[str], bool]:
        handle = HiveMindWSSTransport(
            identity,
            useragent="compat-test",
            ssl_context=hub_tls.client_context,
            noise_state_dir=tmp_path / "noise",
        )
        spoken: list[str] = []
        done = threading.Event()

        def on_speak(event: ThalovantEvent) -> None:
            spoken.append(event.text)
            done.set()

        try:
            handle.on_mycroft("speak", on_speak)
            handle.connect()
            handle.emit_event("recognizer_loop:utterance", {"utterances": [JOKE]}, {})
            done.wait(10)
            return spoken, handle.is_connected()
        finally:
            handle.disconnect()

    with anyio.fail_after(30):
        spoken, connected = await anyio.to_thread.run_sync(run)
    assert connected
    assert spoken
    assert spoken[0] in DEMO_JOKES
