"""The hub's MQTT side through real brokers: the embedded one and mosquitto (TLS, ACLs)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import anyio
import pytest

from tests.mosquitto import Mosquitto, mosquitto_available
from thalovant.client.client import AsyncThalovantClient
from thalovant.hub import LocalHub
from thalovant.hub.servers.broker import topic_matches
from thalovant.identity.model import ThalovantIdentity
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio


def test_topic_matching() -> None:
    assert topic_matches("a/+/in", "a/k/in")
    assert topic_matches("a/#", "a/k/out")
    assert not topic_matches("a/+/in", "a/k/out")
    assert not topic_matches("#", "$SYS/x")


@pytest.fixture
def mosquitto(hub_tls: HubTLS, tmp_path: Path) -> Iterator[Mosquitto]:
    if not mosquitto_available():
        pytest.fail("mosquitto is not installed: apt-get install -y mosquitto")
    broker = Mosquitto(tmp_path / "mosquitto", hub_tls)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(params=["embedded", "mosquitto"])
async def mqtt_hub(
    request: pytest.FixtureRequest, anyio_backend: Any, hub_tls: HubTLS, tmp_path: Path
) -> AsyncIterator[LocalHub]:
    """A local hub serving MQTT through the embedded broker or through mosquitto."""
    if request.param == "embedded":
        hub = LocalHub(tmp_path / "hub", ssl_context=hub_tls.server_context)
    else:
        broker: Mosquitto = request.getfixturevalue("mosquitto")
        hub = LocalHub(
            tmp_path / "hub",
            ssl_context=hub_tls.server_context,
            mqtt_broker=broker.hub_url,
            mqtt_client_url=broker.client_url,
            mqtt_provisioner=broker.add_client,
        )
    async with hub:
        yield hub


def raw_client(identity: ThalovantIdentity, context: ssl.SSLContext) -> aiomqtt.Client:
    creds = identity.mqtt
    assert creds is not None
    port = int(creds.endpoint.rsplit(":", 1)[1])
    return aiomqtt.Client(
        "127.0.0.1",
        port,
        username=creds.username,
        password=creds.password,
        tls_context=context,
    )


async def test_ask_over_mqtt_tls(mqtt_hub: LocalHub, hub_tls: HubTLS, tmp_path: Path) -> None:
    identity = mqtt_hub.register_client("kiosk")
    assert identity.mqtt is not None
    assert identity.mqtt.endpoint.startswith("mqtts://")
    async with AsyncThalovantClient(
        identity,
        protocol="mqtt",
        ssl_context=hub_tls.client_context,
        noise_state_dir=tmp_path / "noise",
    ) as client:
        with anyio.fail_after(10):
            reply = await client.ask("hello")
            assert "Hello" in reply.text
            await mqtt_hub.drop_connections()  # a 1011 notice: the client redials
            await mqtt_hub.wait_for_connections(0)
            await mqtt_hub.wait_for_connections(1)
            assert "Hello" in (await client.ask("hello")).text


async def test_one_client_cannot_read_another(
    mqtt_hub: LocalHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    alice = mqtt_hub.register_client("alice")
    bob = mqtt_hub.register_client("bob")
    assert alice.mqtt is not None
    assert bob.mqtt is not None
    bob_out = bob.mqtt_topics().outbound
    alice_out = alice.mqtt_topics().outbound
    async with (
        raw_client(alice, hub_tls.client_context) as eve,
        raw_client(bob, hub_tls.client_context) as real_bob,
    ):
        with anyio.fail_after(10):
            granted = await eve.subscribe(bob_out, qos=1)
            await eve.subscribe(alice_out, qos=1)
            await real_bob.subscribe(bob_out, qos=1)
            # The embedded broker refuses the SUBSCRIBE (0x80); mosquitto 2.0 grants it and
            # filters on delivery. Either way nothing of Bob's may reach Eve (checked below).
            assert [getattr(code, "value", code) for code in granted] in ([0x80], [0], [1])
            # Eve may not publish as Bob either: the hub never sees it.
            await eve.publish(bob.mqtt_topics().inbound, b'{"msg_type":"hello"}', qos=1)
            # Bob opens a session: the hub answers (HELLO, offer) on Bob's /out.
            session_id = "thalovant-python-mqtt-acl"
            hello = (
                '{"msg_type":"hello","payload":{"pubkey":"","session":{"session_id":"'
                + session_id
                + '"},"site_id":"bob"},"metadata":{},"route":[]}'
            )
            await real_bob.publish(bob.mqtt_topics().inbound, hello.encode(), qos=1)
            async for message in real_bob.messages:
                assert b'"hello"' in bytes(message.payload)  # type: ignore[arg-type]
                break
            # A marker on Alice's /out after Bob's reply (the hub answers a frame without a
            # session with a close notice): Eve's first message is the marker, nothing of Bob's.
            await eve.publish(alice.mqtt_topics().inbound, b"\x00junk", qos=1)
            async for message in eve.messages:
                assert message.topic.value == alice_out
                assert b'"close"' in bytes(message.payload)  # type: ignore[arg-type]
                break
