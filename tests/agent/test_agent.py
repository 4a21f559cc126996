"""AsyncThalovantAgent and ThalovantAgent against a real local hub: decorators, plain
handlers off the loop, a raising handler that never stops the agent, ``run_forever`` ending
on ``stop()``, on SIGTERM and on a terminal refusal, each with a clean, bounded close."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.agent.conftest import Tally
from tests.agent.test_session import emit_to_all
from thalovant.agent import AsyncThalovantAgent, HubSessionPolicy, ThalovantAgent
from thalovant.errors import ThalovantHubRefusedError
from thalovant.hub import LocalHub
from thalovant.identity.model import ThalovantIdentity
from thalovant.models.types import ThalovantEvent
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio

FAST = HubSessionPolicy(retry_seconds=0.05, retry_ceiling_seconds=0.2)


def options(hub_tls: HubTLS, tmp_path: Path) -> dict[str, Any]:
    return {
        "protocol": "wss",
        "ssl_context": hub_tls.client_context,
        "noise_state_dir": tmp_path / "noise",
        "policy": FAST,
        "close_timeout": 2.0,
    }


async def test_handlers_run_once_off_the_loop_and_a_raising_one_is_logged(
    hub: LocalHub,
    identity: ThalovantIdentity,
    hub_tls: HubTLS,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent = AsyncThalovantAgent(identity, **options(hub_tls, tmp_path))
    loop_thread = threading.current_thread()
    ticks, spoken = Tally(), Tally()
    threads: list[threading.Thread] = []
    token = anyio.lowlevel.current_token()

    @agent.on("agent.tick")
    def tick(event: ThalovantEvent) -> None:  # plain: runs in a worker thread
        threads.append(threading.current_thread())
        anyio.from_thread.run_sync(ticks.add, event.data["n"], token=token)

    @agent.on_speak
    async def speak(event: ThalovantEvent) -> None:
        spoken.add(event.data.get("utterance"))

    @agent.on("agent.boom")
    async def boom(event: ThalovantEvent) -> None:
        raise RuntimeError("handler bug")

    caplog.set_level(logging.ERROR, logger="thalovant.agent")
    async with anyio.create_task_group() as tg:
        tg.start_soon(agent.run_forever)
        await agent.session.wait_state("ready", timeout=15)
        reply = await agent.ask("hello")
        await spoken.wait_for([reply.text], timeout=10)
        with anyio.fail_after(10):
            await hub.wait_for_connections(1)
        await emit_to_all(hub, "agent.boom", {})
        await emit_to_all(hub, "agent.tick", {"n": 1})
        await emit_to_all(hub, "agent.tick", {"n": 2})
        await ticks.wait_for([1, 2], timeout=10)
        started = time.monotonic()
        agent.stop()
    closed_in = time.monotonic() - started
    assert closed_in < 2.0 + 1.0
    assert ticks.order == [1, 2]
    assert all(thread is not loop_thread for thread in threads)
    assert "agent.boom" in caplog.text
    assert "handler bug" in caplog.text
    assert agent.session.state == "closed"
    assert agent.client.state == "closed"


async def test_sigterm_stops_run_forever_cleanly(
    hub: LocalHub, identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path
) -> None:
    agent = AsyncThalovantAgent(identity, **options(hub_tls, tmp_path))
    async with anyio.create_task_group() as tg:
        tg.start_soon(agent.run_forever)
        await agent.session.wait_state("ready", timeout=15)
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # the agent's handler
        os.kill(os.getpid(), signal.SIGTERM)
        await agent.session.wait_state("closed", timeout=5)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored
    with anyio.fail_after(10):
        await hub.wait_for_connections(0)


async def test_terminal_refusal_ends_run_forever_with_the_error(
    hub: LocalHub, identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path
) -> None:
    wrong = ThalovantIdentity.from_mapping(
        {**identity.as_dict(include_secrets=True), "password": "wrong"}
    )
    opts = options(hub_tls, tmp_path)
    opts["policy"] = HubSessionPolicy(
        retry_seconds=0.05, retry_ceiling_seconds=0.1, refusal_grace_seconds=0.3
    )
    agent = AsyncThalovantAgent(wrong, **opts)
    with anyio.fail_after(20), pytest.raises(ThalovantHubRefusedError):
        await agent.run_forever()
    assert agent.session.state == "closed"


async def test_blocking_agent_runs_until_stopped_from_another_thread(
    hub: LocalHub, identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path
) -> None:
    agent = ThalovantAgent(identity, **options(hub_tls, tmp_path))
    seen: list[tuple[int, str]] = []
    got = threading.Event()

    @agent.on("agent.tick")
    def tick(event: ThalovantEvent) -> None:
        seen.append((event.data["n"], threading.current_thread().name))
        got.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, agent.run_forever)
        with anyio.fail_after(15):
            await hub.wait_for_connections(1)
        await emit_to_all(hub, "agent.tick", {"n": 7})
        assert await anyio.to_thread.run_sync(got.wait, 10)
        agent.stop()
    assert seen[0][0] == 7
    assert seen[0][1] != "thalovant-agent"
    assert agent.session.state == "closed"
