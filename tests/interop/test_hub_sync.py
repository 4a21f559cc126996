"""Our sync facade against HiveMind-core 5.x over WSS, HTTPS and MQTT."""

from __future__ import annotations

import pytest

from thalovant.errors import ThalovantHubRefusedError, ThalovantPolicyDeniedError
from thalovant.identity.model import ThalovantIdentity

from .conftest import OTHER_TYPE, SyncFactory
from .peer import PeerHub

pytestmark = pytest.mark.interop


def test_first_contact_xx_then_pinned_kk(
    make_sync_client: SyncFactory, identity: ThalovantIdentity
) -> None:
    with make_sync_client(identity, connect_timeout=10) as first:
        first_info = first.connection_info()
    with make_sync_client(identity) as second:
        second_info = second.connect_with_info(timeout=30)
        reply = second.ask("hello there", timeout=20)
    assert first_info.pattern == "XXpsk2"
    assert second_info.pattern == "KKpsk0"
    assert reply.text == "you said hello there, turn 1"


def test_ask_and_conversation(make_sync_client: SyncFactory, identity: ThalovantIdentity) -> None:
    with make_sync_client(identity) as client:
        reply = client.ask("what time is it", timeout=20)
        chat = client.conversation()
        first = chat.ask("one", timeout=20)
        second = chat.ask("two", timeout=20)
    assert reply.text == "you said what time is it, turn 1"
    assert (first.text, second.text) == ("you said one, turn 1", "you said two, turn 2")


def test_send_utterance_and_listen(
    make_sync_client: SyncFactory, identity: ThalovantIdentity
) -> None:
    client = make_sync_client(identity)
    with client, client.listen("speak", max_events=1, timeout=20) as events:
        request_id = client.send_utterance("fire and forget")
        received = list(events)
    assert [event.text for event in received] == ["you said fire and forget, turn 1"]
    assert received[0].request_id == request_id


def test_policy_denied_and_wrong_password(make_sync_client: SyncFactory, peer: PeerHub) -> None:
    restricted = peer.identity(peer.take(allow=(OTHER_TYPE,)))
    with make_sync_client(restricted) as client, pytest.raises(ThalovantPolicyDeniedError):
        client.ask("may I?", timeout=20)
    bad = peer.identity(peer.take(), password="not-the-password-at-all")
    with pytest.raises(ThalovantHubRefusedError):
        make_sync_client(bad).connect(timeout=30)
