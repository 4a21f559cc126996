"""The ``thalovant.testing`` pytest plugin: ``local_hub`` and ``hub_tls`` as a user sees them."""

from __future__ import annotations

import ssl

import pytest

from thalovant.hub import LocalHub, SkillContext
from thalovant.testing import HubTLS

from .raw_client import RawClient, spoken

pytestmark = pytest.mark.anyio


def test_hub_tls(hub_tls: HubTLS) -> None:
    assert hub_tls.ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert hub_tls.client_context.verify_mode == ssl.CERT_REQUIRED
    assert hub_tls.client_context.check_hostname


async def test_local_hub_fixture(local_hub: LocalHub, hub_tls: HubTLS) -> None:
    assert local_hub.running
    assert local_hub.wss_url.startswith("wss://127.0.0.1:")

    @local_hub.skill("greet-by-name", match=r"my name is (\w+)")
    async def greet(ctx: SkillContext) -> None:
        assert ctx.match is not None
        await ctx.speak(f"Nice to meet you, {ctx.match.group(1)}.")

    identity = local_hub.register_client("pytest", access_key="ak-pytest", password="pw-pytest")
    client = await RawClient.connect(
        identity.default_master,
        access_key=identity.access_key,
        password=identity.password,
        ssl=hub_tls.client_context,
        site_id=identity.site_id,
    )
    try:
        assert spoken(await client.ask("my name is Ada")) == ["Nice to meet you, Ada."]
    finally:
        await client.aclose()


def test_plugin_is_registered(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("thalovant")


async def test_local_hub_fixture_has_the_fallback_on(local_hub: LocalHub) -> None:
    assert local_hub.fallback


@pytest.mark.thalovant_hub(fallback=False)
async def test_the_marker_switches_the_fallback_off(local_hub: LocalHub, hub_tls: HubTLS) -> None:
    assert not local_hub.fallback
    identity = local_hub.register_client("pytest", access_key="ak-pytest", password="pw-pytest")
    client = await RawClient.connect(
        identity.default_master,
        access_key=identity.access_key,
        password=identity.password,
        ssl=hub_tls.client_context,
        site_id=identity.site_id,
    )
    try:
        messages = await client.ask("reticulate the splines")
    finally:
        await client.aclose()
    assert [m.type for m in messages] == ["ovos.intent.unmatched", "ovos.utterance.handled"]
