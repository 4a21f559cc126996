"""Hub management, the status mapping, pagination, retries, proxies and the blocking facade of
the whole control plane, against the local control plane over real HTTPS. The 429 and 5xx
answers are real ones, armed with the local control plane's test-only fault knob."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.errors import (
    ThalovantAPIError,
    ThalovantAPIUnreachableError,
    ThalovantAuthError,
    ThalovantUnsupportedProtocolError,
)
from thalovant.hub import LocalHub
from thalovant.hub.control.resources import hub_id_for
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.sync.control import ThalovantControlPlane
from thalovant.testing import HubTLS

from .conftest import EMAIL, JOKE_SKILL, PASSWORD

pytestmark = pytest.mark.anyio


async def test_hub_management(api: AsyncThalovantControlPlane, hub: LocalHub) -> None:
    key = "create-hub-once"
    made = await api.create_hub({"name": "garden", "title": "Garden"}, idempotency_key=key)
    again = await api.create_hub({"name": "garden", "title": "Garden"}, idempotency_key=key)
    assert made == again
    assert made["status"] == "planned"
    assert [h["slug"] async for h in api.iter_hubs(limit=1)] == ["local-hub", "garden"]

    served = await api.get_hub(hub_id_for(hub))
    edited = await api.update_hub(served["id"], {"title": "Kitchen hub"}, etag=served["etag"])
    assert edited["title"] == "Kitchen hub"
    assert edited["etag"] != served["etag"]
    public = await api.get_public_hub(hub_ref="local-hub")
    assert public["title"] == public["spec"]["catalog"]["title"] == "Kitchen hub"

    rated = await api.set_hub_rating(served["id"], 4)
    assert (rated["rating"], rated["average"], rated["count"]) == (4, 4.0, 1)
    cleared = await api.clear_hub_rating(served["id"])
    assert (cleared["rating"], cleared["count"]) == (None, 0)

    release = await api.release_hub(served["id"], channel="stable", version="1.2", images={})
    assert release["operation"]["kind"] == "hub.release"
    assert (await api.wait_for_operation(release["operation"], timeout=5)).is_ready

    caps = await api.get_hub_runtime_capabilities(served["id"])
    assert caps["source"] == "local-hub"
    assert JOKE_SKILL in caps["skills"]
    assert caps["protocols"]["wss"] is True

    await api.delete_hub(made["id"], etag=made["etag"])
    with pytest.raises(ThalovantAPIError) as gone:
        await api.get_hub(made["id"])
    assert gone.value.status_code == 404


async def test_require_runtime_protocol(api: AsyncThalovantControlPlane, hub: LocalHub) -> None:
    result = await api.create_client_identity(hub_id_for(hub), name="picky")
    assert api.require_runtime_protocol(result) == ("wss", hub.wss_url)
    assert api.require_runtime_protocol(result, protocol="https")[0] == "https"
    with pytest.raises(ThalovantUnsupportedProtocolError):
        api.require_runtime_protocol(result, protocol="mqtt")  # this hub runs no broker


async def test_status_mapping(
    api: AsyncThalovantControlPlane, control: LocalControlPlane, hub: LocalHub, hub_tls: HubTLS
) -> None:
    served = await api.get_hub(hub_id_for(hub))
    async with AsyncThalovantControlPlane(
        control.api_url, access_token="tvpat_" + "x" * 43, ssl_context=hub_tls.client_context
    ) as forged:
        with pytest.raises(ThalovantAuthError) as unauthorized:
            await forged.list_runtime_groups()
    async with AsyncThalovantControlPlane(
        control.api_url, ssl_context=hub_tls.client_context
    ) as reader:
        await reader.login(EMAIL, PASSWORD, scope="hubs:read")
        with pytest.raises(ThalovantAuthError) as forbidden:
            await reader.create_runtime_group({"name": "nope"})
    with pytest.raises(ThalovantAPIError) as missing:
        await api.get_runtime_group("rg_missing")
    with pytest.raises(ThalovantAPIError) as conflict:
        await api.delete_hub(served["id"], etag=served["etag"])
    with pytest.raises(ThalovantAPIError) as stale:
        await api.update_hub(served["id"], {"title": "x"}, etag='"stale"')
    with pytest.raises(ThalovantAPIError) as invalid:
        await api.set_hub_rating(served["id"], 9)
    control.faults.add(429, path="/memory", retry_after=60)  # longer than we wait: not retried
    with pytest.raises(ThalovantAPIError) as limited:
        await api.list_memory_items()
    got = {
        e.value.status_code: (type(e.value), e.value.code)
        for e in (unauthorized, forbidden, missing, conflict, stale, invalid, limited)
    }
    assert got == {
        401: (ThalovantAuthError, "invalid_token"),
        403: (ThalovantAuthError, "insufficient_scopes"),
        404: (ThalovantAPIError, "runtime_group_not_found"),
        409: (ThalovantAPIError, "hub_in_use"),
        412: (ThalovantAPIError, "precondition_failed"),
        422: (ThalovantAPIError, "invalid_rating"),
        429: (ThalovantAPIError, "rate_limited"),
    }
    assert limited.value.retry_after_seconds == 60
    assert str(limited.value).startswith("Thalovant API request failed with HTTP 429")


async def test_idempotent_calls_are_retried_on_429_and_5xx(
    api: AsyncThalovantControlPlane, control: LocalControlPlane, hub: LocalHub
) -> None:
    faults = control.faults
    busy = faults.add(503, method="GET", path="/skills", times=2)
    limited = faults.add(429, method="GET", path="/skills", retry_after=0.2)
    began = time.monotonic()
    skills = await api.list_hub_skills(hub_id_for(hub))
    assert skills.get(JOKE_SKILL) is not None
    assert (busy.hits, limited.hits) == (2, 1)
    assert time.monotonic() - began >= 0.2  # the Retry-After was honoured

    # a create whose answer is lost: the retry carries the same Idempotency-Key
    lost = faults.add(502, method="POST", path="/runtime-groups", after=True)
    group = await api.create_runtime_group({"name": "only-once"})
    assert lost.hits == 1
    names = [g["name"] async for g in api.iter_runtime_groups()]
    assert names.count("only-once") == 1
    assert (await api.get_runtime_group(group["id"]))["name"] == "only-once"

    # not idempotent (a merging PATCH): one try, the error as answered
    faults.add(503, method="PATCH", path="/config")
    with pytest.raises(ThalovantAPIError) as once:
        await api.update_runtime_group_config("rg_local", {"language": "en-us"})
    assert once.value.status_code == 503
    assert (await api.get_runtime_group_config("rg_local"))["config"]["language"] is None

    # retries are bounded
    faults.add(500, method="GET", path="/marketplace", times=100)
    with pytest.raises(ThalovantAPIError) as exhausted:
        await api.list_marketplace_skills()
    assert exhausted.value.status_code == 500
    assert faults.hits == 2 + 1 + 1 + 1 + api.retry_attempts


async def test_reads_of_the_first_families_are_retried_too(
    api: AsyncThalovantControlPlane, control: LocalControlPlane, hub: LocalHub
) -> None:
    control.faults.add(503, method="GET", path="/hubs", times=2)
    control.faults.add(502, method="GET", path="/users/profile")
    control.faults.add(500, method="GET", path="/clients")
    assert [h["id"] for h in (await api.list_hubs())["data"]] == [hub_id_for(hub)]
    assert (await api.get_profile())["email"] == EMAIL
    assert (await api.list_clients())["data"] == []
    assert control.faults.hits == 4


async def test_pagination(api: AsyncThalovantControlPlane, hub: LocalHub) -> None:
    for n in range(4):
        await api.create_runtime_group({"name": f"group-{n}"})
    first = await api.list_runtime_groups(limit=2)
    assert len(first["data"]) == 2
    assert first["meta"]["next"]
    second = await api.list_runtime_groups(limit=2, cursor=first["meta"]["next"])
    assert {g["id"] for g in first["data"]}.isdisjoint(g["id"] for g in second["data"])
    every = [g["name"] async for g in api.iter_runtime_groups(limit=2)]
    assert every == ["local", "group-0", "group-1", "group-2", "group-3"]
    skills = [s["skill_id"] async for s in api.iter_marketplace_skills(limit=4)]
    assert sorted(skills) == [e.name for e in hub.marketplace.entries()]
    assert len(skills) > 4
    assert JOKE_SKILL in skills


async def test_proxy_settings_come_from_the_environment(
    control: LocalControlPlane, hub_tls: HubTLS, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a proxy that is not there: calls through it fail, NO_PROXY lets loopback through
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with AsyncThalovantControlPlane(
        control.api_url, ssl_context=hub_tls.client_context
    ) as proxied:
        proxied.retry_attempts = 1
        with pytest.raises(ThalovantAPIUnreachableError):
            await proxied.list_public_hubs()
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    async with AsyncThalovantControlPlane(
        control.api_url, ssl_context=hub_tls.client_context
    ) as direct:
        assert (await direct.list_public_hubs())["data"]


async def test_blocking_facade(control: LocalControlPlane, hub: LocalHub, hub_tls: HubTLS) -> None:
    def flow() -> tuple[str, list[str | None], int]:
        statuses: list[str | None] = []
        with ThalovantControlPlane(control.api_url, ssl_context=hub_tls.client_context) as cp:
            cp.login(EMAIL, PASSWORD)
            hub_id = cp.list_hubs()["data"][0]["id"]
            done = cp.remove_hub_skill(
                hub_id,
                JOKE_SKILL,
                wait=True,
                progress=lambda op: statuses.append(op.status),
                poll_interval=0.02,
            )
            cp.create_memory_item({"content": "from the sync facade"})
            items = list(cp.iter_memory_items(limit=1))
            return done.state, statuses, len(items)

    with anyio.fail_after(30):
        state, statuses, items = await anyio.to_thread.run_sync(flow)
    assert state == "ready"
    assert statuses[-1] == "ready"
    assert items == 1
    assert hub.runtime.get(JOKE_SKILL) is None


def test_new_public_names(tmp_path: Path) -> None:
    import thalovant

    for name in ("HubSkill", "HubSkillList", "HubSkillOperation", "DeviceLoginRequest"):
        assert getattr(thalovant, name).__module__ == "thalovant.control.skill_models"
