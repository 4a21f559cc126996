"""Policy, mesh frames, HiveMind queries, inventory answers, user skills and hooks."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import pytest

from thalovant.hub import LocalHub, SkillContext
from thalovant.hub.responder.demo import DEMO_JOKES
from thalovant.protocol.envelope import (
    HiveMessage,
    bus_message,
    bus_payload,
    inner_message,
    mesh_message,
)

from .conftest import Clients, register
from .raw_client import RawClient, assert_echoes, correlation_context, spoken

pytestmark = pytest.mark.anyio

# -- policy ----------------------------------------------------------------------------------


async def test_disallowed_type_is_denied_with_the_request_context(
    hub: LocalHub, clients: Clients
) -> None:
    client = await clients.connect(register(hub, allowed_types=["ovos.intent.list"]))
    rid = f"thalovant-request-{uuid.uuid4().hex}"
    messages = await client.ask("hello", request_id=rid)
    assert [m.type for m in messages] == ["hive.policy.denied"]
    denied = messages[0]
    assert denied.data == {
        "denied_type": "recognizer_loop:utterance",
        "code": "acl_disallowed_type",
        "reason": "message type 'recognizer_loop:utterance' is not allowed for this client",
        "data": {"allowed": ["ovos.intent.list"]},
    }
    assert_echoes(rid, denied)


async def test_custom_type_is_denied_for_a_default_client(alice: RawClient) -> None:
    ctx = correlation_context("rid-custom", site_id="alice")
    await alice.send(bus_message("my.private.event", {"x": 1}, ctx))
    denied = await alice.recv_bus()
    assert denied.type == "hive.policy.denied"
    assert denied.data["denied_type"] == "my.private.event"
    assert denied.context["request_id"] == "rid-custom"


async def test_admin_may_send_any_type(hub: LocalHub, clients: Clients) -> None:
    admin = await clients.connect(register(hub, "root", allowed_types=[], admin=True))
    assert spoken(await admin.ask("hello"))


async def test_policy_changes_apply_to_open_connections(alice: RawClient, hub: LocalHub) -> None:
    assert spoken(await alice.ask("hello"))
    hub.registry.update("ak-alice", allowed_types=["ovos.intent.list"])
    assert [m.type for m in await alice.ask("hello")] == ["hive.policy.denied"]


async def test_broadcast_from_a_non_admin_closes_1008(alice: RawClient) -> None:
    inner = bus_message("speak", {"utterance": "hi all"}, {})
    await alice.send(mesh_message("broadcast", inner))
    assert await alice.wait_closed() == 1008


async def test_admin_broadcast_reaches_the_target_site(hub: LocalHub, clients: Clients) -> None:
    admin = await clients.connect(register(hub, "root", admin=True))
    alice = await clients.connect(register(hub))
    bob = await clients.connect(register(hub, "bob"))
    inner = bus_message("speak", {"utterance": "to bob"}, {})
    await admin.send(mesh_message("broadcast", inner, target_site_id="bob"))
    await alice.ask("hello")  # not for alice: her next message is her own reply
    with anyio.fail_after(5):
        got = await bob.recv()
    assert isinstance(got, HiveMessage)
    assert got.msg_type == "broadcast"
    assert got.target_site_id == "bob"
    assert bus_payload(inner_message(got)).data == {"utterance": "to bob"}


# -- query frames, inventory -------------------------------------------------------------------


async def test_query_answers_in_query_frames(alice: RawClient) -> None:
    rid = "thalovant-request-q1"
    ctx = {"request_id": rid, "thalovant_request_id": rid, "session": {"request_id": rid}}
    inner = bus_message("recognizer_loop:utterance", {"utterances": ["tell me a joke"]}, ctx)
    await alice.send(mesh_message("query", inner, metadata={"query_id": "q-42"}))
    kinds = []
    with anyio.fail_after(5):
        while not kinds or kinds[-1] != "hive.query.complete":
            frame = await alice.recv()
            assert isinstance(frame, HiveMessage)
            assert frame.msg_type == "query"
            assert frame.metadata == {"query_id": "q-42"}
            nested = inner_message(frame)
            assert nested.msg_type == "bus"
            bus = bus_payload(nested)
            assert bus.context["request_id"] == rid
            kinds.append(bus.type)
            if bus.type == "speak":
                assert bus.data["utterance"] in DEMO_JOKES
    assert kinds == ["speak", "ovos.utterance.handled", "hive.query.complete"]


async def test_query_denied_by_policy(hub: LocalHub, clients: Clients) -> None:
    client = await clients.connect(register(hub, allowed_types=[]))
    inner = bus_message("recognizer_loop:utterance", {"utterances": ["hi"]}, {})
    await client.send(mesh_message("query", inner, metadata={"query_id": "q-1"}))
    kinds = []
    with anyio.fail_after(5):
        for _ in range(2):
            frame = await client.recv()
            assert isinstance(frame, HiveMessage)
            kinds.append(bus_payload(inner_message(frame)).type)
    assert kinds == ["hive.policy.denied", "hive.query.complete"]


async def test_intent_list(alice: RawClient) -> None:
    ctx = correlation_context("rid-intents", site_id="alice")
    await alice.send(bus_message("ovos.intent.list", {"lang": "en-us"}, ctx))
    reply = await alice.recv_bus()
    assert reply.type == "ovos.intent.list.response"
    assert reply.context["request_id"] == "rid-intents"
    names = {i["intent_name"] for i in reply.data["intents"]}
    assert "thalovant-demo.joke.intent" in names
    joke = next(i for i in reply.data["intents"] if i["skill_id"] == "thalovant-demo.joke")
    assert joke["examples"] == ["tell me a joke"]


@pytest.mark.parametrize(
    ("request_type", "data", "response_type", "check"),
    [
        (
            "ovos.intent.describe",
            {"skill_id": "thalovant-demo.joke", "intent_name": "thalovant-demo.joke.intent"},
            "ovos.intent.describe.response",
            lambda d: d["found"] and d["examples"] == ["tell me a joke"],
        ),
        (
            "ovos.intent.describe",
            {"skill_id": "nope", "intent_name": "nope.intent"},
            "ovos.intent.describe.response",
            lambda d: d["found"] is False,
        ),
        (
            "ovos.skills.list",
            {},
            "ovos.skills.list.response",
            lambda d: {"skill_id": "thalovant-demo.time", "description": ""} in d["skills"],
        ),
        (
            "intent.service.padatious.manifest.get",
            {},
            "intent.service.padatious.manifest",
            lambda d: "thalovant-demo.hello.intent" in d["intents"],
        ),
        (
            "intent.service.adapt.manifest.get",
            {},
            "intent.service.adapt.manifest",
            lambda d: d == {"intents": []},
        ),
    ],
)
async def test_inventory_queries(
    alice: RawClient, request_type: str, data: dict[str, Any], response_type: str, check: Any
) -> None:
    await alice.send(bus_message(request_type, data, {"request_id": "rid-inv"}))
    reply = await alice.recv_bus()
    assert reply.type == response_type
    assert reply.context["request_id"] == "rid-inv"
    assert check(reply.data)


# -- user skills and hooks -------------------------------------------------------------------


async def test_user_skill_written_in_a_test(hub: LocalHub, alice: RawClient) -> None:
    seen: list[SkillContext] = []

    @hub.skill("weather", match=r"\bweather in (\w+)", priority=5, examples=["weather in Oslo"])
    async def weather(ctx: SkillContext) -> None:
        seen.append(ctx)
        assert ctx.match is not None
        ctx.session_state["asked"] = ctx.session_state.get("asked", 0) + 1
        await ctx.speak(f"Sunny in {ctx.match.group(1)}.", meta={"source": "test"})
        await ctx.emit("weather.report", {"city": ctx.match.group(1)})

    rid = await alice.utter("hello, what's the weather in Oslo", session_id="w")
    messages = await alice.collect(rid)
    assert [m.type for m in messages] == ["speak", "weather.report", "ovos.utterance.handled"]
    assert messages[0].data["meta"] == {"skill": "weather", "source": "test"}
    assert messages[1].data == {"city": "Oslo"}
    assert all(m.context["skill_id"] == "weather" for m in messages)
    ctx = seen[0]
    assert (ctx.utterance, ctx.lang, ctx.session_id, ctx.request_id) == (
        "hello, what's the weather in Oslo",
        "en-us",
        "w",
        rid,
    )
    assert ctx.site_id == "alice"
    assert ctx.client_name == "alice"
    assert ctx.session_state == {"asked": 1}
    assert hub.remove_skill("weather")
    hub.fallback = False
    assert spoken(await alice.ask("what's the weather in Oslo")) == []


async def test_function_matcher(hub: LocalHub, alice: RawClient) -> None:
    @hub.skill("shout", match=lambda ctx: ctx.utterance.isupper(), priority=30)
    async def shout(ctx: SkillContext) -> None:
        await ctx.speak("No need to shout.")

    assert spoken(await alice.ask("HELLO")) == ["No need to shout."]
    assert spoken(await alice.ask("hello")) == ["Hello! I am your local Thalovant hub."]


async def test_a_failing_skill_still_finishes_the_request(
    hub: LocalHub, alice: RawClient, caplog: pytest.LogCaptureFixture
) -> None:
    @hub.skill("broken", match=r"\bbroken\b", priority=5)
    async def broken(ctx: SkillContext) -> None:
        await ctx.speak("Half a sentence")
        raise RuntimeError("skill bug")

    messages = await alice.ask("the broken one")
    assert [m.type for m in messages] == ["speak", "ovos.utterance.handled"]
    assert "skill broken failed" in caplog.text
    assert spoken(await alice.ask("hello"))  # the connection lives on


async def test_a_hanging_skill_is_cut_off(hub: LocalHub, alice: RawClient) -> None:
    hub.runtime.handler_timeout = 0.1

    @hub.skill("sleepy", match=r"\bsleepy\b", priority=5)
    async def sleepy(ctx: SkillContext) -> None:
        await anyio.sleep_forever()

    messages = await alice.ask("sleepy")
    assert [m.type for m in messages] == ["ovos.utterance.handled"]


async def test_bus_hook(hub: LocalHub, clients: Clients) -> None:
    @hub.on_bus("thalovant.home.response")
    async def home(ctx: SkillContext) -> None:
        await ctx.emit("home.ack", {"got": ctx.data["speech"]})

    client = await clients.connect(register(hub))
    ctx = correlation_context("rid-home", site_id="alice")
    await client.send(bus_message("thalovant.home.response", {"speech": "ok"}, ctx))
    reply = await client.recv_bus()
    assert (reply.type, reply.data) == ("home.ack", {"got": "ok"})
    assert reply.context["request_id"] == "rid-home"


async def test_binary_hook(hub: LocalHub, alice: RawClient) -> None:
    got: list[Any] = []
    received = anyio.Event()

    @hub.on_binary
    async def on_bin(session: Any, frame: Any) -> None:
        got.append((session.client.name, frame.binary_kind, frame.data))
        received.set()

    for message in alice.channel.encrypt_binary("bin", binary_kind="file", data=b"\x01\x02"):
        await alice.ws.send(message)
    with anyio.fail_after(5):
        await received.wait()
    assert got == [("alice", "file", b"\x01\x02")]


async def test_ping_and_extra_hello_are_ignored(alice: RawClient) -> None:
    await alice.send(HiveMessage("ping", {}))
    await alice.send(HiveMessage("hello", {"session": {"session_id": "other"}}))
    messages = await alice.ask("hello")
    assert messages[0].context["session"]["session_id"] == alice.session_id
