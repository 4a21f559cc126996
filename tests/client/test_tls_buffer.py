"""The WSS carrier trims asyncio's 256 KiB TLS read buffer; large messages still flow."""

from __future__ import annotations

import asyncio
import secrets

import anyio
import pytest

from thalovant.carriers.tls import TLS_READ_BUFFER_BYTES, trim_tls_read_buffer
from thalovant.client.client import AsyncThalovantClient
from thalovant.hub import LocalHub
from thalovant.hub.responder.skills import SkillContext
from thalovant.models.types import ThalovantEvent

from .conftest import ClientFactory, register

pytestmark = pytest.mark.anyio


def test_trim_ignores_what_it_does_not_know() -> None:
    assert trim_tls_read_buffer(None) is False

    class Plain(asyncio.BaseTransport):
        pass

    assert trim_tls_read_buffer(Plain()) is False


async def test_large_messages_cross_a_trimmed_buffer(
    hub: LocalHub, make_client: ClientFactory
) -> None:
    big = secrets.token_hex(300 * 1024)  # 600 KB of text, far beyond the 32 KiB buffer

    @hub.on_bus("test.echo")
    async def echo(ctx: SkillContext) -> None:
        text = ctx.data["text"]
        await ctx.emit("test.echo.response", {"text": text, "length": len(text)})

    identity = register(hub, allowed_types=["test.echo", "recognizer_loop:utterance"])
    client: AsyncThalovantClient = make_client(identity)
    await client.connect(timeout=10)
    link = client._runtime.link
    assert link is not None
    transport = link._carrier._ws.transport  # type: ignore[attr-defined]
    assert len(transport._ssl_protocol._ssl_buffer) == TLS_READ_BUFFER_BYTES
    assert trim_tls_read_buffer(transport) is True  # idempotent

    got: list[dict[str, object]] = []
    arrived = anyio.Event()

    def collect(event: ThalovantEvent) -> None:
        got.append(event.data)
        arrived.set()

    client.on("test.echo.response", collect)
    await client.emit("test.echo", {"text": big})
    with anyio.fail_after(10):
        await arrived.wait()
    assert got[0]["length"] == len(big)
    assert got[0]["text"] == big
