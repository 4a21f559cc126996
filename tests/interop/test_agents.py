"""An agent on each carrier against HiveMind-core: the hub process is killed (SIGKILL) and
started again; every agent's link comes back on its ladder and the agent answers again."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from thalovant.agent import AsyncThalovantAgent, HubSessionPolicy
from thalovant.errors import ThalovantConnectionError
from thalovant.testing import HubTLS

from .conftest import CARRIERS, need_carrier
from .peer import PeerHub

pytestmark = [pytest.mark.interop, pytest.mark.anyio]

POLICY = HubSessionPolicy(
    retry_seconds=0.2, retry_ceiling_seconds=2.0, probe_seconds=2.0, probe_down_seconds=5.0
)


async def ask_until_answered(agent: AsyncThalovantAgent, text: str) -> tuple[str, int]:
    """Ask once the link is up; a link that turns out dead at publication (MQTT: the broker
    outlived the hub, so only the next publish shows the hub forgot the session) ends that
    ask, and the agent asks again on the redialed link."""
    for attempt in range(1, 4):
        await agent.session.wait_state("ready", timeout=60)
        try:
            reply = await agent.ask(text, timeout=20)
            return str(reply.text), attempt
        except ThalovantConnectionError:
            continue
    raise AssertionError("no answer after the hub came back")


async def test_agents_resume_after_the_hub_is_killed(
    peer: PeerHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    for carrier in CARRIERS:
        need_carrier(carrier)
    agents = {
        carrier: AsyncThalovantAgent(
            peer.identity(peer.take()),
            protocol=carrier,
            policy=POLICY,
            ssl_context=hub_tls.client_context,
            noise_state_dir=tmp_path / carrier,
            close_timeout=5.0,
        )
        for carrier in CARRIERS
    }
    spoken: dict[str, list[str]] = {carrier: [] for carrier in CARRIERS}
    for carrier, agent in agents.items():
        agent.on_speak(lambda event, c=carrier: spoken[c].append(event.data["utterance"]))
    with anyio.fail_after(240):
        async with anyio.create_task_group() as tg:
            for agent in agents.values():
                tg.start_soon(agent.run_forever)
            for carrier, agent in agents.items():
                text, _ = await ask_until_answered(agent, f"before {carrier}")
                assert "before" in text
            await anyio.to_thread.run_sync(peer.kill_hub)
            killed = time.monotonic()
            await anyio.to_thread.run_sync(peer.start_hub)
            for carrier, agent in agents.items():
                text, attempts = await ask_until_answered(agent, f"after {carrier}")
                assert "after" in text
                info = await agent.client.connection_info()
                print(
                    f"\n{carrier}: answered {time.monotonic() - killed:.1f} s after the kill, "
                    f"{info.redials} redial(s), {attempts} ask(s)"
                )
                assert info.redials >= 1
            for agent in agents.values():
                agent.stop()
    for carrier, agent in agents.items():
        assert agent.session.state == "closed"
        assert any("after" in text for text in spoken[carrier]), carrier
