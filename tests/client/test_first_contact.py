"""First contact under load (issue #11, 2): the PSK queue holds no worker thread, pins and
key files never wait behind Argon2id, the caller's connect budget is the one that counts, and
the hub derives each registered client's PSK once.

The hubs here get their own :class:`PskDeriver` whose KDF the test controls (the documented
``derive=`` hook); the clients use the process-wide deriver and real Argon2id.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import pytest
from websockets.asyncio.client import connect as ws_connect

from thalovant.carriers.base import authorization_token, authorized_url
from thalovant.client.client import AsyncThalovantClient
from thalovant.hub import LocalHub
from thalovant.protocol.psk import PskDeriver, derive_psk
from thalovant.testing import HubTLS

from .conftest import NODE_ID

pytestmark = pytest.mark.anyio

FLOOD = "flood-"


class HeldKdf:
    """Real Argon2id, except that passwords starting with :data:`FLOOD` (or ``slow``) wait
    for :attr:`release`. Counts every call; tells the loop when a held one started."""

    def __init__(self, loop: asyncio.AbstractEventLoop, slow: str | None = None) -> None:
        self.release = threading.Event()
        self.entered = anyio.Event()
        self.calls = 0
        self._slow = slow
        self._loop = loop
        self._lock = threading.Lock()

    def __call__(self, password: str, node_id: str) -> bytes:
        with self._lock:
            self.calls += 1
        if password.startswith(FLOOD) or password == self._slow:
            self._loop.call_soon_threadsafe(self.entered.set)
            self.release.wait(60)
            if password.startswith(FLOOD):
                return hashlib.sha256(password.encode()).digest()  # never used: not a wire PSK
        return derive_psk(password, node_id)


@pytest.fixture
async def held_hub(
    anyio_backend: str, hub_tls: HubTLS, tmp_path: Path
) -> AsyncIterator[tuple[LocalHub, HeldKdf]]:
    kdf = HeldKdf(asyncio.get_running_loop(), slow="slow-password")
    deriver = PskDeriver(max_concurrent=1, derive=kdf)
    try:
        async with LocalHub(
            tmp_path / "held-hub",
            ssl_context=hub_tls.server_context,
            node_id=NODE_ID + "-held",
            psk_deriver=deriver,
            mqtt_broker=None,
        ) as hub:
            yield hub, kdf
    finally:
        kdf.release.set()


def _client(
    hub_tls: HubTLS, tmp_path: Path, identity: object, **options: object
) -> AsyncThalovantClient:
    return AsyncThalovantClient(
        identity,  # type: ignore[arg-type]
        ssl_context=hub_tls.client_context,
        noise_state_dir=tmp_path / f"noise-{secrets.token_hex(4)}",
        **options,  # type: ignore[arg-type]
    )


async def test_a_queue_of_derivations_starves_no_thread_and_no_pin_write(
    held_hub: tuple[LocalHub, HeldKdf], hub_tls: HubTLS, tmp_path: Path
) -> None:
    hub, kdf = held_hub
    probe = hub.register_client("probe")
    # The hub knows the probe's PSK already: its first contact needs no derivation at the
    # hub, only the hub's pin write and the client's key files (worker threads).
    hub.services.psk_deriver.get(probe.access_key, probe.password, hub.node_id)
    flood = [
        hub.register_client(f"f{n}", password=f"{FLOOD}{n}", access_key=f"ak-flood-{n}")
        for n in range(60)
    ]
    client = _client(hub_tls, tmp_path, probe)
    async with AsyncExitStack() as stack:
        for identity in flood:  # 60 first contacts whose PSKs the hub has to derive
            url = authorized_url(hub.wss_url, authorization_token("flood", identity.access_key))
            await stack.enter_async_context(ws_connect(url, ssl=hub_tls.client_context))
        with anyio.fail_after(10):
            await kdf.entered.wait()  # one derivation runs and holds; 59 are queued
        try:
            with anyio.fail_after(5):  # a trivial worker-thread call is not queued behind them
                await anyio.to_thread.run_sync(lambda: None)
            with anyio.fail_after(15):  # nor is a first contact (client files, hub pin)
                await client.connect()
                reply = await client.ask("hello")
            assert reply.text
            assert hub.client(probe.access_key).client_key is not None  # pinned
            assert hub.services.psk_deriver.pending >= 1  # the flood is still waiting
        finally:
            kdf.release.set()
            await client.close()


async def test_the_connect_budget_given_is_the_one_that_counts(
    held_hub: tuple[LocalHub, HeldKdf], hub_tls: HubTLS, tmp_path: Path
) -> None:
    hub, kdf = held_hub
    identity = hub.register_client("slow", password="slow-password")
    # The hub takes longer to derive this client's PSK than the client's handshake timeout.
    client = _client(hub_tls, tmp_path, identity, handshake_timeout=0.3)
    try:
        async with anyio.create_task_group() as tg:

            async def release_later() -> None:
                await kdf.entered.wait()
                await anyio.sleep(1.0)  # well past handshake_timeout
                kdf.release.set()

            tg.start_soon(release_later)
            with anyio.fail_after(30):
                await client.connect(timeout=25)  # the caller waits longer: so does the dial
                assert (await client.ask("hello")).text
    finally:
        await client.close()


async def test_the_hub_derives_each_registered_client_once(hub_tls: HubTLS, tmp_path: Path) -> None:
    kdf_calls: list[str] = []
    lock = threading.Lock()

    def counting(password: str, node_id: str) -> bytes:
        with lock:
            kdf_calls.append(password)
        return derive_psk(password, node_id)

    # A deriver cache smaller than the number of clients: the hub's own cache must hold
    # every registered client anyway.
    deriver = PskDeriver(cache_size=1, derive=counting)
    async with LocalHub(
        tmp_path / "hub",
        ssl_context=hub_tls.server_context,
        node_id=NODE_ID + "-many",
        psk_deriver=deriver,
        mqtt_broker=None,
    ) as hub:
        identities = [hub.register_client(f"c{n}") for n in range(3)]
        folders = [tmp_path / f"noise-{n}" for n in range(3)]
        with anyio.fail_after(60):
            for _round in range(2):  # first contact (XX), then pinned (KK)
                for identity, folder in zip(identities, folders, strict=True):
                    client = AsyncThalovantClient(
                        identity, ssl_context=hub_tls.client_context, noise_state_dir=folder
                    )
                    try:
                        await client.connect()
                    finally:
                        await client.close()
                assert len(kdf_calls) == 3
        assert hub.services.psks.derivations == 3
        assert len(hub.services.psks) == 3
