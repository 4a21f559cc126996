"""ThalovantClient without a hub: construction, guards and lifecycle on the real class."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from thalovant.errors import ThalovantRuntimeError, ThalovantUnsupportedProtocolError
from thalovant.identity.model import ThalovantIdentity
from thalovant.sync.client import ThalovantClient


@pytest.fixture
def identity() -> ThalovantIdentity:
    return ThalovantIdentity.from_mapping(
        {
            "access_key": "ak-1",
            "password": "pw-1",
            "default_master": "wss://127.0.0.1:1",
            "site_id": "site-1",
        }
    )


@pytest.fixture
def client(identity: ThalovantIdentity) -> Iterator[ThalovantClient]:
    made = ThalovantClient(identity, connect_timeout=0.5)
    yield made
    made.close()


def test_constructor_checks_arguments_at_once(identity: ThalovantIdentity) -> None:
    with pytest.raises(ThalovantRuntimeError, match="connect_timeout"):
        ThalovantClient(identity, connect_timeout=0)
    with pytest.raises(ThalovantUnsupportedProtocolError):
        ThalovantClient(identity, protocol="mqtt")


def test_construction_starts_nothing(client: ThalovantClient) -> None:
    assert client.state == "idle"
    assert client._loop.state == "idle"
    assert repr(client).startswith("<ThalovantClient site_id='site-1' protocol=wss")


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TV_ACCESS_KEY", "ak-env")
    monkeypatch.setenv("TV_PASSWORD", "pw-env")
    monkeypatch.setenv("TV_SITE_ID", "env-site")
    monkeypatch.setenv("TV_DEFAULT_MASTER", "wss://hub.example.com")
    client = ThalovantClient.from_env("TV_", connect_timeout=1.5)
    try:
        assert isinstance(client, ThalovantClient)
        assert client.identity.site_id == "env-site"
        assert client.options.connect_timeout == 1.5
    finally:
        client.close()


def test_no_io_call_runs_on_the_loop(client: ThalovantClient) -> None:
    info = client.connection_info()
    assert info.phase == client._loop.call(client._async.connection_info).phase
    assert client._loop.running


def test_foreign_loop_warning_names_the_async_client(
    client: ThalovantClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="thalovant.sync")

    async def in_a_coroutine() -> None:
        client.connection_info()
        client.connection_info()

    asyncio.run(in_a_coroutine())
    messages = [r.getMessage() for r in caplog.records if r.name == "thalovant.sync"]
    assert len(messages) == 1
    assert "ThalovantClient.connection_info() was called from a running event loop" in messages[0]
    assert "use AsyncThalovantClient" in messages[0]


def test_predicate_calling_the_client_is_refused(client: ThalovantClient) -> None:
    outcome: list[BaseException] = []

    def predicate(event: object) -> bool:
        try:
            client.connection_info()
        except ThalovantRuntimeError as exc:
            outcome.append(exc)
        return False

    # A predicate runs on the loop; call it there the way the bus would.
    client._loop.call_sync(predicate, None)
    assert "own event loop thread" in str(outcome[0])
    assert "AsyncThalovantClient" in str(outcome[0])


def test_async_handler_is_refused(client: ThalovantClient) -> None:
    async def handler(event: object) -> None:
        pass  # pragma: no cover

    with pytest.raises(ThalovantRuntimeError, match="plain function"):
        client.on("speak", handler)


def test_close_is_final_and_idempotent(client: ThalovantClient) -> None:
    client.connection_info()
    thread = client._loop.thread
    assert thread is not None
    client.close()
    client.close()
    assert not thread.is_alive()
    with pytest.raises(ThalovantRuntimeError, match="ThalovantClient is closed"):
        client.connection_info()
    with pytest.raises(ThalovantRuntimeError, match="is closed"):
        client.conversation()
