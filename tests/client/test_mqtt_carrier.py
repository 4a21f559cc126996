"""The MQTT carrier against the local hub's embedded broker (real sockets, trustme TLS)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import anyio
import pytest

from thalovant.carriers import CarrierOptions
from thalovant.carriers.base import CarrierClosed
from thalovant.carriers.mqtt import (
    SESSION_GONE_CODE,
    MQTTCarrier,
    close_notice,
    decode_payload,
    open_mqtt,
    parse_broker_url,
    parse_close_notice,
)
from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantHubRefusedError,
    ThalovantUnsupportedProtocolError,
)
from thalovant.hub import LocalHub
from thalovant.hub.servers.broker import BrokerAccount, EmbeddedBroker
from thalovant.identity import MqttBrokerCredentials, ThalovantIdentity
from thalovant.identity.keystore import NoiseKeyStore
from thalovant.link import link as link_module
from thalovant.link.dialer import send_cleartext_hello
from thalovant.link.link import Link
from thalovant.link.settings import LinkSettings
from thalovant.protocol.binary import BinaryFrame
from thalovant.protocol.envelope import HiveMessage, bus_message
from thalovant.protocol.hello import is_hello as is_hub_hello
from thalovant.protocol.noise import PATTERN_KK
from thalovant.protocol.psk import PskDeriver
from thalovant.testing import HubTLS

from .conftest import NODE_ID, ClientFactory, register
from .test_link import channels

pytestmark = pytest.mark.anyio


def with_mqtt(identity: ThalovantIdentity, **changes: object) -> ThalovantIdentity:
    data = identity.as_dict(include_secrets=True)
    data["mqtt"] = {**data["mqtt"], **changes}
    return ThalovantIdentity.from_mapping(data)


def test_payload_decoding() -> None:
    assert decode_payload(b'{"msg_type":"hello"}') == '{"msg_type":"hello"}'
    assert decode_payload(b"{not json}") == b"{not json}"
    assert decode_payload(b"\x00\x01") == b"\x00\x01"
    assert decode_payload(b"{\xff}") == b"{\xff}"
    assert parse_close_notice(close_notice(1008, "no")) == (1008, "no")
    assert parse_close_notice('{"msg_type":"hello"}') is None
    assert is_hub_hello('{"msg_type": "hello", "payload": {"node_id": "n"}}')
    assert not is_hub_hello('{"msg_type": "shake", "payload": {"hello": 1}}')
    assert not is_hub_hello(close_notice(1000, "hello"))
    address = parse_broker_url("mqtts://broker.example")
    assert (address.host, address.port, address.tls) == ("broker.example", 8883, True)
    assert parse_broker_url("mqtt://h:1884", tls=True).tls
    with pytest.raises(ThalovantConnectionError):
        parse_broker_url("http://h")


async def test_no_mqtt_block_fails_at_once(identity: ThalovantIdentity) -> None:
    bare = ThalovantIdentity.from_mapping({**identity.as_dict(include_secrets=True), "mqtt": None})
    with pytest.raises(ThalovantUnsupportedProtocolError):
        AsyncThalovantClient(bare, protocol="mqtt")


async def test_identity_carries_mqtt(hub: LocalHub, identity: ThalovantIdentity) -> None:
    assert identity.mqtt is not None
    assert identity.protocols.mqtt
    assert identity.mqtt.endpoint == hub.mqtt_url
    assert identity.mqtt.uses_tls
    assert identity.mqtt.topic_prefix == f"hivemind/{identity.access_key}"
    assert identity.mqtt.password not in repr(identity)
    record = hub.client(identity.access_key)
    assert record is not None
    assert record.mqtt_password is not None
    assert record.mqtt_password not in repr(record)


async def test_ask_presence_and_close(
    hub: LocalHub, identity: ThalovantIdentity, make_client: ClientFactory
) -> None:
    broker = hub.embedded_broker
    assert broker is not None
    assert identity.mqtt is not None
    status = identity.mqtt_topics().status
    client = make_client(identity, protocol="mqtt")
    with anyio.fail_after(10):
        await client.connect()
        reply = await client.ask("hello")
        assert "Hello" in reply.text
        assert hub.connections == 1
        assert broker.retained(status) == b"online"
        await client.close()
        await hub.wait_for_connections(0)
    assert broker.retained(status) == b"offline"


async def test_crash_leaves_the_last_will(
    hub: LocalHub, identity: ThalovantIdentity, make_client: ClientFactory
) -> None:
    broker = hub.embedded_broker
    assert broker is not None
    client = make_client(identity, protocol="mqtt", auto_reconnect=False)
    with anyio.fail_after(10):
        await client.connect()
        link = client._runtime.link
        assert link is not None
        link.abort()  # the socket just closes: the broker publishes the will
        await hub.wait_for_connections(0)
    assert broker.retained(identity.mqtt_topics().status) == b"offline"


async def test_bad_broker_password_is_refused(
    identity: ThalovantIdentity, make_client: ClientFactory
) -> None:
    client = make_client(with_mqtt(identity, password="wrong"), protocol="mqtt")
    with anyio.fail_after(10), pytest.raises(ThalovantHubRefusedError) as caught:
        await client.connect()
    assert "wrong" not in str(caught.value)


async def test_wrong_noise_password_is_refused_at_once(
    hub: LocalHub, identity: ThalovantIdentity, make_client: ClientFactory
) -> None:
    data = identity.as_dict(include_secrets=True)
    data["password"] = "not-the-password"
    client = make_client(ThalovantIdentity.from_mapping(data), protocol="mqtt")
    with anyio.fail_after(10), pytest.raises(ThalovantHubRefusedError):
        await client.connect()  # the hub's 1008 close notice, not the handshake timeout


async def test_plain_mqtt_off_loopback_is_refused(
    identity: ThalovantIdentity, make_client: ClientFactory
) -> None:
    client = make_client(
        with_mqtt(identity, endpoint="mqtt://192.0.2.1:1883", tls=False), protocol="mqtt"
    )
    with anyio.fail_after(5), pytest.raises(ThalovantUnsupportedProtocolError):
        await client.connect()


async def test_broker_loss_redials_and_nothing_is_replayed(
    hub: LocalHub, identity: ThalovantIdentity, make_client: ClientFactory
) -> None:
    broker = hub.embedded_broker
    assert broker is not None
    asked: list[str] = []
    arrived = anyio.Event()

    @hub.on_bus("recognizer_loop:utterance")
    async def stall(ctx: object) -> None:
        asked.append("x")
        arrived.set()
        await anyio.sleep_forever()  # no answer: the ask is in flight when the broker dies

    client = make_client(identity, protocol="mqtt")
    with anyio.fail_after(15):
        await client.connect()

        async def kill_when_asked() -> None:
            await arrived.wait()
            broker.kill()

        async with anyio.create_task_group() as tg:
            tg.start_soon(kill_when_asked)
            with pytest.raises(ThalovantConnectionError):
                await client.ask("hello", timeout=10)
        assert not client.is_connected
        hub.dispatcher.bus_hooks.pop("recognizer_loop:utterance")
        await broker.start()  # same ports: the hub and the client both redial
        await hub.wait_for_connections(1)
        reply = await client.ask("hello")
    assert "Hello" in reply.text
    assert asked == ["x"]  # the failed ask was never sent again


async def test_hub_restart_redials(
    hub_tls: HubTLS, tmp_path: Path, make_client: ClientFactory
) -> None:
    state = tmp_path / "restart-hub"
    first = LocalHub(state, ssl_context=hub_tls.server_context, node_id=NODE_ID)
    await first.start()
    identity = register(first, "restart")
    client = make_client(identity, protocol="mqtt")
    try:
        with anyio.fail_after(15):
            await client.connect()
            await first.aclose()
            second = LocalHub(
                state,
                ssl_context=hub_tls.server_context,
                wss_port=first.wss_port,
                mqtt_port=first.mqtt_port,
            )
            async with second:
                await second.wait_for_connections(1)
                reply = await client.ask("hello")
                assert "Hello" in reply.text
    finally:
        await first.aclose()


# -- HiveMind-core's MQTT plugin ends a session without a notice (docs/interop.md) -----------

PREFIX = "hm/ak-open"
HUB_HELLO = b'{"msg_type": "hello", "payload": {"node_id": "n", "peer": "p"}}'


@pytest.fixture
async def open_broker() -> AsyncIterator[EmbeddedBroker]:
    """A broker that lets everyone use every topic (like the interop peer's amqtt)."""
    broker = EmbeddedBroker(lambda name: BrokerAccount(name, "pw"))
    await broker.start()
    try:
        yield broker
    finally:
        await broker.aclose()


@pytest.fixture
async def plugin(open_broker: EmbeddedBroker) -> AsyncIterator[aiomqtt.Client]:
    """Stands in for the hub's MQTT plugin: it sees ``/in`` and publishes to ``/out``."""
    async with aiomqtt.Client(
        "127.0.0.1", open_broker.hub_port, username="hub", password="pw"
    ) as c:
        await c.subscribe(f"{PREFIX}/in", qos=1)
        yield c


async def open_client(broker: EmbeddedBroker) -> MQTTCarrier:
    """The carrier, and the cleartext HELLO the link sends on it first (as ``dial`` does)."""
    credentials = MqttBrokerCredentials(
        endpoint=broker.client_url, username="sat", password="pw", topic_prefix=PREFIX, tls=False
    )
    carrier = await open_mqtt(credentials, ssl_context=None)
    assert carrier.cleartext_hello
    try:
        await send_cleartext_hello(carrier, "site")
    except BaseException:
        carrier.abort()
        raise
    return carrier


async def next_publish(client: aiomqtt.Client) -> bytes:
    async for message in client.messages:
        assert isinstance(message.payload, bytes)
        return message.payload
    raise AssertionError("the plugin lost the broker")


def link_settings(tmp_path: Path) -> LinkSettings:
    identity = ThalovantIdentity.from_mapping(
        {"access_key": "ak", "password": "pw", "site_id": "site", "default_master": "wss://h:1"}
    )
    return LinkSettings(
        identity=identity,
        protocol="mqtt",
        carrier=CarrierOptions("ua", 1.0, None),
        handshake_timeout=1.0,
        send_timeout=1.0,
        key_store=NoiseKeyStore(tmp_path / "noise"),
        pin_id="https://h:1",
        psk_deriver=PskDeriver(),
    )


@pytest.mark.parametrize("settle", [0.0, 30.0], ids=["after-the-window", "within-the-window"])
async def test_a_new_hub_hello_after_the_session_exists_ends_the_link(
    open_broker: EmbeddedBroker,
    plugin: aiomqtt.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settle: float,
) -> None:
    """The carrier moves the hub's new cleartext HELLO like any frame; the link reads it as a
    close without a status (1005): a drop after the refusal window, a refusal within it."""
    monkeypatch.setattr(link_module, "REFUSAL_SETTLE_SECONDS", settle)
    received: list[HiveMessage | BinaryFrame] = []
    with anyio.fail_after(10):
        carrier = await open_client(open_broker)
        try:
            assert b'"hello"' in await next_publish(plugin)  # the cleartext client HELLO
            await plugin.publish(f"{PREFIX}/out", HUB_HELLO, qos=1)
            assert await carrier.receive() == HUB_HELLO.decode()  # handshake: a frame
            mine, _ = channels(PATTERN_KK)
            link = Link(
                carrier,
                mine,
                session_id="sid",
                pattern=PATTERN_KK,
                settings=link_settings(tmp_path),
                hello_ends_session=carrier.cleartext_hello,
            )
            await link.send(bus_message("ping"))
            assert isinstance(await next_publish(plugin), bytes)  # the session exists
            # the plugin forgot the session; the Noise message opened a new one
            await plugin.publish(f"{PREFIX}/out", HUB_HELLO, qos=1)
            ended = await link.run(received.append, lambda: None)
        finally:
            await carrier.aclose()
    assert received == []
    assert type(ended) is (ThalovantConnectionError if settle == 0.0 else ThalovantHubRefusedError)
    gone = link._classify(CarrierClosed("gone", code=SESSION_GONE_CODE))
    assert type(gone) is type(ended)  # exactly the outcome of a close without a status


async def test_a_live_offline_on_the_status_topic_ends_the_carrier(
    open_broker: EmbeddedBroker, plugin: aiomqtt.Client
) -> None:
    status = f"{PREFIX}/status"
    await plugin.publish(status, b"offline", qos=1, retain=True)  # from an earlier session
    with anyio.fail_after(10):
        carrier = await open_client(open_broker)
        try:
            await next_publish(plugin)
            await plugin.publish(f"{PREFIX}/out", HUB_HELLO, qos=1)
            assert await carrier.receive() == HUB_HELLO.decode()  # the retained one was ignored
            await plugin.publish(status, b"online", qos=1, retain=True)  # not an end
            await plugin.publish(status, b"offline", qos=1, retain=True)  # the plugin ends it
            with pytest.raises(CarrierClosed) as caught:
                await carrier.receive()
        finally:
            await carrier.aclose()
    assert caught.value.code == SESSION_GONE_CODE
