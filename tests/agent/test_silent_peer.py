"""A silent peer (no FIN, no RST: a sleeping laptop, a dead NAT entry) is detected by the
session's probes within ``probe_seconds + probe_down_seconds``, on every carrier, instead of
after the operating system's TCP timeout; the session then redials on its ladder."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.agent.conftest import CARRIERS, through
from tests.agent.proxy import FaultProxy
from thalovant.agent import AsyncHubSession
from thalovant.hub import LocalHub
from thalovant.identity.model import ThalovantIdentity
from thalovant.link.policy import HubSessionPolicy
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio

POLICY = HubSessionPolicy(
    retry_seconds=0.1, retry_ceiling_seconds=0.5, probe_seconds=0.3, probe_down_seconds=1.0
)
MARGIN = 2.0  # two shared cores


@pytest.fixture(params=CARRIERS)
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_silent_peer_is_detected_within_the_probe_bound(
    hub: LocalHub,
    identity: ThalovantIdentity,
    proxy: FaultProxy,
    protocol: str,
    hub_tls: HubTLS,
    tmp_path: Path,
) -> None:
    session = AsyncHubSession.for_identity(
        through(identity, protocol, proxy.port),
        policy=POLICY,
        protocol=protocol,
        ssl_context=hub_tls.client_context,
        noise_state_dir=tmp_path / "noise",
    )
    seen: list[str] = []
    session.on_state_change(lambda state: seen.append(state.phase))
    try:
        await session.connect(timeout=20)
        assert session.held
        proxy.silence()
        silenced = time.monotonic()
        down = await session.wait_state("backoff", "connecting", timeout=20)
        detected = time.monotonic() - silenced
        print(f"\n{protocol}: silent peer detected after {detected:.2f} s")
        assert detected <= POLICY.probe_seconds + POLICY.probe_down_seconds + MARGIN
        assert down.error is not None
        assert "went silent" in down.error
        await session.wait_state("ready", timeout=20)
        assert session.client is not None
        info = await session.client.connection_info()
        assert info.redials == 1
        assert info.uptime_seconds is not None
        assert seen[0] == "connecting"
        assert seen[-1] == "ready"
    finally:
        await session.close(timeout=2)
    assert session.state == "closed"
