"""Chaos (issue #11): hostile frames and bodies on every data-plane listener of the local hub.

Each case opens a fresh connection (WSS, HTTPS polling, MQTT through the embedded broker),
sends one hostile input at some point of the protocol (before the handshake, in it, after it),
then carries on as a legit client would: finish the handshake, ask something. The hub must
either refuse the input with an answer (an HTTP 4xx) or a close (a WebSocket close, an HTTP
tombstone, an MQTT close notice), or tolerate it and go on answering. A case is a **crash**
when the hub answers 5xx or logs at ERROR, **unanswered** when the connection neither closes
nor answers within the deadline. After every batch a legit SDK client must still be served.

The inputs are generated (seeded): non-JSON and oversized cleartext frames, JSON nested at and
around every depth limit (``MAX_DEPTH`` and the interpreter's ~1000), garbage and tampered Noise
messages, encrypted bodies that are not envelopes, WIRE-1 frames with hostile sections, hostile
form bodies and charsets, wrong and missing replica cookies.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import random
import string
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import anyio
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from tests.chaos.conftest import scaled
from thalovant.carriers.base import authorization_token, authorized_url
from thalovant.carriers.mqtt import decode_payload, parse_close_notice
from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import ThalovantProtocolError
from thalovant.hub import LocalHub
from thalovant.hub.servers.http import REPLICA_COOKIE
from thalovant.identity.model import ThalovantIdentity
from thalovant.link.supervisor import Backoff
from thalovant.protocol.binary import encode_binary_frame
from thalovant.protocol.channel import SecureChannel
from thalovant.protocol.envelope import MAX_DEPTH, bus_payload
from thalovant.protocol.handshake import ClientHandshake, generate_static_private
from thalovant.protocol.hello import client_hello
from thalovant.protocol.psk import default_psk_deriver
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio

UA = "ThalovantPythonSDK/chaos"
NODE_ID = "thalovant-chaos-hub"
CASE_SECONDS = 10.0  # generous: 2 cores shared with other test runs


class Closed(Exception):
    """The hub ended the connection (close frame, tombstone, close notice)."""


class Crash(Exception):
    """The hub answered 5xx."""


class Breach(Exception):
    """The hub took what it must refuse (or refused what it must take): a request above the
    depth limit answered, one at the limit refused, a key-only request reaching a connection."""


# -- JSON generators ----------------------------------------------------------------------


def nested_text(levels: int, leaf: str = '"x"') -> str:
    """JSON text of ``levels`` containers (arrays and objects mixed) around ``leaf``."""
    opens, closes = [], []
    for n in range(levels):
        if n % 2:
            opens.append('{"k":')
            closes.append("}")
        else:
            opens.append("[")
            closes.append("]")
    return "".join(opens) + leaf + "".join(reversed(closes))


#: Depths probed: around our limit and around the interpreter's recursion limit (a few of
#: them in the default run).
DEPTHS = (
    (MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 900, 1000, 5000)
    if scaled(0, 1)
    else (MAX_DEPTH, MAX_DEPTH + 1, 900)
)


def envelope_text(where: str, levels: int, request_id: str, site_id: str) -> tuple[str, bool]:
    """An utterance envelope with a value nested so the whole document is ``levels`` deep
    (``where`` = context, data, metadata or route); and whether the hub must accept it."""
    context = {"request_id": request_id, "session": {"site_id": site_id}}
    envelope: dict[str, Any] = {
        "msg_type": "bus",
        "payload": {
            "type": "recognizer_loop:utterance",
            "data": {"utterances": ["hello"], "lang": "en-us"},
            "context": context,
        },
        "metadata": {},
        "route": [],
    }
    if where in ("context", "data"):
        envelope["payload"][where]["deep"] = "@@"
        inner = levels - 3  # envelope 1, payload 2, context/data 3
    elif where == "metadata":
        envelope["metadata"]["deep"] = "@@"
        inner = levels - 2
    else:
        envelope["route"] = ["@@"]
        inner = levels - 2
    text = json.dumps(envelope).replace('"@@"', nested_text(inner))
    return text, levels <= MAX_DEPTH


def garbage_text(rng: random.Random) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return "".join(rng.choices(string.printable, k=rng.randint(1, 200)))
    if kind == 1:
        return '{"msg_type": "shake", "payload": {"noise": {"msg": "' + "zz" * 10 + '"}}'
    if kind == 2:
        return rng.choice(["[]", '"x"', "1e999999", "null", "{", "}", "", " ", "\u2028"])
    if kind == 3:
        return "1" * rng.randint(4000, 6000)  # beyond Python's int digit limit
    if kind == 4:
        return json.dumps({"msg_type": "shake", "payload": {"noise": {"msg": "ab" * 70000}}})
    if kind == 5:
        return json.dumps({"msg_type": rng.choice(["shake", "hello", "bus", "x"]), "payload": 7})
    if kind == 6:  # oversized: near and beyond every carrier's frame limit
        return json.dumps({"msg_type": "shake", "pad": "p" * rng.choice([200_000, 300_000])})
    return json.dumps({"msg_type": "shake", "payload": {"noise": {"msg": nested_text(3)}}})


# -- peers: one raw connection over each carrier --------------------------------------------


class Peer:
    """A raw connection: ``send`` a frame, ``recv`` the next one, :class:`Closed` at the end."""

    async def send(self, frame: str | bytes) -> None:
        raise NotImplementedError

    async def recv(self) -> str | bytes:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


class WssPeer(Peer):
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, hub: LocalHub, identity: ThalovantIdentity, tls: HubTLS) -> WssPeer:
        url = authorized_url(hub.wss_url, authorization_token(UA, identity.access_key))
        ws = await ws_connect(url, ssl=tls.client_context, compression=None, max_size=None)
        return cls(ws)

    async def send(self, frame: str | bytes) -> None:
        try:
            await self.ws.send(frame)
        except ConnectionClosed:
            raise Closed from None

    async def recv(self) -> str | bytes:
        try:
            frame: str | bytes = await self.ws.recv()
        except ConnectionClosed:
            raise Closed from None
        return frame

    async def aclose(self) -> None:
        await self.ws.close()


class HttpPeer(Peer):
    def __init__(self, session: aiohttp.ClientSession, base: str, access_key: str) -> None:
        self.session = session
        self.base = base
        self.params = {"authorization": authorization_token(UA, access_key)}
        self.cookie: str | None = None
        self.pending: list[str | bytes] = []
        self.statuses: list[int] = []

    @classmethod
    async def open(cls, hub: LocalHub, identity: ThalovantIdentity, session: Any) -> HttpPeer:
        assert hub.https_url is not None
        peer = cls(session, hub.https_url, identity.access_key)
        status, _ = await peer.call("POST", "/connect")
        assert status == 200
        return peer

    async def call(
        self, method: str, path: str, *, cookie: str | None = "", **kwargs: Any
    ) -> tuple[int, Any]:
        headers = dict(kwargs.pop("headers", {}))
        use = self.cookie if cookie == "" else cookie
        if use:
            headers["Cookie"] = f"{REPLICA_COOKIE}={use}"
        async with self.session.request(
            method, self.base + path, params=self.params, headers=headers, **kwargs
        ) as response:
            morsel = response.cookies.get(REPLICA_COOKIE)
            if morsel is not None and cookie == "":
                self.cookie = morsel.value
            text = await response.text()
            self.statuses.append(response.status)
            if response.status >= 500:
                raise Crash(f"{method} {path}: {response.status} {text[:200]}")
            try:
                body = json.loads(text)
            except ValueError:
                body = text
            return response.status, body

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            form = {"message": base64.b64encode(frame).decode(), "binary": "1"}
        else:
            form = {"message": frame}
        status, body = await self.call("POST", "/send_message", data=form)
        if status in (403, 410):
            raise Closed
        if status != 200:
            raise Refused(status, body)

    async def recv(self) -> str | bytes:
        while not self.pending:
            for path, key in (("/get_messages", "messages"), ("/get_binary_messages", "")):
                status, body = await self.call("GET", path)
                if status in (403, 410):
                    raise Closed
                assert status == 200, (status, body)
                if key:
                    self.pending += body["messages"]
                else:
                    self.pending += [base64.b64decode(b) for b in body["b64_messages"]]
            if not self.pending:
                await anyio.sleep(0.005)  # a polling client's pace, as the carrier's
        return self.pending.pop(0)

    async def aclose(self) -> None:
        if self.cookie:
            await self.call("POST", "/disconnect")


class Refused(Exception):
    """An HTTP 4xx answer to a post: the hub refused the input with an answer."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status


class MqttPeer(Peer):
    def __init__(self, client: aiomqtt.Client, identity: ThalovantIdentity) -> None:
        self.client = client
        topics = identity.mqtt_topics()
        self.inbound, self.outbound = topics.inbound, topics.outbound

    @classmethod
    async def open(
        cls, identity: ThalovantIdentity, tls: HubTLS, hello: str | None = None
    ) -> MqttPeer:
        creds = identity.mqtt
        assert creds is not None
        port = int(creds.endpoint.rsplit(":", 1)[1])
        client = aiomqtt.Client(
            "127.0.0.1",
            port,
            username=creds.username,
            password=creds.password,
            tls_context=tls.client_context,
            identifier=f"chaos-{uuid.uuid4().hex[:12]}",
        )
        await client.__aenter__()
        peer = cls(client, identity)
        await client.subscribe(peer.outbound, qos=1)
        if hello is None:
            hello = json.dumps(
                {
                    "msg_type": "hello",
                    "payload": {
                        "pubkey": "",
                        "session": {"session_id": f"chaos-{uuid.uuid4().hex}"},
                        "site_id": identity.site_id,
                    },
                    "metadata": {},
                    "route": [],
                }
            )
        await peer.send(hello)
        return peer

    async def send(self, frame: str | bytes) -> None:
        payload = frame.encode("utf-8") if isinstance(frame, str) else frame
        await self.client.publish(self.inbound, payload, qos=1)

    async def recv(self) -> str | bytes:
        async for message in self.client.messages:
            payload = message.payload
            assert isinstance(payload, (bytes, bytearray))
            frame = decode_payload(payload)
            if isinstance(frame, str) and parse_close_notice(frame) is not None:
                raise Closed
            return frame
        raise Closed

    async def aclose(self) -> None:
        await self.client.__aexit__(None, None, None)


# -- the legit protocol, with a hook for one hostile step -----------------------------------


@dataclass
class Tally:
    sent: int = 0
    crashes: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    breaches: list[str] = field(default_factory=list)
    refused: int = 0  # closed or 4xx
    tolerated: int = 0  # answered afterwards

    def figure(self) -> str:
        return (
            f"{self.sent} inputs sent / {len(self.crashes)} crashes / "
            f"{len(self.unanswered)} unanswered / {len(self.breaches)} limit or cookie "
            f"breaches ({self.refused} refused, {self.tolerated} tolerated and answered)"
        )


Hostile = Callable[[Peer, "Conversation"], Awaitable[None]]


class Conversation:
    """Drives one connection through handshake, HELLO and an ask."""

    def __init__(self, peer: Peer, identity: ThalovantIdentity, static: bytes) -> None:
        self.peer = peer
        self.identity = identity
        self.shake = ClientHandshake(static)
        self.channel: SecureChannel | None = None
        self.held: list[str | bytes] = []

    async def next_frame(self) -> str | bytes:
        return self.held.pop(0) if self.held else await self.peer.recv()

    async def handshake(self, tamper_message3: bool = False) -> None:
        shake = self.shake
        while not shake.complete:
            out = shake.receive(await self.next_frame())
            if shake.needs_psk:
                assert shake.node_id is not None
                psk = default_psk_deriver.get(
                    self.identity.access_key, self.identity.password, shake.node_id
                )
                out = shake.provide_psk(psk)
                if tamper_message3:
                    out = [_tamper_hex_frame(frame) for frame in out]
            for frame in out:
                await self.peer.send(frame)
        result = shake.result
        self.channel = SecureChannel(result.send_cipher, result.recv_cipher)
        for frame in self.channel.encrypt_message(client_hello("chaos", self.identity.site_id)):
            await self.peer.send(frame)

    async def send_body(self, body: bytes, *, binary: bool = False) -> None:
        assert self.channel is not None
        for frame in self.channel._encrypt(body, binary=binary):
            await self.peer.send(frame)

    async def ask(self) -> None:
        """An utterance; returns once its ``ovos.utterance.handled`` came back."""
        rid = f"chaos-{uuid.uuid4().hex}"
        text, _ = envelope_text("context", 4, rid, self.identity.site_id)
        await self.send_body(text.encode())
        await self.wait_handled(rid)

    async def wait_handled(self, rid: str) -> None:
        assert self.channel is not None
        while True:
            frame = await self.next_frame()
            if isinstance(frame, str):
                raise Crash(f"cleartext after the handshake: {frame[:80]}")
            message = self.channel.decrypt(frame)
            if message is None or getattr(message, "msg_type", "") != "bus":
                continue
            bus = bus_payload(message)  # type: ignore[arg-type]
            if bus.context.get("request_id") == rid and bus.type == "ovos.utterance.handled":
                return


def _tamper_hex_frame(frame: str) -> str:
    message = json.loads(frame)
    noise = message["payload"]["noise"]
    raw = bytearray(bytes.fromhex(noise["msg"]))
    raw[len(raw) // 2] ^= 0x40
    noise["msg"] = raw.hex()
    return json.dumps(message)


async def run_case(
    name: str,
    tally: Tally,
    opener: Callable[[], Awaitable[Peer]],
    identity: ThalovantIdentity,
    static: bytes,
    hostile: Hostile,
) -> None:
    """One connection, one hostile step, then the legit remainder; classify the outcome."""
    tally.sent += 1
    peer: Peer | None = None
    try:
        with anyio.fail_after(CASE_SECONDS):
            peer = await opener()
            talk = Conversation(peer, identity, static)
            await hostile(peer, talk)
            if talk.channel is None:
                await talk.handshake()
            await talk.ask()
        tally.tolerated += 1
    except (Closed, Refused):
        tally.refused += 1
    except ThalovantProtocolError as exc:
        if "second cleartext HELLO" not in str(exc):
            raise
        tally.refused += 1  # MQTT: the hostile frame was a HELLO, which opens a new session
    except Crash as exc:
        tally.crashes.append(f"{name}: {exc}")
    except (Breach, AssertionError) as exc:
        tally.breaches.append(f"{name}: {exc}")
    except TimeoutError:
        tally.unanswered.append(name)
    finally:
        if peer is not None:
            with anyio.move_on_after(3, shield=True), contextlib.suppress(Exception):
                await peer.aclose()  # the hub may have closed it already


# -- hostile steps ----------------------------------------------------------------------------


def cleartext_step(frame: str | bytes) -> Hostile:
    async def step(peer: Peer, talk: Conversation) -> None:
        talk.held.append(await peer.recv())  # the hub's HELLO (and then its offer)
        await peer.send(frame)

    return step


def tampered_message3() -> Hostile:
    async def step(peer: Peer, talk: Conversation) -> None:
        await talk.handshake(tamper_message3=True)

    return step


def after_handshake(make: Callable[[Conversation], Awaitable[None]]) -> Hostile:
    async def step(peer: Peer, talk: Conversation) -> None:
        await talk.handshake()
        await make(talk)

    return step


async def within_limit(levels: int, answered: Awaitable[None]) -> None:
    """Await ``answered``: at or below :data:`MAX_DEPTH` it must come, above it the hub must
    close instead."""
    try:
        await answered
    except Closed:
        if levels <= MAX_DEPTH:
            raise Breach(f"refused at {levels} levels") from None
        raise
    if levels > MAX_DEPTH:
        raise Breach(f"answered at {levels} levels")


def deep_envelope(where: str, levels: int) -> Hostile:
    async def send(talk: Conversation) -> None:
        rid = f"chaos-deep-{uuid.uuid4().hex}"
        text, _ = envelope_text(where, levels, rid, talk.identity.site_id)
        await talk.send_body(text.encode())
        await within_limit(levels, talk.wait_handled(rid))  # this very request

    return after_handshake(send)


def deep_binary(levels: int) -> Hostile:
    async def send(talk: Conversation) -> None:
        empty = encode_binary_frame("bus", payload={})  # the JSON payload is the tail
        section = '{"k":' + nested_text(levels - 1) + "}"
        await talk.send_body(empty[:-2] + section.encode(), binary=True)
        await within_limit(levels, talk.ask())  # ignored (no hook) or closed

    return after_handshake(send)


def encrypted_garbage(body: bytes, binary: bool) -> Hostile:
    async def send(talk: Conversation) -> None:
        await talk.send_body(body, binary=binary)

    return after_handshake(send)


def raw_after_handshake(frame: str | bytes) -> Hostile:
    async def send(talk: Conversation) -> None:
        await talk.peer.send(frame)

    return after_handshake(send)


def tampered_transport() -> Hostile:
    async def send(talk: Conversation) -> None:
        assert talk.channel is not None
        text, _ = envelope_text("context", 4, "tampered", talk.identity.site_id)
        frames = talk.channel._encrypt(text.encode(), binary=False)
        broken = bytearray(frames[0])
        broken[len(broken) // 2] ^= 0x01
        await talk.peer.send(bytes(broken))

    return after_handshake(send)


def common_cases(rng: random.Random, count: int) -> list[tuple[str, Hostile]]:
    """Hostile steps every carrier takes (fixed ones first, then ``count`` generated)."""
    cases: list[tuple[str, Hostile]] = []
    for levels in DEPTHS:
        for where in ("context", "data", "metadata", "route"):
            cases.append((f"envelope {where} {levels} deep", deep_envelope(where, levels)))
        cases.append((f"cleartext frame {levels} deep", cleartext_step(nested_text(levels))))
        cases.append((f"binary frame section {levels} deep", deep_binary(levels)))
    cases.append(("tampered Noise message 3", tampered_message3()))
    cases.append(("tampered transport message", tampered_transport()))
    cases.append(("cleartext after the handshake", raw_after_handshake('{"msg_type":"bus"}')))
    for n in range(count):
        roll = rng.randrange(5)
        if roll == 0:
            cases.append((f"garbage cleartext #{n}", cleartext_step(garbage_text(rng))))
        elif roll == 1:
            noise = rng.randbytes(rng.choice([1, 16, 48, 200, 4000]))
            cases.append((f"garbage bytes before the handshake #{n}", cleartext_step(noise)))
        elif roll == 2:
            noise = rng.randbytes(rng.choice([1, 16, 17, 64, 1000]))
            cases.append((f"garbage Noise message #{n}", raw_after_handshake(noise)))
        elif roll == 3:
            body = garbage_text(rng).encode()[:60000]
            cases.append((f"encrypted non-envelope #{n}", encrypted_garbage(body, False)))
        else:
            body = rng.randbytes(rng.randint(1, 300))
            cases.append((f"encrypted garbage WIRE-1 #{n}", encrypted_garbage(body, True)))
    return cases


# -- the tests --------------------------------------------------------------------------------


@pytest.fixture
async def chaos_hub(hub_tls: HubTLS, tmp_path: Path) -> Any:
    async with LocalHub(
        tmp_path / "hub", node_id=NODE_ID, ssl_context=hub_tls.server_context
    ) as hub:
        yield hub


def hub_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ERROR records, and the hub dropping its broker link (every MQTT client's session)."""
    return [
        f"{r.name}: {r.getMessage()[:200]}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or "lost the MQTT broker" in r.getMessage()
    ]


async def assert_still_serving(
    hub: LocalHub, hub_tls: HubTLS, tmp_path: Path, protocol: str
) -> None:
    identity = hub.register_client(
        f"legit-{protocol}", access_key=f"ak-legit-{protocol}", password="pw-legit-chaos"
    )
    client = AsyncThalovantClient(
        identity,
        protocol=protocol,
        ssl_context=hub_tls.client_context,
        noise_state_dir=tmp_path / f"noise-{protocol}",
    )
    client.reconnect_backoff = Backoff(initial=0.02, floor=0.01)
    with anyio.fail_after(30):
        async with client:
            assert "Hello" in (await client.ask("hello", timeout=20)).text


async def run_carrier(
    protocol: str,
    hub: LocalHub,
    hub_tls: HubTLS,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    opener_for: Callable[[ThalovantIdentity], Callable[[], Awaitable[Peer]]],
    extra: list[tuple[str, Hostile]],
    seed: int,
) -> Tally:
    caplog.set_level(logging.INFO)
    identity = hub.register_client(
        f"chaos-{protocol}", access_key=f"ak-chaos-{protocol}", password="pw-chaos-hostile"
    )
    static = generate_static_private()  # one program: the hub pins this key on first XX
    rng = random.Random(seed)
    tally = Tally()
    cases = common_cases(rng, scaled(8, 200)) + extra
    for name, hostile in cases:
        await run_case(name, tally, opener_for(identity), identity, static, hostile)
    await assert_still_serving(hub, hub_tls, tmp_path, protocol)
    tally.crashes += hub_errors(caplog)
    caplog.clear()
    return tally


async def test_hostile_frames_over_wss(
    chaos_hub: LocalHub,
    hub_tls: HubTLS,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    chaos_figure: Callable[[str], None],
) -> None:
    def opener_for(identity: ThalovantIdentity) -> Callable[[], Awaitable[Peer]]:
        return lambda: WssPeer.open(chaos_hub, identity, hub_tls)

    tally = await run_carrier("wss", chaos_hub, hub_tls, tmp_path, caplog, opener_for, [], seed=11)
    chaos_figure(tally.figure())
    assert not tally.crashes, tally.crashes
    assert not tally.unanswered, tally.unanswered
    assert not tally.breaches, tally.breaches


async def test_hostile_frames_and_bodies_over_https(
    chaos_hub: LocalHub,
    hub_tls: HubTLS,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    chaos_figure: Callable[[str], None],
) -> None:
    from tests.hub.test_http_hostile import HOSTILE_FORMS

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=hub_tls.client_context),
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as session:

        def opener_for(identity: ThalovantIdentity) -> Callable[[], Awaitable[Peer]]:
            return lambda: HttpPeer.open(chaos_hub, identity, session)

        rng = random.Random(23)
        extra: list[tuple[str, Hostile]] = []
        for content_type, body in HOSTILE_FORMS + generated_forms(rng, scaled(8, 200)):
            extra.append((f"form {content_type} {body[:24]!r}", form_step(content_type, body)))
        for cookie in wrong_cookies(rng):
            extra.append((f"cookie {cookie!r}", cookie_step(cookie)))
        tally = await run_carrier(
            "https", chaos_hub, hub_tls, tmp_path, caplog, opener_for, extra, seed=17
        )
    chaos_figure(tally.figure())
    assert not tally.crashes, tally.crashes
    assert not tally.unanswered, tally.unanswered
    assert not tally.breaches, tally.breaches


async def test_hostile_frames_over_mqtt(
    chaos_hub: LocalHub,
    hub_tls: HubTLS,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    chaos_figure: Callable[[str], None],
) -> None:
    def opener_for(identity: ThalovantIdentity) -> Callable[[], Awaitable[Peer]]:
        return lambda: MqttPeer.open(identity, hub_tls)

    identity = chaos_hub.register_client(
        "chaos-mqtt-hello", access_key="ak-chaos-mqtt-hello", password="pw-chaos-hostile"
    )
    hello_static = generate_static_private()
    tally = await run_carrier("mqtt", chaos_hub, hub_tls, tmp_path, caplog, opener_for, [], seed=29)
    # The opening frame itself: a cleartext HELLO nested at and around the limits, or not JSON.
    rng = random.Random(31)
    hellos: list[tuple[int | None, str]] = [
        (
            levels,
            json.dumps({"msg_type": "hello", "payload": {"x": "@@"}}).replace(
                '"@@"', nested_text(levels - 2)
            ),
        )
        for levels in sorted({*DEPTHS, 5000})
    ] + [(None, garbage_text(rng)) for _ in range(scaled(3, 50))]
    for n, (levels, hello) in enumerate(hellos):
        await run_case(
            f"cleartext HELLO #{n} ({levels} deep)",
            tally,
            lambda hello=hello: MqttPeer.open(identity, hub_tls, hello=hello),
            identity,
            hello_static,
            hello_at(levels),
        )
    tally.crashes += hub_errors(caplog)
    chaos_figure(tally.figure())
    assert not tally.crashes, tally.crashes
    assert not tally.unanswered, tally.unanswered
    assert not tally.breaches, tally.breaches


# -- carrier-specific steps -------------------------------------------------------------------


def generated_forms(rng: random.Random, count: int) -> list[tuple[str, bytes]]:
    charsets = ["utf-8", "latin-1", "utf-16", "x-nope", "", "utf-8; q=1", "UTF8", "ascii"]
    out: list[tuple[str, bytes]] = []
    for _ in range(count):
        roll = rng.randrange(4)
        charset = rng.choice(charsets)
        suffix = f"; charset={charset}" if charset else ""
        if roll == 0:
            body = b"message=" + rng.randbytes(rng.randint(1, 40))
            out.append(("application/x-www-form-urlencoded" + suffix, body))
        elif roll == 1:
            escapes = "".join(f"%{rng.randrange(256):02x}" for _ in range(rng.randint(1, 20)))
            out.append(
                ("application/x-www-form-urlencoded" + suffix, f"message={escapes}".encode())
            )
        elif roll == 2:
            boundary = rng.choice(["zz", "", "a" * 80, "-", '"q"'])
            parts = [
                f"--{boundary}\r\n".encode(),
                b'Content-Disposition: form-data; name="message"\r\n',
                rng.choice([b"", b"Content-Type: text/plain" + suffix.encode() + b"\r\n"]),
                b"\r\n",
                rng.randbytes(rng.randint(0, 30)),
                rng.choice([f"\r\n--{boundary}--\r\n".encode(), b"", b"\r\n--"]),
            ]
            ctype = "multipart/form-data" + (f"; boundary={boundary}" if rng.random() < 0.8 else "")
            out.append((ctype, b"".join(parts)))
        else:
            out.append(
                (rng.choice(["application/json", "text/plain", "", "x/y"]), rng.randbytes(20))
            )
    return out


def form_step(content_type: str, body: bytes) -> Hostile:
    async def step(peer: Peer, talk: Conversation) -> None:
        assert isinstance(peer, HttpPeer)
        talk.held.append(await peer.recv())
        headers = {"Content-Type": content_type} if content_type else {}
        status, _ = await peer.call("POST", "/send_message", data=body, headers=headers)
        assert status < 500  # (a 5xx raised Crash already)
        # a 4xx: refused with an answer, and the connection goes on; a 200: it was a frame

    return step


def wrong_cookies(rng: random.Random) -> list[str | None]:
    return [
        None,
        "x",
        "not-a-cookie-of-this-hub",
        "a" * 64,
        "%C3%A9",
        "a;b",
        "",
        rng.randbytes(8).hex(),
    ]


def cookie_step(cookie: str | None) -> Hostile:
    """Key-only or wrong-cookie requests beside a connection: they must not reach it (a 410),
    and the connection goes on."""

    async def step(peer: Peer, talk: Conversation) -> None:
        assert isinstance(peer, HttpPeer)
        talk.held.append(await peer.recv())  # bound to its cookie from this poll on
        for method, path in (
            ("GET", "/get_messages"),
            ("GET", "/get_binary_messages"),
            ("POST", "/send_message"),
            ("POST", "/disconnect"),
        ):
            kwargs: dict[str, Any] = {"data": {"message": "{}"}} if path == "/send_message" else {}
            status, body = await peer.call(method, path, cookie=cookie or None, **kwargs)
            expected = (200, {"error": "Already Disconnected"}) if path == "/disconnect" else 410
            if (status, body) != expected and status != expected:
                raise Breach(f"{method} {path} without the cookie: {status} {body}")

    return step


def hello_at(levels: int | None) -> Hostile:
    """The hostile part was the opening itself (an MQTT cleartext HELLO ``levels`` deep, or
    not JSON when ``None``): finish the handshake and ask, within the depth limit."""

    async def step(peer: Peer, talk: Conversation) -> None:
        async def proceed() -> None:
            await talk.handshake()
            await talk.ask()

        if levels is None:
            await proceed()
        else:
            await within_limit(levels, proceed())

    return step
