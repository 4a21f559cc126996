"""Our async client against HiveMind-core 5.x over WSS, HTTPS and MQTT."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from thalovant.errors import (
    ThalovantClientKeyRejectedError,
    ThalovantHubRefusedError,
    ThalovantPolicyDeniedError,
)
from thalovant.identity.model import ThalovantIdentity

from .conftest import OTHER_TYPE, AsyncFactory
from .peer import PeerHub

pytestmark = [pytest.mark.interop, pytest.mark.anyio]


async def test_first_contact_xx_then_pinned_kk(
    make_client: AsyncFactory, identity: ThalovantIdentity
) -> None:
    with anyio.fail_after(30):
        async with make_client(identity) as first:
            first_info = await first.connection_info()
        async with make_client(identity) as second:
            second_info = await second.connect_with_info()
            reply = await second.ask("hello there")
    assert first_info.pattern == "XXpsk2"
    assert second_info.pattern == "KKpsk0"
    assert reply.text == "you said hello there, turn 1"


async def test_ask_gets_the_responder_text(
    make_client: AsyncFactory, identity: ThalovantIdentity
) -> None:
    with anyio.fail_after(30):
        async with make_client(identity) as client:
            reply = await client.ask("what time is it")
            again = await client.ask("and now")
    assert reply.text == "you said what time is it, turn 1"
    assert reply.handled
    assert again.text.startswith("you said and now")
    assert again.request_id != reply.request_id


async def test_conversation_keeps_its_session(
    make_client: AsyncFactory, identity: ThalovantIdentity
) -> None:
    with anyio.fail_after(30):
        async with make_client(identity) as client:
            chat = client.conversation()
            first = await chat.ask("one")
            second = await chat.ask("two")
            other = await client.conversation().ask("three")
    assert first.text == "you said one, turn 1"
    assert second.text == "you said two, turn 2"
    assert other.text == "you said three, turn 1"


async def test_send_utterance_and_listen(
    make_client: AsyncFactory, identity: ThalovantIdentity
) -> None:
    with anyio.fail_after(30):
        async with make_client(identity) as client:
            listener = client.listen("speak", max_events=1, timeout=20)
            async with listener:
                request_id = await client.send_utterance("fire and forget")
                events = [event async for event in listener]
    assert [event.text for event in events] == ["you said fire and forget, turn 1"]
    assert events[0].request_id == request_id


async def test_message_type_not_allowed_is_policy_denied(
    make_client: AsyncFactory, peer: PeerHub
) -> None:
    restricted = peer.identity(peer.take(allow=(OTHER_TYPE,)))
    with anyio.fail_after(30):
        async with make_client(restricted) as client:
            with pytest.raises(ThalovantPolicyDeniedError) as caught:
                await client.ask("may I?")
    assert "recognizer_loop:utterance" in str(caught.value)


async def test_wrong_password_is_refused(make_client: AsyncFactory, peer: PeerHub) -> None:
    client_record = peer.take()
    bad = peer.identity(client_record, password="not-the-password-at-all")
    with anyio.fail_after(30):
        with pytest.raises(ThalovantHubRefusedError) as caught:
            await make_client(bad).connect()
    assert not isinstance(caught.value, ThalovantClientKeyRejectedError)
    assert "not-the-password-at-all" not in str(caught.value)
    assert client_record.access_key not in str(caught.value)


async def test_second_program_on_the_same_access_key_is_rejected(
    make_client: AsyncFactory, identity: ThalovantIdentity, tmp_path: Path
) -> None:
    with anyio.fail_after(30):
        async with make_client(identity):
            pass
        other = make_client(identity, noise_state_dir=tmp_path / "other-program")
        with pytest.raises(ThalovantClientKeyRejectedError) as caught:
            await other.connect()
    assert caught.value.key_folder == str(tmp_path / "other-program")
