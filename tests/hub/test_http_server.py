"""The hub's HTTPS polling carrier over raw HTTP requests: endpoints, auth, cookie, bad input,
tombstones, expiry, sub-applications. Real TLS on loopback; the client side is plain aiohttp
plus ``thalovant.protocol`` (not the SDK carrier)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

from thalovant.carriers.base import authorization_token
from thalovant.hub import LocalHub
from thalovant.hub.servers.http import MAX_BATCH, REPLICA_COOKIE, HTTPServer
from thalovant.identity.model import ThalovantIdentity
from thalovant.protocol.channel import SecureChannel
from thalovant.protocol.envelope import HiveMessage, bus_message, bus_payload
from thalovant.protocol.handshake import ClientHandshake, generate_static_private
from thalovant.protocol.hello import client_hello
from thalovant.protocol.psk import default_psk_deriver
from thalovant.testing import HubTLS

from .conftest import NODE_ID, register

pytestmark = pytest.mark.anyio

UA = "ThalovantPythonSDK/test"


class Raw:
    """Raw HTTP requests to the hub as one client (its own cookie, set by hand)."""

    def __init__(self, session: aiohttp.ClientSession, base: str, access_key: str) -> None:
        self.session = session
        self.base = base
        self.params = {"authorization": authorization_token(UA, access_key)}
        self.cookie: str | None = None
        self.keep_cookie = True

    async def call(
        self, method: str, path: str, *, params: Any = None, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = {"Cookie": f"{REPLICA_COOKIE}={self.cookie}"} if self.cookie else {}
        headers.update(kwargs.pop("headers", {}))
        async with self.session.request(
            method,
            self.base + path,
            params=self.params if params is None else params,
            headers=headers,
            allow_redirects=False,
            **kwargs,
        ) as response:
            morsel = response.cookies.get(REPLICA_COOKIE)
            if morsel is not None and self.keep_cookie:
                self.cookie = morsel.value
            text = await response.text()
            return response.status, json.loads(text) if text.startswith("{") else text

    async def frames(self, count: int) -> list[str]:
        """Poll ``/get_messages`` until ``count`` frames arrived (bounded by the caller)."""
        got: list[str] = []
        while len(got) < count:
            status, body = await self.call("GET", "/get_messages")
            assert status == 200, body
            got += body["messages"]
        return got

    async def binary(self) -> list[bytes]:
        """Poll ``/get_binary_messages`` until something arrives (bounded by the caller)."""
        while True:
            status, body = await self.call("GET", "/get_binary_messages")
            assert status == 200, body
            if body["b64_messages"]:
                return [base64.b64decode(item) for item in body["b64_messages"]]

    async def send(self, frame: str | bytes) -> tuple[int, Any]:
        if isinstance(frame, bytes):
            form = {"message": base64.b64encode(frame).decode(), "binary": "1"}
        else:
            form = {"message": frame}
        return await self.call("POST", "/send_message", data=form)


@pytest.fixture
async def session(hub_tls: HubTLS) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=hub_tls.client_context),
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as opened:
        yield opened


def raw(hub: LocalHub, session: aiohttp.ClientSession, identity: ThalovantIdentity) -> Raw:
    assert hub.https_url is not None
    return Raw(session, hub.https_url, identity.access_key)


async def handshake(client: Raw, identity: ThalovantIdentity) -> SecureChannel:
    """``/connect``, XXpsk2 over the cleartext endpoints, then the encrypted HELLO."""
    assert (await client.call("POST", "/connect")) == (
        200,
        {"status": "Connected", "thalovant_batch": 64},
    )
    shake = ClientHandshake(generate_static_private())
    pending = await client.frames(2)
    while not shake.complete:
        if not pending:
            pending = await client.frames(1)
        for out in shake.receive(pending.pop(0)):
            assert (await client.send(out))[0] == 200
        if shake.needs_psk:
            assert shake.node_id is not None
            psk = default_psk_deriver.get(identity.access_key, identity.password, shake.node_id)
            for out in shake.provide_psk(psk):
                assert (await client.send(out))[0] == 200
    result = shake.result
    channel = SecureChannel(result.send_cipher, result.recv_cipher)
    for frame in channel.encrypt_message(client_hello("raw-http-session", identity.site_id)):
        assert (await client.send(frame))[0] == 200
    return channel


async def ask(client: Raw, channel: SecureChannel, text: str) -> list[HiveMessage]:
    """Send an utterance, collect messages until ``ovos.utterance.handled``."""
    message = bus_message("recognizer_loop:utterance", {"utterances": [text], "lang": "en-us"})
    for frame in channel.encrypt_message(message):
        assert (await client.send(frame))[0] == 200
    got: list[HiveMessage] = []
    while not any(bus_payload(m).type == "ovos.utterance.handled" for m in got):
        for frame in await client.binary():
            decrypted = channel.decrypt(frame)
            if isinstance(decrypted, HiveMessage):
                got.append(decrypted)
    return got


# -- endpoints and auth -------------------------------------------------------------------


async def test_full_exchange_over_raw_http(hub: LocalHub, session: aiohttp.ClientSession) -> None:
    identity = register(hub)
    client = raw(hub, session, identity)
    with anyio.fail_after(10):
        channel = await handshake(client, identity)
        await hub.wait_for_session("raw-http-session")
        replies = await ask(client, channel, "hello")
    speak = [bus_payload(m).data["utterance"] for m in replies if bus_payload(m).type == "speak"]
    assert speak == ["Hello! I am your local Thalovant hub."]
    assert hub.connections == 1
    status, body = await client.call("POST", "/disconnect")
    assert (status, body) == (200, {"status": "Disconnected"})
    with anyio.fail_after(5):
        await hub.wait_for_connections(0)
    assert await client.call("POST", "/disconnect") == (200, {"error": "Already Disconnected"})
    assert (await client.call("GET", "/get_messages"))[0] == 410


async def test_one_post_may_carry_a_batch_of_messages_in_order(
    hub: LocalHub, session: aiohttp.ClientSession
) -> None:
    identity = register(hub)
    client = raw(hub, session, identity)
    with anyio.fail_after(10):
        channel = await handshake(client, identity)
        await hub.wait_for_session("raw-http-session")
        texts = ["hello", "what time is it", "hello"]
        frames = [
            frame
            for text in texts
            for frame in channel.encrypt_message(
                bus_message("recognizer_loop:utterance", {"utterances": [text], "lang": "en-us"})
            )
        ]
        form = [("message", base64.b64encode(frame).decode()) for frame in frames]
        status, _ = await client.call(
            "POST", "/send_message", data=aiohttp.FormData([*form, ("binary", "1")])
        )
        assert status == 200
        handled = 0
        while handled < len(texts):  # every frame decrypts: the hub took them in order
            for frame in await client.binary():
                decrypted = channel.decrypt(frame)
                if isinstance(decrypted, HiveMessage):
                    handled += bus_payload(decrypted).type == "ovos.utterance.handled"
        too_many = [("message", "x")] * 65
        status, body = await client.call("POST", "/send_message", data=too_many)
    assert (status, body["error"]) == (400, "more than 64 messages in one request")


async def test_connect_sets_a_private_replica_cookie(
    hub: LocalHub, session: aiohttp.ClientSession
) -> None:
    client = raw(hub, session, register(hub))
    async with session.post(client.base + "/connect", params=client.params) as response:
        assert response.status == 200
        morsel = response.cookies[REPLICA_COOKIE]
    assert len(morsel.value) >= 16
    assert morsel["httponly"]
    assert morsel["secure"]
    assert morsel["samesite"] == "Strict"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/connect"),
        ("POST", "/disconnect"),
        ("POST", "/send_message"),
        ("GET", "/get_messages"),
        ("GET", "/get_binary_messages"),
    ],
)
async def test_every_endpoint_needs_a_known_key(
    hub: LocalHub, session: aiohttp.ClientSession, method: str, path: str
) -> None:
    client = raw(hub, session, register(hub))
    bad_tokens: list[dict[str, str]] = [
        {},
        {"authorization": "not base64!"},
        {"authorization": base64.b64encode(b"no-colon").decode()},
        {"authorization": authorization_token(UA, "unknown-key")},
    ]
    for params in bad_tokens:
        status, body = await client.call(method, path, params=params)
        assert status == 403, (params, body)
        assert body == {"error": "Invalid authorization"}
    assert hub.http_server is not None
    assert hub.http_server.open_connections == 0


async def test_cookie_separates_connections_of_one_key(
    hub: LocalHub, session: aiohttp.ClientSession
) -> None:
    identity = register(hub)
    first, second = raw(hub, session, identity), raw(hub, session, identity)
    server = hub.http_server
    assert server is not None
    with anyio.fail_after(5):
        await first.call("POST", "/connect")
        await second.call("POST", "/connect")
        assert first.cookie
        assert second.cookie
        assert first.cookie != second.cookie
        assert server.open_connections == 2
        # each has its own mailbox: both get their own HELLO and offer
        assert len(await first.frames(2)) == 2
        assert len(await second.frames(2)) == 2
        # reconnecting with the same cookie replaces that connection only
        again = first.cookie
        await first.call("POST", "/connect")
        assert first.cookie == again
        assert server.open_connections == 2
        assert len(await first.frames(2)) == 2
        # both were polled with their cookie: a request without one reaches neither
        anonymous = raw(hub, session, identity)
        assert (await anonymous.call("GET", "/get_messages"))[0] == 410


async def test_a_new_cookie_value_is_issued_for_a_bad_one(
    hub: LocalHub, session: aiohttp.ClientSession
) -> None:
    client = raw(hub, session, register(hub))
    client.cookie = "x;y"
    await client.call("POST", "/connect")
    assert client.cookie != "x;y"
    assert client.cookie is not None
    assert len(client.cookie) >= 16


# -- bad input ----------------------------------------------------------------------------


async def test_send_message_bad_input(hub: LocalHub, session: aiohttp.ClientSession) -> None:
    client = raw(hub, session, register(hub))
    assert (await client.call("POST", "/send_message", data={"message": "{}"}))[0] == 410
    await client.call("POST", "/connect")
    status, body = await client.call("POST", "/send_message", data={})
    assert (status, body) == (400, {"error": "Missing message"})
    status, body = await client.call(
        "POST", "/send_message", data={"message": "%%%", "binary": "1"}
    )
    assert (status, body) == (400, {"error": "binary message is not base64"})
    big = "x" * (300 * 1024)
    assert (await client.call("POST", "/send_message", data={"message": big}))[0] == 413
    # a malformed handshake frame ends the session (1002): the next request is a drop
    with anyio.fail_after(5):
        await client.frames(2)
        assert (await client.send("this is not JSON"))[0] == 200
        status, body = await client.call("GET", "/get_messages")
    assert status == 410
    assert body["code"] == 1002


async def test_a_refusal_answers_403_on_the_next_request(
    hub: LocalHub, session: aiohttp.ClientSession
) -> None:
    identity = register(hub)
    client = raw(hub, session, identity)
    with anyio.fail_after(10):
        await handshake(client, identity)
        await hub.wait_for_session("raw-http-session")
        # another program (another static key) takes the same identity: refused after XX
        intruder = raw(hub, session, identity)
        with pytest.raises(AssertionError):
            await handshake(intruder, identity)
        status, body = await intruder.call("GET", "/get_binary_messages")
    assert status == 403
    assert body["code"] == 1008


async def test_drop_connections_is_a_410_with_the_code(
    hub: LocalHub, session: aiohttp.ClientSession
) -> None:
    identity = register(hub)
    client = raw(hub, session, identity)
    with anyio.fail_after(10):
        await handshake(client, identity)
        await hub.wait_for_session("raw-http-session")
        await hub.drop_connections(1011, "test drop")
        await hub.wait_for_connections(0)
    status, body = await client.call("GET", "/get_binary_messages")
    assert (status, body["code"]) == (410, 1011)
    assert "test drop" in body["error"]


async def test_unpolled_replies_are_bounded_per_poll(
    hub: LocalHub, session: aiohttp.ClientSession
) -> None:
    identity = register(hub)
    client = raw(hub, session, identity)
    with anyio.fail_after(10):
        channel = await handshake(client, identity)
        await hub.wait_for_session("raw-http-session")
        sessions = hub.sessions
        for n in range(MAX_BATCH + 10):
            await sessions[0].send_message(bus_message("thalovant.test", {"n": n}))
        first = await client.binary()
        second = await client.binary()
    assert len(first) == MAX_BATCH
    assert len(second) == 10
    decoded = [channel.decrypt(frame) for frame in first + second]
    assert [bus_payload(m).data["n"] for m in decoded if isinstance(m, HiveMessage)] == list(
        range(MAX_BATCH + 10)
    )


# -- expiry, lifecycle, sub-applications --------------------------------------------------


async def test_abandoned_connection_expires(hub: LocalHub, session: aiohttp.ClientSession) -> None:
    identity = register(hub)
    server = hub.http_server
    assert server is not None
    server.idle_timeout = 0.3
    client = raw(hub, session, identity)
    with anyio.fail_after(10):
        await handshake(client, identity)
        await hub.wait_for_session("raw-http-session")
        await hub.wait_for_connections(0)  # nobody polls: the reaper ends it
    assert server.open_connections == 0
    assert (await client.call("GET", "/get_binary_messages"))[0] == 410  # forgotten


async def test_https_port_none_means_no_http_server(tmp_path: Path) -> None:
    async with LocalHub(tmp_path, node_id=NODE_ID, https_port=None) as hub:
        assert hub.https_url is None
        assert hub.https_port is None
        assert hub.http_server is None
        identity = register(hub)
        assert identity.data_plane_endpoints.https is None
        assert not identity.protocols.http


async def test_plain_http_without_ssl(tmp_path: Path) -> None:
    async with (
        LocalHub(tmp_path, node_id=NODE_ID) as hub,
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as plain,
    ):
        assert hub.https_url == f"http://127.0.0.1:{hub.https_port}"
        identity = register(hub)
        client = raw(hub, plain, identity)
        with anyio.fail_after(10):
            channel = await handshake(client, identity)
            assert await ask(client, channel, "hello")


async def test_sub_application_is_served_beside_the_carrier(
    hub_tls: HubTLS, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async def ping(request: web.Request) -> web.Response:
        return web.json_response({"pong": True})

    extra = web.Application()
    extra.router.add_get("/ping", ping)
    hub = LocalHub(tmp_path, node_id=NODE_ID, ssl_context=hub_tls.server_context)
    assert hub.http_server is not None
    later = web.Application()
    later.router.add_get("/ping", ping)
    hub.http_server.app.add_subapp("/v1", later)  # what the control plane does
    async with hub, session.get(f"{hub.https_url}/v1/ping") as response:
        assert (response.status, await response.json()) == (200, {"pong": True})
    server = HTTPServer(hub.services, lookup=hub.registry.get, extra_apps={"/v2": extra})
    await server.start()
    try:
        async with aiohttp.ClientSession() as plain, plain.get(f"{server.url}/v2/ping") as got:
            assert got.status == 200
    finally:
        await server.aclose()
        await server.aclose()  # idempotent


async def test_kill_forgets_everything_and_stops_listening(
    hub_tls: HubTLS, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with LocalHub(tmp_path, node_id=NODE_ID, ssl_context=hub_tls.server_context) as hub:
        identity = register(hub)
        client = raw(hub, session, identity)
        with anyio.fail_after(10):
            await handshake(client, identity)
            await hub.wait_for_session("raw-http-session")
            hub.kill()
            await hub.wait_for_connections(0)
            with pytest.raises(aiohttp.ClientConnectionError):
                await client.call("GET", "/get_binary_messages")
