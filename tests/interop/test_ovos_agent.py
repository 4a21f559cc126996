"""Agent mode: our local hub in front of a real ``ovos-messagebus``, over WSS, HTTPS and MQTT.

A small responder on the bus (``agent_responder.py``) plays the OVOS skill; it reports how
each request looked on the bus, so the tests check the peer in ``source``/``destination``
(as HiveMind-core's OVOS agent plugin stamps it), the session namespace, that replies reach
only the asking client, and that the policy still applies before anything reaches the bus.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from anyio.streams.text import TextReceiveStream

from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import ThalovantPolicyDeniedError, ThalovantTimeoutError
from thalovant.hub import LocalHub
from thalovant.hub.servers.ovos_agent import AGENT_LABEL
from thalovant.hub.servers.tls import DevCertificates
from thalovant.identity.model import ThalovantIdentity
from thalovant.testing import HubTLS

from .conftest import OTHER_TYPE, AsyncFactory
from .ovos_bus import OvosBus

pytestmark = [pytest.mark.interop, pytest.mark.anyio]


@pytest.fixture(scope="session")
def ovos_bus(peer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OvosBus]:
    """``ovos-messagebus`` with the agent responder on it (no HiveMind-core on this bus)."""
    with OvosBus(peer_dir, tmp_path_factory.mktemp("ovos-bus")) as bus:
        yield bus


@pytest.fixture
async def agent_hub(
    anyio_backend: Any, ovos_bus: OvosBus, hub_tls: HubTLS, tmp_path: Path
) -> AsyncIterator[LocalHub]:
    """A local hub in agent mode, relaying to :func:`ovos_bus`."""
    async with LocalHub(
        tmp_path / "hub", ssl_context=hub_tls.server_context, ovos_bus=ovos_bus.url
    ) as hub:
        yield hub


def _seen(reply: Any) -> dict[str, Any]:
    """What the responder saw of the request (its speak's ``meta.seen``)."""
    speak = next(event for event in reply.events if event.name == "speak")
    seen: dict[str, Any] = speak.data["meta"]["seen"]
    return seen


async def test_the_bus_answers_with_the_peer_in_source_and_destination(
    agent_hub: LocalHub, make_client: AsyncFactory
) -> None:
    identity = agent_hub.register_client("kiosk")
    with anyio.fail_after(30):
        async with make_client(identity) as client:
            connection_session = client.session_id
            chat = client.conversation()
            first = await chat.ask("tell me a joke")
            second = await chat.ask("and another one")
    # The hub's own skills do not answer in agent mode: the bus responder does.
    assert first.text == "you said tell me a joke, turn 1"
    assert second.text == "you said and another one, turn 2"
    assert first.handled
    seen = _seen(first)
    peer = f"kiosk::{connection_session}"
    assert seen["source"] == seen["peer"] == peer
    assert seen["destination"] == AGENT_LABEL
    # On the bus the session is namespaced per client; the client gets its own id back.
    namespace, _, declared = seen["session_id"].partition(":")
    assert namespace
    assert declared == chat.session_id
    assert first.session_id == chat.session_id
    speak = next(event for event in first.events if event.name == "speak")
    # As delivered on the wire (the hub's relay sets source "hive", as HiveMind-core does).
    assert speak.raw["context"]["destination"] == peer
    assert speak.raw["context"]["source"] == "hive"


async def test_replies_reach_only_the_asking_client(
    agent_hub: LocalHub, make_client: AsyncFactory
) -> None:
    ids = [agent_hub.register_client(name) for name in ("left", "right")]
    with anyio.fail_after(45):
        async with make_client(ids[0]) as left, make_client(ids[1]) as right:
            replies: dict[str, Any] = {}

            async def ask(name: str, client: AsyncThalovantClient) -> None:
                for turn in range(3):
                    reply = await client.ask(f"{name} {turn}", session_id="shared-session")
                    replies[f"{name} {turn}"] = reply

            async with anyio.create_task_group() as tg:
                tg.start_soon(ask, "left", left)
                tg.start_soon(ask, "right", right)
    for name in ("left", "right"):
        for turn in range(3):
            reply = replies[f"{name} {turn}"]
            # One session id, two clients: each client's turns count on their own.
            assert reply.text == f"you said {name} {turn}, turn {turn + 1}"
            assert [event.text for event in reply.events if event.name == "speak"] == [reply.text]
            assert _seen(reply)["peer"].startswith(f"{name}::")


async def test_policy_applies_before_the_bus(
    agent_hub: LocalHub, make_client: AsyncFactory, ovos_bus: OvosBus
) -> None:
    restricted = agent_hub.register_client("restricted", allowed_types=(OTHER_TYPE,))
    with anyio.fail_after(30):
        async with make_client(restricted) as client:
            with pytest.raises(ThalovantPolicyDeniedError) as caught:
                await client.ask("open the pod bay doors", session_id="denied-session")
    assert caught.value.denied_type == "recognizer_loop:utterance"
    assert "denied-session" not in ovos_bus.log("responder")  # it never reached the bus


async def test_a_query_is_relayed_and_completed(
    agent_hub: LocalHub, make_client: AsyncFactory
) -> None:
    identity = agent_hub.register_client("asker")
    with anyio.fail_after(30):
        async with make_client(identity) as client:
            reply = await client.query("what is on the bus")
    assert reply.text == "you said what is on the bus, turn 1"
    assert reply.handled


async def _banner(process: Any) -> dict[str, str]:
    fields: dict[str, str] = {}
    buffer = ""
    with anyio.fail_after(30):
        async for chunk in TextReceiveStream(process.stdout):
            buffer += chunk
            if "Press Ctrl-C to stop." in buffer:
                break
    for line in buffer.splitlines():
        key, sep, value = line.strip().partition(": ")
        if sep:
            fields[key] = value.strip().split()[0]
    return fields


async def test_hub_command_agent_mode(
    anyio_backend: Any, ovos_bus: OvosBus, tmp_path: Path
) -> None:
    state, identity_path = tmp_path / "state", tmp_path / "me.identity.json"
    command = [sys.executable, "-m", "thalovant.cli", "hub", "--state-dir", str(state)]
    command += ["--identity-out", str(identity_path), "--tls-self-signed"]
    command += ["--ovos-bus", ovos_bus.url]
    async with await anyio.open_process(command) as process:
        try:
            banner = await _banner(process)
            assert banner["OVOS bus"] == ovos_bus.url
            identity = ThalovantIdentity.from_file(identity_path)
            certs = DevCertificates(state / "tls")
            with anyio.fail_after(30):
                for protocol in ("wss", "https", "mqtt"):
                    async with AsyncThalovantClient(
                        identity,
                        protocol=protocol,
                        ssl_context=certs.client_context(),
                        noise_state_dir=tmp_path / "noise",
                    ) as client:
                        reply = await client.ask(f"hello over {protocol}")
                    assert reply.text == f"you said hello over {protocol}, turn 1"
            process.send_signal(signal.SIGINT)
            with anyio.fail_after(10):
                assert await process.wait() == 130
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def test_the_hub_reconnects_to_a_restarted_bus(
    anyio_backend: Any, peer_dir: Path, hub_tls: HubTLS, tmp_path: Path
) -> None:
    with OvosBus(peer_dir, tmp_path / "bus") as bus:
        async with LocalHub(
            tmp_path / "hub", ssl_context=hub_tls.server_context, ovos_bus=bus.url
        ) as hub:
            assert hub.ovos_agent is not None
            identity = hub.register_client("kiosk")
            async with AsyncThalovantClient(
                identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "noise"
            ) as client:
                with anyio.fail_after(20):
                    before = await client.ask("before the restart")
                await anyio.to_thread.run_sync(bus.restart_bus)
                # The hub and the responder both reconnect on their own; until the
                # responder is back an ask goes unanswered (a timeout), so try a few times.
                after = None
                with anyio.fail_after(90):
                    while after is None:
                        try:
                            after = await client.ask("after the restart", timeout=5)
                        except ThalovantTimeoutError:
                            continue
            assert hub.ovos_agent.connected
    assert before.text == "you said before the restart, turn 1"
    assert after.text.startswith("you said after the restart, turn ")
