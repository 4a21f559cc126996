"""The hub's side of the v3 handshake over real WSS: offer, patterns, suites, refusals."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import anyio
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from thalovant.carriers.base import authorization_token, authorized_url
from thalovant.errors import ThalovantHubKeyChangedError, ThalovantHubRefusedError
from thalovant.hub import LocalHub
from thalovant.protocol.envelope import bus_message
from thalovant.protocol.handshake import x25519_public
from thalovant.protocol.noise import SUITE_AESGCM, SUITE_CHACHAPOLY, SUITES
from thalovant.testing import HubTLS

from .conftest import NODE_ID, Clients, register
from .raw_client import UA, RawClosed, spoken

pytestmark = pytest.mark.anyio


async def open_ws(hub: LocalHub, tls: HubTLS, access_key: str) -> ClientConnection:
    url = authorized_url(hub.wss_url, authorization_token(UA, access_key))
    return await connect(url, ssl=tls.client_context, compression=None, open_timeout=5)


async def close_code(ws: ClientConnection) -> int | None:
    with anyio.fail_after(5):
        await ws.wait_closed()
    return ws.close_code


async def test_hello_and_offer_are_text_frames(hub: LocalHub, hub_tls: HubTLS) -> None:
    register(hub)
    ws = await open_ws(hub, hub_tls, "ak-alice")
    try:
        with anyio.fail_after(5):
            hello, offer = await ws.recv(), await ws.recv()
        assert isinstance(hello, str)
        assert isinstance(offer, str)
        hello_msg, offer_msg = json.loads(hello), json.loads(offer)
        assert hello_msg["msg_type"] == "hello"
        payload = hello_msg["payload"]
        assert payload["node_id"] == NODE_ID
        assert payload["pubkey"] == hub.public_key.hex()
        host, port = ws.local_address[:2]
        assert payload["peer"] == f"{host}:{port}"
        assert offer_msg["msg_type"] == "shake"
        noise = offer_msg["payload"]["noise"]
        assert noise == {"patterns": ["XXpsk2", "KKpsk0"], "suites": list(SUITES)}
        assert "msg" not in noise
    finally:
        await ws.close()


async def test_xx_pins_the_client_then_kk_on_reconnect(hub: LocalHub, clients: Clients) -> None:
    identity = register(hub)
    first = await clients.connect(identity)
    assert first.result.pattern == "XXpsk2"
    assert first.hub_key == hub.public_key
    record = hub.client("ak-alice")
    assert record is not None
    assert record.client_key == x25519_public(first.static_private).hex()
    assert spoken(await first.ask("hello"))
    await first.aclose()

    again = await clients.connect(
        identity, static_private=first.static_private, pinned_hub_key=first.hub_key
    )
    assert again.result.pattern == "KKpsk0"
    assert spoken(await again.ask("hello")) == ["Hello! I am your local Thalovant hub."]


@pytest.mark.parametrize("suite", SUITES)
async def test_each_suite_for_both_patterns(hub: LocalHub, clients: Clients, suite: str) -> None:
    identity = register(hub)
    xx = await clients.connect(identity, suites=[suite])
    assert (xx.result.pattern, xx.result.suite) == ("XXpsk2", suite)
    assert spoken(await xx.ask("tell me a joke"))
    kk = await clients.connect(
        identity,
        suites=[suite],
        static_private=xx.static_private,
        pinned_hub_key=xx.hub_key,
    )
    assert (kk.result.pattern, kk.result.suite) == ("KKpsk0", suite)
    assert spoken(await kk.ask("tell me a joke"))


async def test_hub_offering_one_suite(hub_tls: HubTLS, tmp_path: Path) -> None:
    async with LocalHub(
        tmp_path, node_id=NODE_ID, ssl_context=hub_tls.server_context, suites=[SUITE_AESGCM]
    ) as hub:
        opened = Clients(hub, hub_tls)
        try:
            client = await opened.connect(register(hub))
            assert client.result.suite == SUITE_AESGCM
            assert spoken(await client.ask("hello"))
            with pytest.raises(Exception, match="no common Noise suite"):
                await opened.connect(register(hub, "bob"), suites=[SUITE_CHACHAPOLY])
        finally:
            await opened.aclose()


async def test_wrong_password_on_xx_fails_message_2(hub: LocalHub, clients: Clients) -> None:
    # XXpsk2 mixes the PSK in at message 2, so the client is the one that finds out.
    identity = register(hub)
    with pytest.raises(ThalovantHubRefusedError, match="message 2 failed to authenticate"):
        await clients.connect(identity, password="not-the-password")
    assert hub.client("ak-alice").client_key is None  # type: ignore[union-attr]


async def test_wrong_password_on_kk_closes_1008(hub: LocalHub, clients: Clients) -> None:
    identity = register(hub)
    first = await clients.connect(identity)
    with pytest.raises(RawClosed) as refused:
        await clients.connect(
            identity,
            password="not-the-password",
            static_private=first.static_private,
            pinned_hub_key=first.hub_key,
        )
    assert refused.value.code == 1008  # KKpsk0: message 1 fails on the hub


def _token(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?authorization=",
        "?authorization=%%%not-base64",
        f"?authorization={_token('no-colon-here')}",
        f"?authorization={_token(UA + ':')}",
        f"?authorization={_token(UA + ':ak-nobody')}",
    ],
    ids=["missing", "empty", "not-base64", "no-colon", "empty-key", "unknown-key"],
)
async def test_bad_or_unknown_token_is_http_403(hub: LocalHub, hub_tls: HubTLS, query: str) -> None:
    register(hub)
    with pytest.raises(InvalidStatus) as refused:
        await connect(hub.wss_url + "/" + query, ssl=hub_tls.client_context, open_timeout=5)
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("name", ["authorization", "%61uthorization", "x=1&Authorization"])
async def test_the_token_never_reaches_the_hubs_debug_log(
    hub: LocalHub, hub_tls: HubTLS, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """However the client spells the parameter, websockets' request line is redacted."""
    identity = register(hub)
    token = _token(f"{UA}:{identity.access_key}")
    with caplog.at_level(logging.DEBUG):
        try:
            ws = await connect(
                f"{hub.wss_url}/?{name}={token}", ssl=hub_tls.client_context, open_timeout=5
            )
        except InvalidStatus:
            pass
        else:
            await ws.close()
    hub_lines = [r.getMessage() for r in caplog.records if r.name.startswith("thalovant.hub")]
    assert any("GET /?" in line for line in hub_lines)
    assert not any(token in line or identity.access_key in line for line in hub_lines)


async def test_second_client_key_is_refused_after_xx(hub: LocalHub, clients: Clients) -> None:
    identity = register(hub)
    first = await clients.connect(identity)
    pinned = hub.client("ak-alice").client_key  # type: ignore[union-attr]
    assert pinned is not None
    other = await clients.connect(identity, ready=False)  # new static key, same access key
    assert other.result.pattern == "XXpsk2"
    assert await other.wait_closed() == 1008
    assert hub.client("ak-alice").client_key == pinned  # type: ignore[union-attr]
    assert spoken(await first.ask("hello"))  # the pinned client is unaffected


async def test_kk_needs_a_pinned_client_key(hub: LocalHub, clients: Clients) -> None:
    identity = register(hub)
    first = await clients.connect(identity)
    await first.aclose()
    assert hub.registry.unpin_client_key("ak-alice")
    with pytest.raises(RawClosed) as refused:
        await clients.connect(
            identity, static_private=first.static_private, pinned_hub_key=first.hub_key
        )
    assert refused.value.code == 1008
    # The client's recovery: XX with the same keys, which pins again.
    recovered = await clients.connect(
        identity,
        static_private=first.static_private,
        pinned_hub_key=first.hub_key,
        allow_kk=False,
    )
    assert recovered.result.pattern == "XXpsk2"
    assert spoken(await recovered.ask("hello"))


async def test_rotated_hub_key_is_detected_by_a_pinned_client(
    hub: LocalHub, clients: Clients
) -> None:
    identity = register(hub)
    first = await clients.connect(identity)
    old_key = hub.public_key
    new_key = hub.set_static_key()
    assert new_key != old_key
    assert hub.public_key == new_key
    # KK with the old pin cannot authenticate: refusal.
    with pytest.raises(RawClosed) as refused:
        await clients.connect(identity, static_private=first.static_private, pinned_hub_key=old_key)
    assert refused.value.code == 1008
    # XX reveals the new key, which the pin rejects before message 3.
    with pytest.raises(ThalovantHubKeyChangedError):
        await clients.connect(
            identity,
            static_private=first.static_private,
            pinned_hub_key=old_key,
            allow_kk=False,
        )
    fresh = await clients.connect(identity, static_private=first.static_private)
    assert fresh.hub_key == new_key


async def test_hub_restart_keeps_node_id_key_and_pins(hub_tls: HubTLS, tmp_path: Path) -> None:
    state = tmp_path / "hub"
    async with LocalHub(state, node_id=NODE_ID, ssl_context=hub_tls.server_context) as first:
        port, key = first.wss_port, first.public_key
        opened = Clients(first, hub_tls)
        try:
            client = await opened.connect(register(first))
            static = client.static_private
        finally:
            await opened.aclose()
    # Same folder and port, no node id given: everything comes from disk.
    async with LocalHub(state, wss_port=port, ssl_context=hub_tls.server_context) as second:
        assert (second.node_id, second.public_key, second.wss_port) == (NODE_ID, key, port)
        opened = Clients(second, hub_tls)
        try:
            identity = second.identity_for("ak-alice")
            again = await opened.connect(identity, static_private=static, pinned_hub_key=key)
            assert again.result.pattern == "KKpsk0"
            assert spoken(await again.ask("hello"))
        finally:
            await opened.aclose()


# -- malformed input closes the link ---------------------------------------------------------


async def test_binary_frame_before_the_session_closes_1002(hub: LocalHub, hub_tls: HubTLS) -> None:
    register(hub)
    ws = await open_ws(hub, hub_tls, "ak-alice")
    try:
        await ws.recv()
        await ws.recv()
        await ws.send(b"\x00\x01")
        assert await close_code(ws) == 1002
    finally:
        await ws.close()


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2]",
        json.dumps({"msg_type": "bus", "payload": {}}),
        json.dumps({"msg_type": "shake", "payload": {"noise": {"pattern": "NN", "msg": "00"}}}),
        json.dumps({"msg_type": "shake", "payload": {"noise": {"pattern": "XXpsk2", "msg": "zz"}}}),
    ],
    ids=["not-json", "array", "bus-first", "unknown-pattern", "bad-hex"],
)
async def test_malformed_handshake_frame_closes_1002(
    hub: LocalHub, hub_tls: HubTLS, frame: str
) -> None:
    register(hub)
    ws = await open_ws(hub, hub_tls, "ak-alice")
    try:
        await ws.recv()
        await ws.recv()
        await ws.send(frame)
        assert await close_code(ws) == 1002
    finally:
        await ws.close()


async def test_cleartext_after_the_session_closes_1002(hub: LocalHub, clients: Clients) -> None:
    client = await clients.connect(register(hub))
    await client.ws.send('{"msg_type":"ping","payload":{}}')
    assert await client.wait_closed() == 1002


async def test_undecryptable_transport_frame_closes_1002(hub: LocalHub, clients: Clients) -> None:
    client = await clients.connect(register(hub))
    await client.ws.send(b"\x00" * 40)
    assert await client.wait_closed() == 1002


async def test_first_transport_message_must_be_hello(hub: LocalHub, clients: Clients) -> None:
    client = await clients.connect(register(hub), send_hello=False)
    await client.send(bus_message("recognizer_loop:utterance", {"utterances": ["hi"]}))
    assert await client.wait_closed() == 1002


async def test_handshake_deadline(hub_tls: HubTLS, tmp_path: Path) -> None:
    async with LocalHub(
        tmp_path, node_id=NODE_ID, ssl_context=hub_tls.server_context, handshake_timeout=0.2
    ) as hub:
        register(hub)
        ws = await open_ws(hub, hub_tls, "ak-alice")
        try:
            assert await close_code(ws) == 1002  # HELLO, offer, then silence
        finally:
            await ws.close()


async def test_one_bad_client_does_not_disturb_another(hub: LocalHub, clients: Clients) -> None:
    good = await clients.connect(register(hub))
    bad = await clients.connect(register(hub, "bob"))
    await bad.ws.send(b"garbage")
    assert await bad.wait_closed() == 1002
    assert spoken(await good.ask("hello"))
