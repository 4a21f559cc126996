"""AsyncHubSession against a real local hub: state reporting, subscriptions across redials,
the refusal grace period and its terminal state, the pin policy on a rotated hub key, and
the long-run figures on ``connection_info()``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.agent.conftest import Tally, register
from thalovant.agent import AsyncHubSession, HubSessionPolicy, HubSessionState, accept_hub_keys
from thalovant.errors import (
    ThalovantHubKeyChangedError,
    ThalovantHubRefusedError,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
)
from thalovant.hub import LocalHub
from thalovant.hub.responder.messages import wrap_bus
from thalovant.identity.model import ThalovantIdentity
from thalovant.protocol.envelope import BusMessage
from thalovant.protocol.handshake import generate_static_private, x25519_public
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio

FAST = HubSessionPolicy(
    retry_seconds=0.05, retry_ceiling_seconds=0.2, probe_seconds=5, probe_down_seconds=5
)


def session_for(
    identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path, policy: HubSessionPolicy = FAST
) -> AsyncHubSession:
    return AsyncHubSession.for_identity(
        identity,
        policy=policy,
        protocol="wss",
        ssl_context=hub_tls.client_context,
        noise_state_dir=tmp_path / "noise",
    )


async def emit_to_all(hub: LocalHub, name: str, data: dict[str, Any]) -> None:
    for session in list(hub.sessions):
        await session.send_message(wrap_bus(BusMessage(name, data, {})))


def test_policy_defaults_ladder_and_checks() -> None:
    policy = HubSessionPolicy()
    assert (policy.retry_seconds, policy.retry_ceiling_seconds) == (10.0, 120.0)
    assert (policy.probe_seconds, policy.probe_down_seconds) == (60.0, 5.0)
    assert policy.refusal_grace_seconds == 600.0
    assert [policy.next_wait(w) for w in (0, 10, 80)] == [10, 20, 120]
    assert policy.rung(0) == 10
    assert policy.rung(10) == 120
    backoff = policy.backoff()
    assert all(5.0 <= backoff.delay(n) <= policy.rung(n) for n in range(8))
    for bad in ({"retry_seconds": 0}, {"probe_seconds": -1}, {"retry_ceiling_seconds": 1}):
        with pytest.raises(ThalovantRuntimeError):
            HubSessionPolicy(**bad)  # type: ignore[arg-type]


def test_state_is_truthy_exactly_while_held() -> None:
    held, down = HubSessionState("ready"), HubSessionState("backoff", "lost")
    assert held
    assert not down
    assert held == True  # noqa: E712 - the official callbacks receive a bool
    assert down == False  # noqa: E712
    assert down == "backoff"
    assert HubSessionState("failed").terminal


async def test_states_subscriptions_and_figures_across_hub_drops(
    hub: LocalHub, identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path
) -> None:
    session = session_for(identity, hub_tls, tmp_path)
    got = Tally()
    states: list[bool] = []
    session.on("soak.tick", lambda event: got.add(event.data["n"]))
    session.on_state_change(lambda held: states.append(bool(held)))
    async with session:
        for n in range(3):
            await hub.drop_connections()
            await session.wait_state("backoff", "connecting", timeout=10)
            await session.wait_state("ready", timeout=10)
            with anyio.fail_after(10):
                await hub.wait_for_connections(1)
            await emit_to_all(hub, "soak.tick", {"n": n})
            await got.wait_for([n], timeout=10)
        assert session.client is not None
        info = await session.client.connection_info()
        assert info.redials == 3
        assert info.refusals == 0
        assert info.uptime_seconds is not None
        assert info.last_error is not None
        assert "lost" in info.last_error
    assert got.order == [0, 1, 2]
    assert states[-1] is False  # closed
    assert states.count(True) == 4
    with pytest.raises(ThalovantTimeoutError):
        await session.wait_state("ready", timeout=0.05)


async def test_refusal_within_grace_recovers(
    hub: LocalHub, identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path
) -> None:
    late = ThalovantIdentity.from_mapping(
        {**identity.as_dict(include_secrets=True), "access_key": "ak-late", "password": "pw-late"}
    )
    policy = HubSessionPolicy(
        retry_seconds=0.05, retry_ceiling_seconds=0.2, refusal_grace_seconds=30
    )
    session = session_for(late, hub_tls, tmp_path, policy)
    try:
        with pytest.raises(ThalovantHubRefusedError):
            await session.connect(timeout=10)
        await session.wait_state("refused", timeout=10)
        register(hub, "late")  # e.g. the hub restored its client list
        await session.wait_state("ready", timeout=15)
        assert session.client is not None
        assert (await session.client.connection_info()).refusals >= 1
    finally:
        await session.close(timeout=2)


async def test_refusal_past_grace_is_terminal(
    hub: LocalHub, identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path
) -> None:
    wrong = ThalovantIdentity.from_mapping(
        {**identity.as_dict(include_secrets=True), "password": "not-the-password"}
    )
    policy = HubSessionPolicy(
        retry_seconds=0.05, retry_ceiling_seconds=0.1, refusal_grace_seconds=0.5
    )
    session = session_for(wrong, hub_tls, tmp_path, policy)
    phases: list[str] = []
    session.on_state_change(lambda state: phases.append(state.phase))
    try:
        with anyio.fail_after(20), pytest.raises(ThalovantHubRefusedError):
            await session.run()
        assert session.state == "failed"
        assert session.state.terminal
        assert "refused" in phases
        assert session.client is not None
        assert session.client.link_failure is not None
        refusals = (await session.client.connection_info()).refusals
        assert refusals >= 2
    finally:
        await session.close(timeout=2)


async def test_rotated_hub_key_pin_policy_decides(
    hub: LocalHub, identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path
) -> None:
    new_private = generate_static_private()
    accepted = HubSessionPolicy(
        retry_seconds=0.05,
        retry_ceiling_seconds=0.2,
        hub_key_policy=accept_hub_keys(x25519_public(new_private)),
    )
    keeper = session_for(identity, hub_tls, tmp_path / "a", accepted)
    strict = session_for(register(hub, "strict"), hub_tls, tmp_path / "b", FAST)
    try:
        await keeper.connect(timeout=10)
        await strict.connect(timeout=10)
        hub.set_static_key(new_private)
        await hub.drop_connections()
        await keeper.wait_state("backoff", "connecting", timeout=10)
        await keeper.wait_state("ready", timeout=15)
        failed = await strict.wait_state("failed", timeout=15)
        assert failed.error is not None
        assert "ThalovantHubKeyChangedError" in failed.error
        assert strict.client is not None
        assert isinstance(strict.client.link_failure, ThalovantHubKeyChangedError)
        with pytest.raises(ThalovantHubKeyChangedError):
            await strict.run()
        reply = await keeper.ask("hello")
        assert reply.text
    finally:
        await keeper.close(timeout=2)
        await strict.close(timeout=2)


def test_replace_pin_is_a_compare_and_swap(tmp_path: Path) -> None:
    from thalovant.identity.keystore import NoiseKeyStore

    store = NoiseKeyStore(tmp_path / "keys")
    old, new, other = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    store.pin("wss://hub", old)
    assert not store.replace_pin("wss://hub", other, new)  # someone else's view: no change
    assert store.pinned_key("wss://hub") == old
    assert store.replace_pin("wss://hub", old, new)
    assert store.replace_pin("wss://hub", old, new)  # already done by another worker
    assert store.pinned_key("wss://hub") == new


async def test_blocking_hub_session(
    hub: LocalHub, identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path
) -> None:
    import threading

    from thalovant.agent import HubSession

    def run() -> tuple[str, list[str], list[bool], str]:
        ticks: list[str] = []
        states: list[bool] = []
        got = threading.Event()
        session = HubSession.for_identity(
            identity,
            policy=FAST,
            protocol="wss",
            ssl_context=hub_tls.client_context,
            noise_state_dir=tmp_path / "noise",
        )
        try:
            session.on_state_change(lambda held: states.append(bool(held)))
            session.on("sync.tick", lambda event: (ticks.append(event.name), got.set()))
            session.wait_state("ready", timeout=15)
            text = session.ask("hello").text
            anyio.from_thread.run(emit_to_all, hub, "sync.tick", {})
            assert got.wait(10)
            thread = threading.current_thread().name
        finally:
            session.close()
        return text, ticks, states, thread

    text, ticks, states, _ = await anyio.to_thread.run_sync(run)
    assert text
    assert ticks == ["sync.tick"]
    assert True in states
