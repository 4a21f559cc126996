"""Soak: an agent on each carrier through a fault-injecting proxy while the hub restarts, the
proxy cuts, stalls and silences the connection, and the hub's key rotates once (the agent's
pin policy accepts the announced key).

Asserted: every event the hub emits while the link is up reaches the handler exactly once
(no event twice, none lost); after each fault the agent is back within the policy's ladder
(outage + detection + the ladder's ceiling + a margin for two shared cores); memory
(tracemalloc) and the task count after the last round equal those after the warm-up round
(within a small allowance, figures printed); the final stop is clean and bounded.

Bounded: a short run in the default suite (well under 60 s for the three carriers);
``nox -s soak`` runs many more rounds (``THALOVANT_CHAOS_SCALE=full``, the chaos scale).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest

from tests.agent.conftest import CARRIERS, Tally, hub_port, register, through
from tests.agent.proxy import FaultProxy
from tests.chaos.conftest import scaled
from thalovant.agent import AsyncThalovantAgent, HubSessionPolicy, accept_hub_keys
from thalovant.hub import LocalHub
from thalovant.hub.responder.messages import wrap_bus
from thalovant.hub.responder.skills import DeliveryError
from thalovant.models.types import ThalovantEvent
from thalovant.protocol.envelope import BusMessage
from thalovant.protocol.handshake import generate_static_private, x25519_public
from thalovant.testing import HubTLS

pytestmark = [pytest.mark.anyio, pytest.mark.soak]

NODE_ID = "thalovant-soak-hub"
ROUND = ("cut", "stall", "silence", "restart")
#: Rounds after the warm-up round (the key rotates once, after it).
ROUNDS = scaled(1, 12)
BATCH = scaled(5, 20)
STALL_SECONDS = 0.3
#: How long the client may take to notice a link the hub has ended (probe + answer + margin).
PROBE_BOUND = 0.2 + 1.2 + 3.0
MARGIN = 6.0  # two shared cores
MEMORY_ALLOWANCE = 256 * 1024
TRACE_FRAMES = scaled(10, 25)  # deeper under nox -s soak: a sharper hub filter
TASK_ALLOWANCE = 2


def policy_for(new_key: bytes) -> HubSessionPolicy:
    return HubSessionPolicy(
        retry_seconds=0.1,
        retry_ceiling_seconds=0.5,
        probe_seconds=0.2,
        probe_down_seconds=1.2,
        refusal_grace_seconds=30.0,
        hub_key_policy=accept_hub_keys(new_key),
    )


@pytest.fixture(params=CARRIERS)
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Soak:
    """The running hub (restartable on new ports), the proxy and the figures."""

    state_dir: Path
    tls: HubTLS
    protocol: str
    hub: LocalHub | None = None
    proxy: FaultProxy | None = None
    recoveries: dict[str, list[float]] = field(default_factory=dict)
    lost: list[int] = field(default_factory=list)
    next_n: int = 0

    async def start_hub(self) -> LocalHub:
        hub = LocalHub(
            self.state_dir, ssl_context=self.tls.server_context, node_id=NODE_ID, close_timeout=1
        )
        await hub.start()
        self.hub = hub
        if self.proxy is not None:
            self.proxy.retarget(hub_port(hub, self.protocol))
        return hub

    async def restart_hub(self) -> float:
        """Stop the hub and start it again on new ports; returns the outage in seconds."""
        assert self.hub is not None
        assert self.proxy is not None
        down = time.monotonic()
        await self.proxy.close_port()  # while the hub is down, its port refuses connections
        await self.hub.aclose()
        await self.start_hub()
        await self.proxy.open_port()
        return time.monotonic() - down


@pytest.fixture
async def soak(hub_tls: HubTLS, tmp_path: Path, protocol: str) -> AsyncIterator[Soak]:
    running = Soak(tmp_path / "hub", hub_tls, protocol)
    hub = await running.start_hub()
    try:
        async with FaultProxy(hub_port(hub, protocol)) as proxy:
            running.proxy = proxy
            yield running
    finally:
        if running.hub is not None:
            await running.hub.aclose()


async def emit_batch(soak: Soak, agent: AsyncThalovantAgent, tally: Tally) -> list[int]:
    """Emit a batch on the hub's side of the agent's current link (a silenced one may linger
    on the hub) and wait until each event is handled. A batch whose link ended under it was
    not emitted "while the link is up": it goes to ``soak.lost`` (it still must not arrive
    twice) and a new batch follows on the new link."""
    assert soak.hub is not None
    for _ in range(4):
        await settle(agent)
        session_id = agent.client.session_id
        assert session_id is not None
        with anyio.fail_after(20):
            session = await soak.hub.wait_for_session(session_id)
        batch = list(range(soak.next_n, soak.next_n + BATCH))
        soak.next_n += BATCH
        try:
            for n in batch:
                await session.send_message(wrap_bus(BusMessage("soak.tick", {"n": n}, {})))
            await tally.wait_for(batch, timeout=10)
            return batch
        except (DeliveryError, TimeoutError):
            # The hub may end its side first (e.g. an old MQTT connection's last will): the
            # client must notice within its probe bound, or its link is deaf (a failure).
            with anyio.move_on_after(PROBE_BOUND):
                await agent.session.wait_state("backoff", "connecting", "refused", timeout=60)
            if agent.client.session_id == session_id and agent.session.held:
                raise
            soak.lost += batch
    raise AssertionError("the link kept ending under every batch")


async def settle(agent: AsyncThalovantAgent) -> None:
    await agent.session.wait_state("ready", timeout=30)


def measure() -> tuple[int, int, int]:
    """The memory the agent's side holds, the number of tasks, and the hub objects alive.

    The hub, the proxy and pytest run in this process too: allocations made under their code
    (any frame of ``thalovant/hub``, the aiohttp and websockets servers, ``tests/``, pytest,
    logging) are left out, so the figure is the SDK's client side (the test's own tally grows
    with every event and is left out with ``tests/``)."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(False, "*/thalovant/hub/*", all_frames=True),
            tracemalloc.Filter(False, "*/aiohttp/web_*", all_frames=True),
            tracemalloc.Filter(False, "*/websockets/asyncio/server.py", all_frames=True),
            tracemalloc.Filter(False, "*/tests/*", all_frames=True),
            tracemalloc.Filter(False, "*/_pytest/*", all_frames=True),
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, logging.__file__),
        ]
    )
    held = sum(stat.size for stat in snapshot.statistics("filename"))
    hubs = sum(1 for obj in gc.get_objects() if isinstance(obj, LocalHub))
    return held, len(asyncio.all_tasks()), hubs


async def test_agent_soak(soak: Soak, protocol: str, tmp_path: Path) -> None:
    assert soak.hub is not None
    assert soak.proxy is not None
    proxy = soak.proxy
    new_private = generate_static_private()
    policy = policy_for(x25519_public(new_private))
    identity = through(register(soak.hub, "soak"), protocol, proxy.port)
    agent = AsyncThalovantAgent(
        identity,
        protocol=protocol,
        policy=policy,
        ssl_context=soak.tls.client_context,
        noise_state_dir=tmp_path / "noise",
        close_timeout=3.0,
    )
    tally = Tally()

    @agent.on("soak.tick")
    async def tick(event: ThalovantEvent) -> None:
        tally.add(event.data["n"])

    emitted: list[int] = []
    figures: list[str] = []
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(agent.run_forever)
            await settle(agent)
            emitted += await emit_batch(soak, agent, tally)
            baseline: tuple[int, int, int] | None = None
            # warm-up: the first round and the key rotation, traced (so what a round replaces
            # is traced on both sides of the baseline)
            tracemalloc.start(TRACE_FRAMES)
            for index in range(1 + ROUNDS):
                for fault in ROUND:
                    emitted += await inflict(fault, soak, agent, tally, policy)
                if index == 0:
                    emitted += await inflict("rotate", soak, agent, tally, policy, new_private)
                    baseline = measure()
            assert baseline is not None
            end = measure()
            started = time.monotonic()
            agent.stop()
        stopped_in = time.monotonic() - started
    finally:
        tracemalloc.stop()
    figures.append(
        f"memory after warm-up {baseline[0] / 1024:.0f} KiB, at the end {end[0] / 1024:.0f} KiB"
        f" ({(end[0] - baseline[0]) / 1024:+.0f} KiB); tasks {baseline[1]} -> {end[1]}; "
        f"LocalHub objects alive {baseline[2]} -> {end[2]} (the hub's own, not the agent's)"
    )
    for fault, times in sorted(soak.recoveries.items()):
        figures.append(f"{fault}: back in {max(times):.2f} s at worst ({len(times)} times)")
    figures.append(
        f"{len(emitted)} events while up, {len(soak.lost)} emitted as a link ended; "
        f"final stop in {stopped_in:.2f} s"
    )
    print(f"\nsoak over {protocol}:\n  " + "\n  ".join(figures))

    assert set(emitted) <= set(tally.counts)  # none lost while the link was up
    assert set(tally.counts) <= set(emitted) | set(soak.lost)
    assert set(tally.counts.values()) == {1}  # none twice
    assert end[0] - baseline[0] <= MEMORY_ALLOWANCE
    assert abs(end[1] - baseline[1]) <= TASK_ALLOWANCE
    assert stopped_in <= agent.close_timeout + 1.0
    assert agent.session.state == "closed"
    assert (await agent.client.connection_info()).redials >= 2 * (1 + ROUNDS)
    assert soak.hub is not None
    soak.proxy.release_silenced()
    if protocol != "https":  # the hub saw the socket close (WSS) or the client go offline
        with anyio.fail_after(10):
            await soak.hub.wait_for_connections(0)
    # (HTTPS: the hub keys sessions by access key, and the stale ones of links that ended
    # without a goodbye linger until its idle timeout, so a count proves nothing there.)


async def inflict(
    fault: str,
    soak: Soak,
    agent: AsyncThalovantAgent,
    tally: Tally,
    policy: HubSessionPolicy,
    new_private: bytes | None = None,
) -> list[int]:
    """One fault; returns the events emitted around it (each must arrive once)."""
    assert soak.proxy is not None
    assert soak.hub is not None
    client = agent.client
    redials = (await client.connection_info()).redials
    emitted: list[int] = []
    outage, detect = 0.0, 0.0
    began = time.monotonic()
    if fault == "cut":
        soak.proxy.cut()
    elif fault == "stall":
        soak.proxy.stall()
        await anyio.sleep(STALL_SECONDS)  # the fault's length, not a wait for a condition
        soak.proxy.resume()
        emitted += await emit_batch(soak, agent, tally)
        assert (await client.connection_info()).redials == redials  # a short stall is ridden out
        return emitted
    elif fault == "silence":
        soak.proxy.silence()
        detect = policy.probe_seconds + policy.probe_down_seconds
    elif fault == "restart":
        outage = await soak.restart_hub()
    elif fault == "rotate":
        assert new_private is not None
        soak.hub.set_static_key(new_private)
        await soak.hub.drop_connections()
    if fault == "cut" and soak.protocol == "https":
        await settle(agent)  # HTTP requests reconnect by themselves: the link may live on
    else:
        await wait_redialed(agent, redials)
    took = time.monotonic() - began
    if soak.protocol != "mqtt":  # the client has moved on: end the black hole
        soak.proxy.release_silenced()
    # (MQTT: the black-holed connection's last will would end the new session on the hub,
    # which keys one session per access key; seen once in 13 full-scale rounds with the
    # client not noticing, so it stays open until the end; see the report of issue #15.)
    soak.recoveries.setdefault(fault, []).append(took)
    assert took <= outage + detect + policy.retry_ceiling_seconds + MARGIN, fault
    emitted += await emit_batch(soak, agent, tally)
    return emitted


async def wait_redialed(agent: AsyncThalovantAgent, redials: int) -> None:
    """Wait until the link came back after ``redials`` redials (state events, no polling)."""
    with anyio.fail_after(40):
        while (await agent.client.connection_info()).redials <= redials or not agent.session.held:
            await agent.session.wait_state("backoff", "connecting", "refused", timeout=40)
            await settle(agent)
