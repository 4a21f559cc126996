"""Errors reach callers as public classes only (docs/architecture.md, "Errors").

The layers below the client have their own internal signals (the carriers' ``CarrierClosed``,
the Noise layer's ``NoiseDecryptError``, the link's ``LinkDown`` and refusal signal). These
tests drive the error paths over real loopback sockets against the local hub (a refusal, a
dropped connection, a hub that went away, a tampered frame from the hub) and check that what
``connect``, ``ask`` and ``send_utterance`` raise is *exactly* a class of
:mod:`thalovant.errors`, never a subclass private to a layer.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import thalovant.errors as errors
from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantHubRefusedError,
    ThalovantProtocolError,
)
from thalovant.hub import LocalHub
from thalovant.identity.model import ThalovantIdentity

from .conftest import ClientFactory

pytestmark = pytest.mark.anyio

PUBLIC: frozenset[type] = frozenset(
    value
    for value in (getattr(errors, name) for name in errors.__all__)
    if isinstance(value, type) and issubclass(value, BaseException)
)


def assert_public(exc: BaseException, expected: type[BaseException]) -> None:
    assert type(exc) in PUBLIC, f"{type(exc).__module__}.{type(exc).__qualname__} escaped"
    assert isinstance(exc, expected)


class Tampered:
    """Stands in for the hub's send cipher: every transport message it encrypts arrives with
    its last byte flipped, so the client's decrypt fails to authenticate."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def encrypt(self, plaintext: bytes) -> bytes:
        out: bytes = self.inner.encrypt(plaintext)
        return out[:-1] + bytes([out[-1] ^ 1])


def test_the_public_set_is_the_exception_tree() -> None:
    assert ThalovantProtocolError in PUBLIC
    assert errors.ThalovantConnectTimeoutError in PUBLIC
    assert all(cls.__module__ == "thalovant.errors" for cls in PUBLIC)


@pytest.mark.parametrize("protocol", ["wss", "https", "mqtt"])
async def test_a_refusal_is_a_public_hub_refused_error(
    identity: ThalovantIdentity, make_client: ClientFactory, protocol: str
) -> None:
    data = identity.as_dict(include_secrets=True)
    data["password"] = "not-the-password"
    client = make_client(ThalovantIdentity.from_mapping(data), protocol=protocol)
    with anyio.fail_after(20), pytest.raises(ThalovantHubRefusedError) as caught:
        await client.connect()
    assert_public(caught.value, ThalovantHubRefusedError)


@pytest.mark.parametrize("protocol", ["wss", "https", "mqtt"])
async def test_a_drop_during_an_ask_is_a_public_connection_error(
    hub: LocalHub, identity: ThalovantIdentity, make_client: ClientFactory, protocol: str
) -> None:
    arrived = anyio.Event()

    @hub.on_bus("recognizer_loop:utterance")
    async def stall(ctx: object) -> None:
        arrived.set()
        await anyio.sleep_forever()

    client = make_client(identity, protocol=protocol, auto_reconnect=False)
    with anyio.fail_after(20):
        await client.connect()

        async def drop_when_asked() -> None:
            await arrived.wait()
            await hub.drop_connections(1011, "dropped by the test")

        async with anyio.create_task_group() as tg:
            tg.start_soon(drop_when_asked)
            with pytest.raises(ThalovantConnectionError) as caught:
                await client.ask("hello", timeout=15)
    assert_public(caught.value, ThalovantConnectionError)


async def test_sending_to_a_hub_that_went_away_is_a_public_connection_error(
    hub: LocalHub, identity: ThalovantIdentity, make_client: ClientFactory
) -> None:
    client = make_client(identity, auto_reconnect=False)
    with anyio.fail_after(20):
        await client.connect()
        await hub.aclose()
        with pytest.raises(ThalovantConnectionError) as caught:
            await client.send_utterance("hello")
    assert_public(caught.value, ThalovantConnectionError)


@pytest.mark.parametrize("protocol", ["wss", "https", "mqtt"])
async def test_a_tampered_frame_from_the_hub_is_a_public_protocol_error(
    hub: LocalHub, identity: ThalovantIdentity, make_client: ClientFactory, protocol: str
) -> None:
    client = make_client(identity, protocol=protocol, auto_reconnect=False)
    with anyio.fail_after(20):
        await client.connect()
        (session,) = hub.sessions
        channel = session._channel
        assert channel is not None
        channel._send = Tampered(channel._send)  # type: ignore[assignment]
        with pytest.raises(ThalovantConnectionError) as caught:
            await client.ask("hello", timeout=15)
    assert_public(caught.value, ThalovantProtocolError)
    assert "authenticate" in str(caught.value)
