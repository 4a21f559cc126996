"""Demo skills, reply contexts, policy, sessions, queries and user skills over real WSS."""

from __future__ import annotations

import re
import uuid

import pytest

from thalovant.hub import LocalHub
from thalovant.hub.responder.demo import DEMO_CHOICES, DEMO_JOKES

from .conftest import Clients, register
from .raw_client import RawClient, assert_echoes, spoken

pytestmark = pytest.mark.anyio


async def test_joke_and_the_full_reply_context(alice: RawClient) -> None:
    rid = f"thalovant-request-{uuid.uuid4().hex}"
    messages = await alice.ask("Tell me a JOKE", request_id=rid, context={"user_id": "u-1"})
    assert [m.type for m in messages] == ["speak", "ovos.utterance.handled"]
    speak, handled = messages
    assert speak.data["utterance"] in DEMO_JOKES
    assert speak.data["lang"] == "en-us"
    assert speak.data["meta"]["skill"] == "thalovant-demo.joke"
    for message in messages:
        assert_echoes(rid, message)
        assert message.context["skill_id"] == "thalovant-demo.joke"
        assert message.context["pipeline_id"] == "padatious_high"
        assert message.context["user_id"] == "u-1"
        # No session id in the request: the hub uses the connection's HELLO session.
        assert message.context["session"]["session_id"] == alice.session_id
        assert message.context["session"]["site_id"] == "alice"
    assert handled.context["session"]["active_skills"][0][0] == "thalovant-demo.joke"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", r"^Hello! I am your local Thalovant hub\.$"),
        ("Hi there", r"^Hello!"),
        ("what time is it", r"^It is \d\d:\d\d\.$"),
        ("What can this hub do?", r"tell a joke.*favourite colour"),
        ("help", r"tell a joke"),
    ],
)
async def test_simple_demo_skills(alice: RawClient, text: str, expected: str) -> None:
    said = spoken(await alice.ask(text))
    assert len(said) == 1
    assert re.search(expected, said[0])


async def test_lang_is_echoed(alice: RawClient) -> None:
    messages = await alice.ask("hello", lang="de-de")
    assert messages[0].data["lang"] == "de-de"


async def test_unmatched(hub: LocalHub, alice: RawClient) -> None:
    hub.fallback = False
    rid = f"thalovant-request-{uuid.uuid4().hex}"
    messages = await alice.ask("reticulate the splines", request_id=rid)
    assert [m.type for m in messages] == ["ovos.intent.unmatched", "ovos.utterance.handled"]
    assert messages[0].data == {"utterance": "reticulate the splines", "lang": "en-us"}
    for message in messages:
        assert_echoes(rid, message)
        assert message.context["pipeline_id"] == "fallback_low"
        assert "skill_id" not in message.context


async def test_be_quiet_is_handled_without_speech(alice: RawClient) -> None:
    messages = await alice.ask("be quiet")
    assert [m.type for m in messages] == ["ovos.utterance.handled"]
    assert messages[0].context["skill_id"] == "thalovant-demo.quiet"


async def test_story_arrives_as_three_speaks_then_handled(alice: RawClient) -> None:
    rid = await alice.utter("tell me a story")
    messages = await alice.collect(rid)
    assert [m.type for m in messages] == ["speak"] * 3 + ["ovos.utterance.handled"]
    assert spoken(messages)[0].startswith("Once upon a time")
    assert spoken(messages)[-1].endswith("The end.")


async def test_favourite_colour_is_remembered_per_session(alice: RawClient) -> None:
    said = spoken(await alice.ask("My favourite colour is Sea Green", session_id="s-1"))
    assert said == ["Got it: your favourite colour is Sea Green."]
    recall = spoken(await alice.ask("what's my favorite color?", session_id="s-1"))
    assert recall == ["Your favourite colour is Sea Green."]
    other = spoken(await alice.ask("what is my favourite colour", session_id="s-2"))
    assert other[0].startswith("I don't know yet")
    # The connection's own session (no id given) is yet another session.
    default = spoken(await alice.ask("what is my favourite colour"))
    assert default[0].startswith("I don't know yet")


async def test_default_session_id_is_replaced(alice: RawClient) -> None:
    await alice.ask("my favourite colour is red")  # the connection's session
    messages = await alice.ask("what is my favourite colour", session_id="default")
    assert messages[0].context["session"]["session_id"] == alice.session_id
    assert spoken(messages) == ["Your favourite colour is red."]


async def test_session_memory_survives_reconnect(hub: LocalHub, clients: Clients) -> None:
    identity = register(hub)
    first = await clients.connect(identity)
    await first.ask("my favourite colour is blue", session_id="kiosk-conversation")
    await first.aclose()
    second = await clients.connect(identity, static_private=first.static_private)
    said = spoken(await second.ask("what is my favourite colour", session_id="kiosk-conversation"))
    assert said == ["Your favourite colour is blue."]


async def test_requests_of_one_session_are_answered_in_order(alice: RawClient) -> None:
    first = await alice.utter("my favourite colour is green", session_id="s-order")
    second = await alice.utter("what is my favourite colour", session_id="s-order")
    assert spoken(await alice.collect(first)) == ["Got it: your favourite colour is green."]
    assert spoken(await alice.collect(second)) == ["Your favourite colour is green."]


async def test_choices_then_send_action(alice: RawClient) -> None:
    messages = await alice.ask("show me choices")
    media = messages[0].data["rich_media"]
    assert media["kind"] == "choices"
    assert media["title"] == "Choose a drink"
    assert media["choices"] == [dict(c) for c in DEMO_CHOICES]
    assert spoken(await alice.ask("choose a drink"))

    tea = DEMO_CHOICES[1]
    action = {"kind": "action", "title": tea["title"], "payload": tea["payload"]}
    rid = f"thalovant-request-{uuid.uuid4().hex}"
    messages = await alice.ask(tea["payload"], request_id=rid, context={"input": action})
    assert spoken(messages) == ["You chose Tea."]
    assert messages[0].context["skill_id"] == "thalovant-demo.action"
    assert messages[0].context["input"] == action
    assert_echoes(rid, messages[0])

    untitled = {"kind": "action", "title": None, "payload": DEMO_CHOICES[0]["payload"]}
    said = spoken(await alice.ask(untitled["payload"], context={"input": untitled}))
    assert said == ["You chose Coffee."]
    unknown = {"kind": "action", "title": None, "payload": "/next"}
    assert spoken(await alice.ask("/next", context={"input": unknown})) == ["You chose /next."]


@pytest.mark.parametrize(
    ("kind", "label", "expected"),
    [
        ("barcode", "device serial", "Got barcode device serial: SN-001-XYZ"),
        ("code", None, "Got code: SN-001-XYZ"),
    ],
)
async def test_send_code_is_echoed(
    alice: RawClient, kind: str, label: str | None, expected: str
) -> None:
    given = {"kind": kind, "label": label, "value": "SN-001-XYZ", "exact": True}
    messages = await alice.ask("SN-001-XYZ", context={"input": given}, data={"input": given})
    assert spoken(messages) == [expected]
    assert messages[0].context["skill_id"] == "thalovant-demo.code"


async def test_exact_code_wins_over_a_phrase_skill(alice: RawClient) -> None:
    given = {"kind": "code", "label": None, "value": "hello", "exact": True}
    assert spoken(await alice.ask("hello", data={"input": given})) == ["Got code: hello"]
