"""``intents()``/``list_intents()``/``describe_intent()`` on the async client, the sync
facade and conversations, answered by the local hub from its registered skills."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import ThalovantPolicyDeniedError
from thalovant.sync.client import ThalovantClient
from thalovant.testing import HubTLS

from .conftest import CliHub

pytestmark = pytest.mark.anyio


async def test_async_client_and_conversation(
    cli_hub: CliHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    @cli_hub.hub.skill(
        "weather", match="weather|rain", examples=["what is the weather", "is it raining"]
    )
    async def weather(ctx: object) -> None:  # pragma: no cover - not asked here
        return None

    async with AsyncThalovantClient(
        cli_hub.identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "n"
    ) as client:
        regs = await client.list_intents("en-us")
        assert any(
            r.skill_id == "weather" and r.samples == ("what is the weather", "is it raining")
            for r in regs
        )
        defs = await client.describe_intent("weather", "weather.intent")
        assert [d.samples for d in defs] == [("what is the weather", "is it raining")]
        assert await client.describe_intent("no-such-skill", "x.intent") == []
        inventory = await client.intents(["en-us"])
        weather_intents = next(s for s in inventory.skills if s.skill_id == "weather").intents
        assert weather_intents[0].examples("en-us", 1) == ("what is the weather",)
        chat = client.conversation(lang="en-us")
        assert (await chat.intents()).listed_in == ("en-us",)
        assert await chat.list_intents()
        assert await chat.describe_intent("weather", "weather.intent")


async def test_sync_facade(cli_hub: CliHub, hub_tls: HubTLS, tmp_path: Path) -> None:
    def blocking() -> tuple[int, int, int]:
        with ThalovantClient(
            cli_hub.identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "n"
        ) as client:
            inventory = client.intents()
            chat = client.conversation()
            return (
                len(inventory.intents),
                len(client.list_intents()),
                len(chat.describe_intent("thalovant-demo.hello", "thalovant-demo.hello.intent")),
            )

    n_intents, n_regs, n_defs = await anyio.to_thread.run_sync(blocking)
    assert n_intents == n_regs > 5
    assert n_defs == 1


async def test_denied_and_fallback(cli_hub: CliHub, hub_tls: HubTLS, tmp_path: Path) -> None:
    allowed = ["recognizer_loop:utterance", "intent.service.padatious.manifest.get"]
    restricted = cli_hub.hub.register_client("manifests-only", allowed_types=allowed)
    async with AsyncThalovantClient(
        restricted, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "r"
    ) as client:
        with pytest.raises(ThalovantPolicyDeniedError):
            await client.list_intents(timeout=10)
        with pytest.raises(ThalovantPolicyDeniedError):
            await client.intents(fallback=False, timeout=10)
        inventory = await client.intents(timeout=10)
    assert inventory.source == "engine-manifests"
    assert "ovos.intent.list" in inventory.denied
    assert "intent.service.adapt.manifest.get" in inventory.denied
    assert inventory.intents
    assert not inventory.has_phrases
