"""Agent mode's link to the OVOS bus without a bus: bad URLs and an unreachable bus fail fast
with typed errors (the relay itself is tested against a real ovos-messagebus in
tests/interop/test_ovos_agent.py)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from thalovant.errors import ThalovantConnectionError, ThalovantRuntimeError
from thalovant.hub import LocalHub
from thalovant.hub.servers.ovos_agent import OvosAgent

pytestmark = pytest.mark.anyio


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_bus_url_must_be_a_websocket_url(tmp_path: Path) -> None:
    with pytest.raises(ThalovantRuntimeError, match="ws:// or wss://"):
        OvosAgent("http://127.0.0.1:8181/core")
    with pytest.raises(ThalovantRuntimeError, match="ws:// or wss://"):
        LocalHub(tmp_path / "hub", ovos_bus="127.0.0.1:8181")
    with pytest.raises(ThalovantRuntimeError) as caught:
        OvosAgent("http://bus:hunter2@127.0.0.1:8181/core?token=s3cret")
    assert "hunter2" not in str(caught.value)
    assert "s3cret" not in str(caught.value)


async def test_an_unreachable_bus_fails_start_in_time() -> None:
    url = f"ws://bus:hunter2@127.0.0.1:{_closed_port()}/core"
    agent = OvosAgent(url, connect_timeout=0.5)
    began = time.monotonic()
    with pytest.raises(ThalovantConnectionError, match="could not reach the OVOS messagebus") as e:
        await agent.start()
    assert time.monotonic() - began < 5
    assert not agent.connected
    assert "hunter2" not in str(e.value)


async def test_a_hub_whose_bus_is_unreachable_does_not_start(tmp_path: Path) -> None:
    hub = LocalHub(tmp_path / "hub", ovos_bus=f"ws://127.0.0.1:{_closed_port()}/core")
    assert hub.ovos_agent is not None
    hub.ovos_agent.connect_timeout = 0.5
    with pytest.raises(ThalovantConnectionError):
        await hub.start()
    assert not hub.running
