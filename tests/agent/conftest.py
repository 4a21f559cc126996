"""Agent and session fixtures: the client suite's local hub, plus a fault-injecting proxy in
front of it and identities that dial the hub through the proxy."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import pytest

from tests.agent.proxy import FaultProxy
from tests.client.conftest import (  # noqa: F401  (fixtures)
    ClientFactory,
    hub,
    identity,
    make_client,
    register,
    short_refusal_window,
)
from thalovant.hub import LocalHub
from thalovant.identity.model import ThalovantIdentity

CARRIERS = ["wss", "https", "mqtt"]


def hub_port(hub: LocalHub, protocol: str) -> int:  # noqa: F811
    """The hub's listening port for ``protocol`` (the broker's client port for MQTT)."""
    if protocol == "wss":
        return int(hub.wss_server.port)
    if protocol == "https":
        assert hub.https_port is not None
        return int(hub.https_port)
    return int(hub.mqtt_port)


def _with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"127.0.0.1:{port}", parts.path, parts.query, ""))


def through(identity: ThalovantIdentity, protocol: str, port: int) -> ThalovantIdentity:  # noqa: F811
    """``identity`` with its ``protocol`` endpoint moved to ``port`` (the proxy)."""
    data: dict[str, Any] = identity.as_dict(include_secrets=True)
    endpoints = dict(data["data_plane_endpoints"])
    endpoints[protocol] = _with_port(endpoints[protocol], port)
    data["data_plane_endpoints"] = endpoints
    if protocol == "wss":
        data["default_master"] = endpoints["wss"]
        data["default_port"] = port
    if protocol == "mqtt":
        data["mqtt"] = {**data["mqtt"], "endpoint": endpoints["mqtt"]}
    return ThalovantIdentity.from_mapping(data)


@pytest.fixture
async def proxy(hub: LocalHub, protocol: str) -> AsyncIterator[FaultProxy]:  # noqa: F811
    """A fault proxy in front of ``hub``'s ``protocol`` listener."""
    async with FaultProxy(hub_port(hub, protocol)) as running:
        yield running


class Tally:
    """Counts what a handler saw (on the loop) and wakes whoever waits for it."""

    def __init__(self) -> None:
        self.counts: Counter[Any] = Counter()
        self.order: list[Any] = []
        self._changed: anyio.Event | None = None

    def add(self, key: Any) -> None:
        self.counts[key] += 1
        self.order.append(key)
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    async def wait_for(self, keys: Iterable[Any], timeout: float) -> None:  # noqa: ASYNC109
        """Wait until every key in ``keys`` was seen at least once."""
        wanted = set(keys)
        with anyio.fail_after(timeout):
            while not wanted <= self.counts.keys():
                if self._changed is None:
                    self._changed = anyio.Event()
                await self._changed.wait()
