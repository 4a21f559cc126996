"""The official probe and retry members of a hub session (``probe()``, ``probe_delay()``,
``retry_at``, ``retry_wait``), through the public API against a real local hub behind the
fault proxy: a probe finds a silent peer at once instead of after ``probe_seconds``, a probe
of a link that is down dials at once instead of waiting out the ladder, and the ladder's
figures follow the supervisor."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from tests.agent.conftest import CARRIERS, through
from tests.agent.proxy import FaultProxy
from thalovant.agent import AsyncHubSession, HubSession
from thalovant.client.client import AsyncThalovantClient
from thalovant.hub import LocalHub
from thalovant.identity.model import ThalovantIdentity
from thalovant.link.policy import HubSessionPolicy
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio

MARGIN = 2.0  # two shared cores
# Long probes and a long ladder: nothing the test sees can come from the session by itself.
SLOW = HubSessionPolicy(
    retry_seconds=30, retry_ceiling_seconds=120, probe_seconds=60, probe_down_seconds=1.0
)


@pytest.fixture(params=CARRIERS)
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def session_for(
    identity: ThalovantIdentity, protocol: str, proxy: FaultProxy, hub_tls: HubTLS, tmp: Path
) -> AsyncHubSession:
    return AsyncHubSession.for_identity(
        through(identity, protocol, proxy.port),
        policy=SLOW,
        protocol=protocol,
        ssl_context=hub_tls.client_context,
        noise_state_dir=tmp / "noise",
    )


async def test_probe_finds_a_silent_peer_at_once(
    hub: LocalHub,
    identity: ThalovantIdentity,
    proxy: FaultProxy,
    protocol: str,
    hub_tls: HubTLS,
    tmp_path: Path,
) -> None:
    session = session_for(identity, protocol, proxy, hub_tls, tmp_path)
    try:
        await session.connect(timeout=20)
        assert await session.probe() is True
        assert session.held
        assert SLOW.probe_seconds - MARGIN <= session.probe_delay() <= SLOW.probe_seconds
        assert session.retry_at is None
        assert session.retry_wait == SLOW.retry_seconds
        proxy.silence()
        started = time.monotonic()
        assert await session.probe() is False
        took = time.monotonic() - started
        print(f"\n{protocol}: probe() found the silent peer in {took:.2f} s")
        assert took <= SLOW.probe_down_seconds + MARGIN  # not probe_seconds (60 s)
        down = await session.wait_state("backoff", timeout=10)
        assert down.error is not None
        assert "went silent" in down.error
    finally:
        await session.close(timeout=2)
    assert await session.probe() is False  # closed: nothing to check


@pytest.mark.parametrize("protocol", ["wss"])
async def test_probe_of_a_down_link_dials_now_and_the_ladder_figures(
    hub: LocalHub,
    identity: ThalovantIdentity,
    proxy: FaultProxy,
    hub_tls: HubTLS,
    tmp_path: Path,
) -> None:
    session = session_for(identity, "wss", proxy, hub_tls, tmp_path)
    try:
        await session.connect(timeout=20)
        proxy.refusing = True
        proxy.cut()
        await session.wait_state("backoff", timeout=10)
        # after a drop: the first rung, a redial between half of it and all of it
        assert session.retry_wait == SLOW.retry_seconds
        retry_at = session.retry_at
        assert retry_at is not None
        wait = retry_at - time.monotonic()
        assert SLOW.retry_seconds / 2 - MARGIN <= wait <= SLOW.retry_seconds
        assert abs(session.probe_delay() - wait) <= MARGIN
        # the hub is still unreachable: the probe's dial fails, and climbs the ladder
        assert await session.probe(timeout=10) is False
        await session.wait_state("backoff", timeout=10)
        assert session.retry_wait == 2 * SLOW.retry_seconds
        assert session.retry_at is not None
        # reachable again: the probe dials at once instead of waiting 15-60 s
        proxy.refusing = False
        started = time.monotonic()
        assert await session.probe(timeout=10) is True
        assert time.monotonic() - started <= 10
        assert session.held
        assert session.retry_at is None
        assert session.retry_wait == SLOW.retry_seconds
        assert session.client is not None
        assert (await session.client.connection_info()).redials == 1
    finally:
        await session.close(timeout=2)
    assert session.retry_at is None
    assert session.probe_delay() == SLOW.probe_down_seconds


@pytest.mark.parametrize("protocol", ["wss"])
async def test_blocking_hub_session_probe_and_retry(
    hub: LocalHub,
    identity: ThalovantIdentity,
    proxy: FaultProxy,
    hub_tls: HubTLS,
    tmp_path: Path,
) -> None:
    offset = 1000.0  # the session's own clock: retry_at is on it

    def clock() -> float:
        return time.monotonic() + offset

    target = through(identity, "wss", proxy.port)

    def run() -> None:
        session = HubSession(
            lambda: AsyncThalovantClient(
                target,
                protocol="wss",
                ssl_context=hub_tls.client_context,
                noise_state_dir=tmp_path / "noise",
            ),
            policy=SLOW,
            clock=clock,
        )
        try:
            session.wait_state("ready", timeout=20)
            session.probe()  # the official call returns None; ours says True
            assert session.held
            assert session.retry_at is None
            assert session.retry_wait == SLOW.retry_seconds
            assert session.probe_delay() <= SLOW.probe_seconds
            anyio.from_thread.run_sync(proxy.cut)
            session.wait_state("backoff", timeout=10)
            retry_at = session.retry_at
            assert retry_at is not None
            assert clock() < retry_at <= clock() + SLOW.retry_seconds
            assert session.probe(timeout=10) is True  # dials now
            assert session.held
            assert session.retry_at is None
        finally:
            session.close()

    await anyio.to_thread.run_sync(run)
