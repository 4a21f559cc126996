"""Issue #11 defect 9: a request nested just under the old decoder limit (900 deep) reached
the hub's context copy and died there in a RecursionError, unanswered, with the link open.
Now one limit (``MAX_DEPTH``) holds: at the limit a request is answered, one level deeper the
hub closes the link (1002); the SDK client refuses to build either side of it."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiomqtt
import anyio
import pytest

from thalovant.carriers.mqtt import parse_close_notice
from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import ThalovantError, ThalovantRuntimeError
from thalovant.hub import LocalHub
from thalovant.protocol.envelope import MAX_DEPTH
from thalovant.testing import HubTLS

from .conftest import Clients, register
from .raw_client import RawClient, correlation_context

pytestmark = pytest.mark.anyio


def nested(levels: int) -> Any:
    value: Any = "leaf"
    for n in range(levels):
        value = {"k": value} if n % 2 else [value]
    return value


async def send_raw(client: RawClient, body: bytes) -> None:
    """Encrypt and send JSON bytes as they are: a hostile peer, past our own encoder."""
    for frame in client.channel._encrypt(body, binary=False):
        await client.ws.send(frame)


def utterance(request_id: str, site_id: str, extra_levels: int) -> bytes:
    """A ``recognizer_loop:utterance`` whose context carries a value ``extra_levels`` deep
    (the context is level 3 of the envelope)."""
    context = correlation_context(request_id, site_id=site_id)
    context["deep"] = "@deep@"
    envelope = {
        "msg_type": "bus",
        "payload": {
            "type": "recognizer_loop:utterance",
            "data": {"utterances": ["hello"], "lang": "en-us"},
            "context": context,
        },
        "metadata": {},
        "route": [],
    }
    deep = json.dumps(nested(min(extra_levels, 200)))  # json.dumps itself recurses
    deep = (
        "[" * (extra_levels - 200) + deep + "]" * (extra_levels - 200)
        if extra_levels > 200
        else deep
    )
    return json.dumps(envelope).replace('"@deep@"', deep).encode()


async def test_a_request_at_the_limit_is_answered(hub: LocalHub, clients: Clients) -> None:
    identity = register(hub)
    client = await clients.connect(identity)
    await send_raw(client, utterance("rid-at-limit", identity.site_id, MAX_DEPTH - 3))
    replies = await client.collect("rid-at-limit", within=10)
    assert replies[-1].type == "ovos.utterance.handled"
    assert replies[0].context["deep"] == nested(MAX_DEPTH - 3)  # copied whole


@pytest.mark.parametrize("extra", [MAX_DEPTH - 2, 900, 5000])
async def test_a_deeper_request_closes_the_link_without_an_error_log(
    hub: LocalHub, clients: Clients, caplog: pytest.LogCaptureFixture, extra: int
) -> None:
    caplog.set_level(logging.INFO)
    identity = register(hub)
    client = await clients.connect(identity)
    await send_raw(client, utterance("rid-too-deep", identity.site_id, extra))
    with anyio.fail_after(10):
        assert await client.wait_closed() == 1002
        await hub.wait_for_connections(0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    # the hub still serves (another client: a raw client's static key is new each time)
    again = await clients.connect(register(hub, "bob"))
    assert (await again.ask("hello"))[-1].type == "ovos.utterance.handled"


async def test_the_client_refuses_to_send_a_too_deep_context(
    hub: LocalHub, hub_tls: HubTLS, tmp_path: Any
) -> None:
    identity = register(hub)
    async with AsyncThalovantClient(
        identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "noise"
    ) as client:
        with anyio.fail_after(20):
            for levels in (MAX_DEPTH, 900, 5000):
                with pytest.raises(ThalovantRuntimeError, match="deeper than"):
                    await client.ask("hello", context={"deep": nested(levels)}, timeout=5)
            # nothing was sent: the link is still up and answers
            assert "Hello" in (await client.ask("hello", timeout=10)).text
            with pytest.raises(ThalovantError):
                await client.emit("x.y", {"deep": nested(MAX_DEPTH)})


async def test_a_deep_cleartext_hello_over_mqtt_is_refused_and_the_broker_link_stays(
    hub: LocalHub, hub_tls: HubTLS, caplog: pytest.LogCaptureFixture
) -> None:
    """A cleartext HELLO nested beyond the interpreter's limit used to raise RecursionError
    in the hub's MQTT reader, which dropped the broker link (every MQTT client's session)."""
    caplog.set_level(logging.INFO)
    identity = register(hub, "mqtt-deep")
    creds, topics = identity.mqtt, identity.mqtt_topics()
    assert creds is not None
    deep = "[" * 5000 + "]" * 5000
    hello = '{"msg_type":"hello","payload":{"x":' + deep + "}}"
    async with aiomqtt.Client(
        "127.0.0.1",
        int(creds.endpoint.rsplit(":", 1)[1]),
        username=creds.username,
        password=creds.password,
        tls_context=hub_tls.client_context,
    ) as raw:
        with anyio.fail_after(10):
            await raw.subscribe(topics.outbound, qos=1)
            await raw.publish(topics.inbound, hello.encode(), qos=1)
            async for message in raw.messages:  # the hub answers: no session (a close notice)
                assert isinstance(message.payload, bytes)
                assert parse_close_notice(message.payload.decode()) is not None
                break
    assert not [r for r in caplog.records if "lost the MQTT broker" in r.getMessage()]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
