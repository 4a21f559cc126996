"""Every example utterance of the docs, through the local hub, on every carrier (issue #18).

The docs' examples (the conversation, context, session, listen and protocol-loop examples,
the quickstart's joke, the intent inventory's "what can I ask?", the action and code
examples of spec/contract.md §1.7) each get a real answer: with the fallback on, none is
unanswered, and each answer shows what happened (the carrier, the session, the step).
"""

from __future__ import annotations

import re
import uuid

import anyio
import pytest

from tests.conftest import E2E_PROTOCOLS
from thalovant import EVENT_SPEAK
from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import ThalovantUnansweredError
from thalovant.hub import LocalHub
from thalovant.hub.responder.demo_hub import DEMO_WORKFLOW, FALLBACK_SKILL

pytestmark = pytest.mark.anyio

#: The docs' example utterances (the conversation pair is checked on its own below).
DOCUMENTED_UTTERANCES: tuple[str, ...] = (
    "Tell me a short clean joke.",
    "Remember that my favorite color is blue.",
    "What color did I mention?",
    "Show the next instruction.",
    "What should happen next?",
    "Say the current status.",
    "Reply over wss.",
    "Reply over https.",
    "Reply over mqtt.",
    "what can I ask?",
    "hello",
    "What time is it?",
    "My favourite colour is green.",
    "What is my favourite colour?",
    "tell me a story",
    "show me choices",
)


@pytest.fixture(params=E2E_PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


async def test_every_documented_utterance_is_answered(
    client: AsyncThalovantClient, hub: LocalHub, protocol: str
) -> None:
    assert hub.fallback  # on by default
    for text in DOCUMENTED_UTTERANCES:
        with anyio.fail_after(10):
            reply = await client.ask(text)
        assert reply.handled, text
        assert reply.text.strip(), text
        skills = {event.context.get("skill_id") for event in reply.events}
        assert FALLBACK_SKILL not in skills, f"{text!r} fell through to the fallback"


async def test_the_documented_conversation_remembers_the_colour(
    client: AsyncThalovantClient, protocol: str
) -> None:
    with anyio.fail_after(15):
        talk = client.conversation()
        first = await talk.ask("Remember that my favorite color is blue.")
        second = await talk.ask("What color did I mention?")
        other = await client.conversation().ask("What color did I mention?")
    assert "blue" in first.text
    assert "blue" in second.text
    assert "blue" not in other.text  # another session knows nothing


@pytest.mark.parametrize(
    "question",
    ["what color did I say", "Which colour did I tell you?", "what's my favorite color"],
)
async def test_natural_colour_questions(
    client: AsyncThalovantClient, protocol: str, question: str
) -> None:
    with anyio.fail_after(10):
        talk = client.conversation()
        await talk.ask("my favourite colour is teal")
        reply = await talk.ask(question)
    assert "teal" in reply.text


async def test_remember_that_anything(client: AsyncThalovantClient, protocol: str) -> None:
    with anyio.fail_after(10):
        talk = client.conversation()
        said = await talk.ask("Remember that the door code is 42.")
        recalled = await talk.ask("What did I ask you to remember?")
    assert said.text.startswith("I'll remember that the door code is 42.")
    assert "the door code is 42" in recalled.text


async def test_reply_over_names_the_carrier(client: AsyncThalovantClient, protocol: str) -> None:
    with anyio.fail_after(10):
        same = await client.ask(f"Reply over {protocol}.")
        other = await client.ask("Reply over wss." if protocol != "wss" else "Reply over mqtt.")
    assert same.text == f"Replying over {protocol}: your request came in over {protocol}."
    assert other.text.startswith(f"Your request came in over {protocol}, so this reply")


async def test_status_shows_hub_clients_and_session(
    client: AsyncThalovantClient, hub: LocalHub, protocol: str
) -> None:
    session_id = f"status-{uuid.uuid4().hex[:8]}"
    with anyio.fail_after(10):
        reply = await client.ask("Say the current status.", session_id=session_id)
    assert reply.text.startswith(f"Thalovant local hub {hub.node_id} is up for ")
    assert "1 client connected (kiosk)" in reply.text
    assert f"Your session is {session_id} over {protocol}." in reply.text
    assert re.search(r"is up for \d+ s", reply.text)


async def test_next_instruction_walks_the_workflow_per_session(
    client: AsyncThalovantClient, protocol: str
) -> None:
    with anyio.fail_after(15):
        talk = client.conversation()
        steps = [(await talk.ask("Show the next instruction.")).text for _ in DEMO_WORKFLOW]
        again = await talk.ask("What should happen next?")
        fresh = await client.conversation().ask("What should happen next?")
    total = len(DEMO_WORKFLOW)
    assert steps == [
        f"Step {n} of {total}: {step}"
        + (" That is the last step; asking again starts over." if n == total else "")
        for n, step in enumerate(DEMO_WORKFLOW, 1)
    ]
    assert again.text == f"Step 1 of {total}: {DEMO_WORKFLOW[0]}"
    assert fresh.text == f"Step 1 of {total}: {DEMO_WORKFLOW[0]}"


async def test_fallback_says_what_it_heard_and_what_to_try(
    client: AsyncThalovantClient, protocol: str
) -> None:
    with anyio.fail_after(10):
        reply = await client.ask("please recalibrate the flux capacitor")
    assert reply.handled
    assert reply.text.startswith(
        "I heard 'please recalibrate the flux capacitor', but no skill here handles that. Try "
    )
    assert "'what can this hub do'" in reply.text
    assert reply.events[0].context["skill_id"] == FALLBACK_SKILL
    assert reply.events[0].context["pipeline_id"] == "fallback_low"


async def test_fallback_off_gives_unmatched(
    client: AsyncThalovantClient, hub: LocalHub, protocol: str
) -> None:
    hub.fallback = False
    with anyio.fail_after(10), pytest.raises(ThalovantUnansweredError):
        await client.ask("please recalibrate the flux capacitor")
    hub.fallback = True
    with anyio.fail_after(10):
        reply = await client.ask("please recalibrate the flux capacitor")
    assert reply.text.startswith("I heard ")


async def test_documented_action_and_code_examples(
    client: AsyncThalovantClient, protocol: str
) -> None:
    with anyio.fail_after(10):
        async with client.listen(EVENT_SPEAK, timeout=10, max_events=2) as heard:
            await client.send_action(
                "/choose",
                payload={"id": "42", "label": "Use saved address"},
                title="Choose saved address",
                session_id="checkout-session",
            )
            await client.send_code(
                "SN-001-XYZ",
                kind="barcode",
                label="device serial",
                session_id="maintenance-session",
            )
            texts = sorted([event.text or "" async for event in heard])
    assert texts == ["Got barcode device serial: SN-001-XYZ", "You chose Choose saved address."]
