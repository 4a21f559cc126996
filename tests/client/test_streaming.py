"""``ask_stream`` against the local hub over every carrier: items arrive as the hub speaks,
the final reply afterwards, the typed errors of ``ask``, and early exit releases the request
(docs/architecture.md, the data flow of ``ask``; thalovant/client/streaming.py)."""

from __future__ import annotations

import anyio
import pytest

from tests.client.conftest import ClientFactory, register
from thalovant.client.client import AsyncThalovantClient
from thalovant.client.streaming import AsyncThalovantReplyStream
from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantPolicyDeniedError,
    ThalovantTimeoutError,
    ThalovantUnansweredError,
)
from thalovant.hub import LocalHub
from thalovant.identity.model import ThalovantIdentity

pytestmark = pytest.mark.anyio

STORY_END = "The end."


async def _timed(stream: AsyncThalovantReplyStream) -> list[tuple[float, str]]:
    """Each item's text with the time the consumer received it."""
    return [(anyio.current_time(), event.text) async for event in stream]


async def test_story_arrives_as_three_spread_items(
    client: AsyncThalovantClient, protocol: str
) -> None:
    for _ in range(2):  # the first ask learns that the hub sends handled; both must stream
        with anyio.fail_after(10):
            async with client.ask_stream("tell me a story") as stream:
                assert stream.reply is None
                items = await _timed(stream)
                completed = anyio.current_time()
        assert [text for _, text in items][-1].endswith(STORY_END)
        assert len(items) == 3, items
        first, third = items[0][0], items[2][0]
        assert third - first >= 0.08, (protocol, items)
        assert third <= completed
        reply = stream.reply
        assert reply is not None
        assert reply.utterances == tuple(text for _, text in items)
        assert stream.received == 3
        assert client.bus.in_flight == 0
