"""The link on a fake carrier: refusal vs drop, readiness, malformed frames, the writer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from thalovant.carriers import CarrierOptions
from thalovant.carriers.base import CarrierClosed
from thalovant.errors import (
    ThalovantClientKeyRejectedError,
    ThalovantConnectionError,
    ThalovantHubRefusedError,
    ThalovantProtocolError,
    ThalovantRuntimeError,
)
from thalovant.identity.keystore import NoiseKeyStore
from thalovant.identity.model import ThalovantIdentity
from thalovant.link import link as link_module
from thalovant.link.link import Link, LinkDown
from thalovant.link.settings import LinkSettings
from thalovant.protocol.binary import BinaryFrame
from thalovant.protocol.channel import SecureChannel
from thalovant.protocol.envelope import HiveMessage, bus_message
from thalovant.protocol.handshake import ClientHandshake, HubHandshake, generate_static_private
from thalovant.protocol.handshake import x25519_public as public
from thalovant.protocol.noise import PATTERN_KK, PATTERN_XX
from thalovant.protocol.psk import PskDeriver

pytestmark = pytest.mark.anyio

Item = str | bytes | CarrierClosed


class FakeCarrier:
    """Frames in through ``feed``, frames out into ``sent``."""

    name = "fake"

    def __init__(self) -> None:
        self._in_send, self._in = anyio.create_memory_object_stream[Item](64)
        self.sent: list[str | bytes] = []
        self.block_send = False
        self.closed = False
        self.on_send: Any = None

    def feed(self, item: Item) -> None:
        self._in_send.send_nowait(item)

    async def send(self, frame: str | bytes) -> None:
        if self.block_send:
            await anyio.sleep_forever()
        if self.closed:
            raise CarrierClosed("closed", code=1006)
        self.sent.append(frame)
        if self.on_send is not None:
            self.on_send()
        await anyio.lowlevel.checkpoint()

    async def receive(self) -> str | bytes:
        try:
            item = await self._in.receive()
        except anyio.EndOfStream:
            raise CarrierClosed("closed", code=1006) from None
        if isinstance(item, CarrierClosed):
            raise item
        return item

    async def aclose(self) -> None:
        self.closed = True
        self._in_send.close()

    def abort(self) -> None:
        self.closed = True
        self._in_send.close()

    def dispose(self) -> None:
        self._in_send.close()
        self._in.close()


def channels(pattern: str) -> tuple[SecureChannel, SecureChannel]:
    """Client and hub channels after an in-memory handshake."""
    client_key, hub_key, psk = generate_static_private(), generate_static_private(), b"\x07" * 32
    kk = pattern == PATTERN_KK
    hub = HubHandshake(
        hub_key, node_id="node", psk=psk, known_client_key=public(client_key) if kk else None
    )
    client = ClientHandshake(client_key, pinned_hub_key=public(hub_key) if kk else None)
    for frame in hub.initial_frames():
        client.receive(frame)
    (msg2,) = hub.receive(client.provide_psk(psk)[0])
    for msg3 in client.receive(msg2):
        hub.receive(msg3)
    assert client.pattern == pattern
    c, h = client.result, hub.result
    return SecureChannel(c.send_cipher, c.recv_cipher), SecureChannel(h.send_cipher, h.recv_cipher)


@pytest.fixture
def settings(tmp_path: Path) -> LinkSettings:
    identity = ThalovantIdentity.from_mapping(
        {"access_key": "ak", "password": "pw", "site_id": "s", "default_master": "wss://h:1"}
    )
    return LinkSettings(
        identity=identity,
        protocol="wss",
        carrier=CarrierOptions("ua", 1.0, None),
        handshake_timeout=1.0,
        send_timeout=0.2,
        key_store=NoiseKeyStore(tmp_path / "noise"),
        pin_id="wss://h:1",
        psk_deriver=PskDeriver(),
    )


@pytest.fixture
async def carrier(anyio_backend: Any) -> AsyncIterator[FakeCarrier]:
    fake = FakeCarrier()
    yield fake
    fake.dispose()


def make_link(
    carrier: FakeCarrier, settings: LinkSettings, pattern: str
) -> tuple[Link, SecureChannel]:
    mine, theirs = channels(pattern)
    return Link(carrier, mine, session_id="sid", pattern=pattern, settings=settings), theirs


class Recorder:
    def __init__(self) -> None:
        self.messages: list[HiveMessage | BinaryFrame] = []
        self.ready = 0
        self.got = anyio.Event()
        self.became_ready = anyio.Event()

    def dispatch(self, message: HiveMessage | BinaryFrame) -> None:
        self.messages.append(message)
        self.got.set()

    def on_ready(self) -> None:
        self.ready += 1
        self.became_ready.set()


def speak(text: str) -> HiveMessage:
    return bus_message("speak", {"utterance": text}, {})


async def run(link: Link, recorder: Recorder) -> Any:
    with anyio.fail_after(5):
        return await link.run(recorder.dispatch, recorder.on_ready)


@pytest.mark.parametrize("code", [1000, 1005, 1008])
async def test_refusal_right_after_xx_is_client_key_rejected(
    carrier: FakeCarrier, settings: LinkSettings, code: int
) -> None:
    link, _ = make_link(carrier, settings, PATTERN_XX)
    carrier.feed(CarrierClosed("closed", code=code))
    recorder = Recorder()
    ended = await run(link, recorder)
    assert isinstance(ended, ThalovantClientKeyRejectedError)
    assert ended.key_folder == str(settings.key_store.folder)
    assert recorder.ready == 0  # never looked healthy


async def test_refusal_after_kk_is_hub_refused(
    carrier: FakeCarrier, settings: LinkSettings
) -> None:
    link, _ = make_link(carrier, settings, PATTERN_KK)
    carrier.feed(CarrierClosed("closed", code=1008))
    recorder = Recorder()
    ended = await run(link, recorder)
    assert isinstance(ended, ThalovantHubRefusedError)
    assert not isinstance(ended, ThalovantClientKeyRejectedError)
    assert recorder.ready == 1  # KK is ready at once


async def test_other_codes_are_drops(carrier: FakeCarrier, settings: LinkSettings) -> None:
    link, _ = make_link(carrier, settings, PATTERN_XX)
    carrier.feed(CarrierClosed("closed", code=1011))
    ended = await run(link, Recorder())
    assert type(ended) is ThalovantConnectionError


async def test_refusal_code_after_a_decrypted_frame_is_a_drop(
    carrier: FakeCarrier, settings: LinkSettings
) -> None:
    link, hub = make_link(carrier, settings, PATTERN_XX)
    (frame,) = hub.encrypt_message(speak("hi"))
    carrier.feed(frame)
    carrier.feed(CarrierClosed("closed", code=1008))
    recorder = Recorder()
    ended = await run(link, recorder)
    assert type(ended) is ThalovantConnectionError
    assert recorder.ready == 1  # the first decrypted frame made it ready
    assert len(recorder.messages) == 1


async def test_refusal_code_after_the_window_is_a_drop(
    carrier: FakeCarrier, settings: LinkSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(link_module, "REFUSAL_SETTLE_SECONDS", 0.0)
    link, _ = make_link(carrier, settings, PATTERN_XX)
    recorder = Recorder()
    async with anyio.create_task_group() as tg:
        tg.start_soon(run, link, recorder)
        with anyio.fail_after(5):
            await recorder.became_ready.wait()
        carrier.feed(CarrierClosed("closed", code=1000))
    assert link.dead


async def test_malformed_message_is_dropped_and_the_link_stays(
    carrier: FakeCarrier, settings: LinkSettings, caplog: pytest.LogCaptureFixture
) -> None:
    link, hub = make_link(carrier, settings, PATTERN_KK)
    (bad,) = hub._encrypt(b'{"not": "an envelope"}', binary=False)
    (good,) = hub.encrypt_message(speak("after"))
    carrier.feed(bad)
    carrier.feed(good)
    carrier.feed(CarrierClosed("closed", code=1011))
    recorder = Recorder()
    await run(link, recorder)
    assert len(recorder.messages) == 1
    assert "malformed" in caplog.text


async def test_cleartext_after_session_is_fatal(
    carrier: FakeCarrier, settings: LinkSettings
) -> None:
    link, _ = make_link(carrier, settings, PATTERN_KK)
    carrier.feed('{"msg_type": "hello", "payload": {}}')
    ended = await run(link, Recorder())
    assert isinstance(ended, ThalovantProtocolError)


async def test_corrupt_frame_is_fatal(carrier: FakeCarrier, settings: LinkSettings) -> None:
    link, hub = make_link(carrier, settings, PATTERN_KK)
    (frame,) = hub.encrypt_message(speak("x"))
    carrier.feed(frame[:-1] + bytes([frame[-1] ^ 1]))
    ended = await run(link, Recorder())
    assert isinstance(ended, ThalovantProtocolError)


async def test_a_tampered_frame_ends_the_link_with_the_public_protocol_error(
    carrier: FakeCarrier, settings: LinkSettings
) -> None:
    link, hub = make_link(carrier, settings, PATTERN_KK)
    (frame,) = hub.encrypt_message(speak("x"))
    carrier.feed(frame[:-1] + bytes([frame[-1] ^ 1]))
    ended = await run(link, Recorder())
    assert type(ended) is ThalovantProtocolError  # not the Noise layer's own class
    assert "authenticate" in str(ended)


@pytest.mark.parametrize(
    ("pattern", "settle", "expected"),
    [
        (PATTERN_KK, 30.0, ThalovantHubRefusedError),
        (PATTERN_XX, 30.0, ThalovantClientKeyRejectedError),
        (PATTERN_KK, 0.0, ThalovantConnectionError),
    ],
)
async def test_a_cleartext_hub_hello_on_a_cleartext_hello_carrier_is_a_close_without_status(
    carrier: FakeCarrier,
    settings: LinkSettings,
    monkeypatch: pytest.MonkeyPatch,
    pattern: str,
    settle: float,
    expected: type[Exception],
) -> None:
    """MQTT: the hub greeting anew means it ended the session (docs/interop.md); the link
    applies its refusal rules as to a close with 1005."""
    monkeypatch.setattr(link_module, "REFUSAL_SETTLE_SECONDS", settle)
    mine, _ = channels(pattern)
    link = Link(
        carrier, mine, session_id="sid", pattern=pattern, settings=settings, hello_ends_session=True
    )
    if settle == 0.0:
        await anyio.sleep(0.01)
    carrier.feed('{"msg_type": "hello", "payload": {"node_id": "n"}}')
    ended = await run(link, Recorder())
    assert type(ended) is expected
    assert type(link._classify(CarrierClosed("gone", code=1005))) is expected


async def test_other_cleartext_on_a_cleartext_hello_carrier_is_still_fatal(
    carrier: FakeCarrier, settings: LinkSettings
) -> None:
    mine, _ = channels(PATTERN_KK)
    link = Link(
        carrier,
        mine,
        session_id="sid",
        pattern=PATTERN_KK,
        settings=settings,
        hello_ends_session=True,
    )
    carrier.feed('{"msg_type": "shake", "payload": {}}')
    ended = await run(link, Recorder())
    assert type(ended) is ThalovantProtocolError


async def test_handler_exception_in_dispatch_keeps_reading(
    carrier: FakeCarrier, settings: LinkSettings
) -> None:
    link, hub = make_link(carrier, settings, PATTERN_KK)
    for text in ("one", "two"):
        carrier.feed(hub.encrypt_message(speak(text))[0])
    carrier.feed(CarrierClosed("closed", code=1011))
    seen: list[Any] = []

    def dispatch(message: HiveMessage | BinaryFrame) -> None:
        seen.append(message)
        raise RuntimeError("bug")

    with anyio.fail_after(5):
        await link.run(dispatch, lambda: None)
    assert len(seen) == 2


async def test_writer_sends_and_chunks_in_order(
    carrier: FakeCarrier, settings: LinkSettings
) -> None:
    link, hub = make_link(carrier, settings, PATTERN_KK)
    big = bus_message("t", {"blob": "y" * 140_000}, {})
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(link.send, big)
            tg.start_soon(link.send, speak("small"))
    decoded = [hub.decrypt(frame) for frame in carrier.sent]
    complete = [message for message in decoded if message is not None]
    assert len(complete) == 10
    assert len(carrier.sent) == 5 * 3 + 5


async def test_send_on_dead_link_is_linkdown(carrier: FakeCarrier, settings: LinkSettings) -> None:
    link, _ = make_link(carrier, settings, PATTERN_KK)
    link.abort()
    with pytest.raises(LinkDown):
        await link.send(speak("x"))


async def test_send_failure_is_not_linkdown(carrier: FakeCarrier, settings: LinkSettings) -> None:
    link, _ = make_link(carrier, settings, PATTERN_KK)
    carrier.closed = True
    with pytest.raises(ThalovantConnectionError) as caught:
        await link.send(speak("x"))
    assert not isinstance(caught.value, LinkDown)
    assert link.dead


async def test_send_timeout_kills_the_link(carrier: FakeCarrier, settings: LinkSettings) -> None:
    link, _ = make_link(carrier, settings, PATTERN_KK)
    carrier.block_send = True
    with anyio.fail_after(5), pytest.raises(ThalovantConnectionError, match="timed out"):
        await link.send(speak("x"))
    assert link.dead
    assert carrier.closed


async def test_cancelled_sender_still_writes_the_whole_message(
    carrier: FakeCarrier, settings: LinkSettings
) -> None:
    link, hub = make_link(carrier, settings, PATTERN_KK)
    big = bus_message("t", {"blob": "z" * 140_000}, {})
    with anyio.CancelScope() as scope:
        carrier.on_send = scope.cancel  # cancelled right after the first chunk
        await link.send(big)
    assert scope.cancel_called  # delivered at the caller's next checkpoint
    frames = [hub.decrypt(frame) for frame in carrier.sent]
    assert len(carrier.sent) == 3
    assert frames[-1] is not None


async def test_unencodable_payload_sends_nothing(
    carrier: FakeCarrier, settings: LinkSettings
) -> None:
    link, _ = make_link(carrier, settings, PATTERN_KK)
    with pytest.raises(ThalovantRuntimeError):
        await link.send(bus_message("t", {"x": object()}, {}))
    assert carrier.sent == []
    assert not link.dead


async def test_binary_frames_are_dispatched(carrier: FakeCarrier, settings: LinkSettings) -> None:
    link, hub = make_link(carrier, settings, PATTERN_KK)
    for frame in hub.encrypt_binary("bin", binary_kind="file", data=b"abc", metadata={"a": 1}):
        carrier.feed(frame)
    carrier.feed(CarrierClosed("closed", code=1011))
    recorder = Recorder()
    await run(link, recorder)
    (frame,) = recorder.messages
    assert isinstance(frame, BinaryFrame)
    assert frame.data == b"abc"
