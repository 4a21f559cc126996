"""Connecting: XX then KK, refusals, pins, timeouts, telemetry, loop binding, lifecycle."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import (
    ThalovantClientKeyRejectedError,
    ThalovantConnectionError,
    ThalovantConnectTimeoutError,
    ThalovantHubKeyChangedError,
    ThalovantHubRefusedError,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
)
from thalovant.hub import LocalHub
from thalovant.identity.keystore import NoiseKeyStore
from thalovant.identity.model import ThalovantIdentity
from thalovant.link import link
from thalovant.testing import HubTLS

from .conftest import ClientFactory, pin_id, register

pytestmark = pytest.mark.anyio


def with_changes(identity: ThalovantIdentity, **changes: Any) -> ThalovantIdentity:
    data = identity.as_dict(include_secrets=True)
    data.update(changes)
    return ThalovantIdentity.from_mapping(data)


async def test_first_contact_xx_then_pinned_kk(
    hub: LocalHub,
    make_client: ClientFactory,
    identity: ThalovantIdentity,
    tmp_path: Path,
    protocol: str,
) -> None:
    with anyio.fail_after(10):
        async with make_client(identity) as first:
            info = await first.connection_info()
        async with make_client(identity) as second:
            pinned = await second.connect_with_info()
            assert (await second.ask("hello")).text
    assert info.pattern == "XXpsk2"
    assert pinned.pattern == "KKpsk0"
    assert pinned.phase == "ready"
    assert pinned.connect_ms is not None
    assert pinned.handshake_ms is not None
    assert pinned.transport_open_ms is not None
    store = NoiseKeyStore(tmp_path / "noise")
    assert store.pinned_key(pin_id(identity, protocol)) == hub.public_key
    assert store.cached_psk(identity.access_key, hub.node_id, identity.password) is not None


async def test_wrong_password_is_refused(
    hub: LocalHub, make_client: ClientFactory, identity: ThalovantIdentity, tmp_path: Path
) -> None:
    bad = with_changes(identity, password="not-the-password")
    with anyio.fail_after(10):
        with pytest.raises(ThalovantHubRefusedError) as caught:
            await make_client(bad).connect()
        assert not isinstance(caught.value, ThalovantClientKeyRejectedError)
        async with make_client(identity):
            pass
        # The good identity's PSK is in the disk cache now; it must not serve the wrong
        # password: the pinned (KK) attempt derives from it, is refused, and so is the one
        # XX retry.
        retry = make_client(bad)
        with pytest.raises(ThalovantHubRefusedError):
            await retry.connect()
        assert (await retry.connection_info()).pattern == "XXpsk2"
    assert "not-the-password" not in str(caught.value)


async def test_wrong_password_with_a_cached_psk_is_refused(
    hub: LocalHub,
    make_client: ClientFactory,
    identity: ThalovantIdentity,
    tmp_path: Path,
    protocol: str,
) -> None:
    # Issue #11 (11): same key folder, a cached PSK, a wrong password: refused on every
    # carrier, and the good identity's cached PSK survives the refusal.
    bad = with_changes(identity, password="not-the-password")
    store = NoiseKeyStore(tmp_path / "noise")
    with anyio.fail_after(20):
        async with make_client(identity) as good:
            assert (await good.ask("hello")).text
        cached = store.cached_psk(identity.access_key, hub.node_id, identity.password)
        assert cached is not None
        wrong = make_client(bad)
        with pytest.raises(ThalovantHubRefusedError) as caught:
            await wrong.connect()
        assert not isinstance(caught.value, ThalovantClientKeyRejectedError)
        assert "not-the-password" not in str(caught.value)
        assert store.cached_psk(identity.access_key, hub.node_id, identity.password) == cached
        async with make_client(identity) as again:
            assert (await again.connect_with_info()).pattern == "KKpsk0"


async def test_wrong_access_key_is_refused(
    make_client: ClientFactory, identity: ThalovantIdentity
) -> None:
    stranger = with_changes(identity, access_key="nobody-knows-me")
    client = make_client(stranger)
    with anyio.fail_after(10), pytest.raises(ThalovantHubRefusedError, match="403") as caught:
        await client.connect()
    assert "nobody-knows-me" not in str(caught.value)
    assert "nobody-knows-me" not in repr(await client.connection_info())
    await client.close()


async def test_second_program_with_another_key_is_rejected(
    make_client: ClientFactory, identity: ThalovantIdentity, tmp_path: Path
) -> None:
    with anyio.fail_after(10):
        async with make_client(identity):
            pass
        other = make_client(identity, noise_state_dir=tmp_path / "other-program")
        with pytest.raises(ThalovantClientKeyRejectedError) as caught:
            await other.connect()
        assert caught.value.key_folder == str(tmp_path / "other-program")
        assert other.state == "idle"  # a refusal is never redialed
        await other.close()


async def test_client_key_rejection_within_default_window(
    make_client: ClientFactory,
    identity: ThalovantIdentity,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(link, "REFUSAL_SETTLE_SECONDS", 0.75)
    with anyio.fail_after(10):
        async with make_client(identity):
            pass
        other = make_client(identity, noise_state_dir=tmp_path / "other-program")
        with pytest.raises(ThalovantClientKeyRejectedError):
            await other.ask("hello")
        await other.close()


async def test_hub_key_changed(
    hub: LocalHub,
    make_client: ClientFactory,
    identity: ThalovantIdentity,
    tmp_path: Path,
    protocol: str,
) -> None:
    with anyio.fail_after(10):
        async with make_client(identity):
            pass
        hub.set_static_key()
        client = make_client(identity)
        with pytest.raises(ThalovantHubKeyChangedError):
            await client.connect()
        await client.close()
    store = NoiseKeyStore(tmp_path / "noise")
    assert store.pinned_key(pin_id(identity, protocol)) != hub.public_key  # never replaced


async def test_connect_to_nothing_fails_fast(hub_tls: HubTLS, tmp_path: Path) -> None:
    with socket_bound() as port:
        identity = ThalovantIdentity.from_mapping(
            {
                "access_key": "ak",
                "password": "pw",
                "site_id": "nowhere",
                "default_master": f"wss://127.0.0.1:{port}",
            }
        )
    client = AsyncThalovantClient(
        identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "noise"
    )
    with anyio.fail_after(5), pytest.raises(ThalovantConnectionError) as caught:
        await client.connect()
    assert "cannot open" in str(caught.value)
    assert (await client.connection_info()).phase == "error"
    health = await client.healthcheck(timeout=2)
    assert not health.ok
    assert health.last_error
    await client.close()


class socket_bound:
    """A free loopback port (nothing listens on it after the block)."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        port: int = self._sock.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


async def test_connect_deadline_against_a_silent_server(hub_tls: HubTLS, tmp_path: Path) -> None:
    async def silent(stream: Any) -> None:
        async with stream:
            await anyio.sleep_forever()

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    identity = ThalovantIdentity.from_mapping(
        {
            "access_key": "ak",
            "password": "pw",
            "site_id": "silent",
            "default_master": f"wss://127.0.0.1:{port}",
        }
    )
    client = AsyncThalovantClient(
        identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "noise"
    )
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, silent)
        with anyio.fail_after(5):
            started = anyio.current_time()
            with pytest.raises(ThalovantConnectTimeoutError) as caught:
                await client.connect(timeout=0.3)
            assert anyio.current_time() - started < 1.5
            assert isinstance(caught.value, ThalovantTimeoutError)
            # the abandoned attempt is cancelled, not left dialing
            await client.wait_closed()
            assert client.state == "idle"
        await client.close()
        tg.cancel_scope.cancel()


async def test_close_and_connect_again(
    make_client: ClientFactory, identity: ThalovantIdentity
) -> None:
    client = make_client(identity)
    with anyio.fail_after(10):
        await client.connect()
        first_session = client.session_id
        sub = client.on("speak", lambda event: None)
        await client.close()
        assert client.state == "closed"
        assert sub.closed
        await client.close()  # idempotent
        reply = await client.ask("hello")
        assert "Hello" in reply.text
        assert client.session_id not in (None, first_session)
        await client.close()


async def test_connected_and_wait_closed(
    make_client: ClientFactory, identity: ThalovantIdentity
) -> None:
    client = make_client(identity)
    with pytest.raises(ThalovantConnectionError):
        await client.connected()
    with anyio.fail_after(10):
        await client.connect()
        await client.connected()
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.wait_closed)
            await client.close()


async def test_healthcheck_and_secrets(client: AsyncThalovantClient) -> None:
    health = await client.healthcheck()
    assert health.ok
    assert health.connection is not None
    assert health.connection.phase == "ready"
    text = repr(client) + repr(await client.connection_info()) + repr(health.as_dict())
    assert client.identity.access_key not in text
    assert client.identity.password not in text
    assert "authorization" not in text


def test_wrong_loop_is_refused(tmp_path: Path) -> None:
    identity = ThalovantIdentity.from_mapping(
        {
            "access_key": "ak",
            "password": "pw",
            "site_id": "s",
            "default_master": "wss://127.0.0.1:9",
        }
    )
    client = AsyncThalovantClient(identity, noise_state_dir=tmp_path)

    async def first_use() -> None:
        client.on("speak", lambda event: None)

    async def second_use() -> None:
        await client.connect(timeout=1)

    asyncio.run(first_use())
    with pytest.raises(ThalovantRuntimeError, match="bound to the event loop it was first used on"):
        asyncio.run(second_use())


async def test_identity_file_keeps_noise_state_beside_it(
    hub: LocalHub, hub_tls: HubTLS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    identity = register(hub, "filed")
    path = tmp_path / "ids" / "kiosk.json"
    path.parent.mkdir()
    path.write_text(json.dumps(identity.as_dict(include_secrets=True)))
    os.chmod(path, 0o600)
    with anyio.fail_after(10):
        client = AsyncThalovantClient.from_identity_file(path, ssl_context=hub_tls.client_context)
        async with client:
            assert (await client.ask("hello")).text
    assert (tmp_path / "ids" / "hivemind" / "_identity.json").exists()
    assert not (tmp_path / "xdg" / "hivemind").exists()


async def test_from_env_and_from_config(
    identity: ThalovantIdentity, hub_tls: HubTLS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THALOVANT_ACCESS_KEY", identity.access_key)
    monkeypatch.setenv("THALOVANT_PASSWORD", identity.password)
    monkeypatch.setenv("THALOVANT_SITE_ID", "from-env")
    monkeypatch.setenv("THALOVANT_HUB_WSS_HOST", identity.endpoint_for("wss") or "")
    monkeypatch.setenv("THALOVANT_DEFAULT_MASTER", identity.default_master)
    options: dict[str, Any] = {
        "ssl_context": hub_tls.client_context,
        "noise_state_dir": tmp_path / "noise",
    }
    client = AsyncThalovantClient.from_env(**options)
    assert client.identity.site_id == "from-env"
    config = tmp_path / "config.yaml"
    config.write_text(
        "profiles:\n  kiosk:\n"
        + "".join(
            f"    {key}: {json.dumps(value)}\n"
            for key, value in identity.as_dict(include_secrets=True).items()
        )
    )
    os.chmod(config, 0o600)
    configured = AsyncThalovantClient.from_config(config, profile="kiosk", **options)
    with anyio.fail_after(10):
        async with client:
            assert (await client.ask("hello")).text
        async with configured:
            assert (await configured.ask("hello")).text
