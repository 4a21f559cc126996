"""Inbound dispatch: take-in, broadcast to this site, queries, hive and binary subscribers."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from thalovant.bus import CollectorSink, EventBus
from thalovant.bus.routing import InboundDispatcher, ThalovantBinary, take_in
from thalovant.client.collector import QueryCollector
from thalovant.errors import ThalovantRuntimeError
from thalovant.models.types import ThalovantEvent
from thalovant.protocol.binary import BinaryFrame
from thalovant.protocol.envelope import HiveMessage, bus_message, mesh_message

pytestmark = pytest.mark.anyio


def bus_frame(name: str, **context: Any) -> HiveMessage:
    return HiveMessage("bus", {"type": name, "data": {"x": 1}, "context": context})


def test_take_in_keeps_the_wire_context() -> None:
    raw = {
        "type": "speak",
        "data": {"utterance": "hi"},
        "context": {"destination": "me", "source": "skill", "hivemind_verified_source_peer": "p"},
    }
    event = take_in(raw)
    assert event.context == {"source": "me"}
    assert event.raw is raw
    assert raw["context"]["destination"] == "me"


async def test_bus_and_broadcast_to_this_site(anyio_backend: Any) -> None:
    bus = EventBus()
    inbound = InboundDispatcher(bus, "kiosk")
    stream = bus.subscribe("speak")
    hive: list[HiveMessage] = []
    got_hive = anyio.Event()

    def on_broadcast(message: HiveMessage) -> None:
        hive.append(message)
        got_hive.set()

    async with anyio.create_task_group() as tg:
        await bus.start(tg)
        inbound.start(tg)
        inbound.on_hive("broadcast", on_broadcast)
        inbound(bus_frame("speak", request_id="r"))
        inner = bus_message("speak", {"utterance": "to kiosk"}, {})
        inbound(mesh_message("broadcast", inner, target_site_id="kiosk"))
        inbound(mesh_message("broadcast", inner, target_site_id="elsewhere"))
        inbound(HiveMessage("ping", {}))
        inbound(HiveMessage("hello", {}))
        with anyio.fail_after(5):
            first = await stream.__anext__()
            second = await stream.__anext__()
            await got_hive.wait()
        tg.cancel_scope.cancel()
    assert first.request_id == "r"
    assert second.text == "to kiosk"
    assert len(hive) == 1
    assert hive[0].target_site_id == "elsewhere"
    bus.close()
    inbound.close()


async def test_query_frames_route_by_query_id(anyio_backend: Any) -> None:
    bus = EventBus()
    inbound = InboundDispatcher(bus, "kiosk")
    collector = QueryCollector("q-1")
    bus.register_request("q-1", CollectorSink(collector), kind="query")
    reply = mesh_message(
        "query",
        HiveMessage("bus", {"type": "speak", "data": {"utterance": "answer"}, "context": {}}),
        metadata={"query_id": "q-1"},
    )
    done = mesh_message(
        "cascade",
        HiveMessage("bus", {"type": "hive.query.complete", "data": {}, "context": {}}),
        metadata={"queryId": "q-1"},
    )
    inbound(reply)
    inbound(done)
    assert collector.done
    assert collector.finish(0.0).text == "answer"


async def test_binary_subscribers(anyio_backend: Any) -> None:
    bus = EventBus()
    inbound = InboundDispatcher(bus, "kiosk")
    got: list[ThalovantBinary] = []
    arrived = anyio.Event()

    async def on_binary(frame: ThalovantBinary) -> None:
        got.append(frame)
        arrived.set()

    sub = inbound.on_binary(on_binary)
    stream = bus.subscribe("speak")
    async with anyio.create_task_group() as tg:
        inbound.start(tg)
        meta = {"utterance": "hi", "lang": "en-us", "file_name": "a.wav"}
        inbound(BinaryFrame("bin", meta, binary_kind="tts_audio", data=b"RIFF"))
        inbound(BinaryFrame("bus", {}, payload={"type": "speak", "data": {}, "context": {}}))
        with anyio.fail_after(5):
            await arrived.wait()
            event: ThalovantEvent = await stream.__anext__()
        tg.cancel_scope.cancel()
    assert got[0].kind == "tts_audio"
    assert got[0].data == b"RIFF"
    assert (got[0].utterance, got[0].lang, got[0].file_name) == ("hi", "en-us", "a.wav")
    assert event.name == "speak"
    assert sub.delivered == 1
    sub.close()
    stream.close()


def test_on_hive_rejects_unknown_kinds() -> None:
    inbound = InboundDispatcher(EventBus(), "kiosk")
    with pytest.raises(ThalovantRuntimeError):
        inbound.on_hive("bus", print)
