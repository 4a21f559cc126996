"""Hub skills, runtime groups, the marketplace and memory items against the local control
plane over real HTTPS: every change shows in what the hub really answers."""

from __future__ import annotations

import anyio
import pytest

from thalovant.client.client import AsyncThalovantClient
from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.control.models import OperationResource
from thalovant.control.skill_models import HubSkillList, HubSkillOperation
from thalovant.errors import ThalovantAPIError, ThalovantUnansweredError
from thalovant.hub import HubSkill, LocalHub, SkillContext
from thalovant.hub.control.resources import hub_id_for
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.hub.responder.demo import DEMO_JOKES
from thalovant.hub.responder.marketplace import DEMO_SKILL_VERSION

from .conftest import JOKE, JOKE_SKILL

pytestmark = pytest.mark.anyio

ORDER = ["requested", "committed", "applied", "ready"]


async def test_list_hub_skills_shows_the_running_skills(
    api: AsyncThalovantControlPlane, hub: LocalHub
) -> None:
    skills = await api.list_hub_skills(hub_id_for(hub))
    assert isinstance(skills, HubSkillList)
    assert skills.hub_id == hub_id_for(hub)
    assert {s.skill for s in skills} == {s.name for s in hub.runtime.skills}
    joke = skills.get(JOKE_SKILL)
    assert joke is not None
    assert (joke.state, joke.version, joke.source_type) == (
        "installed",
        DEMO_SKILL_VERSION,
        "catalog",
    )
    assert joke.latest_version == DEMO_SKILL_VERSION
    assert not joke.update_available
    assert skills.as_dict()["data"][0]["skill"]


async def test_remove_then_install_with_progress_changes_the_answers(
    api: AsyncThalovantControlPlane,
    control: LocalControlPlane,
    hub: LocalHub,
    asker: AsyncThalovantClient,
) -> None:
    control.state.skills.step_seconds = 0.4  # each status lasts many polls, even under load
    hub_id = hub_id_for(hub)
    assert (await asker.ask(JOKE)).text in DEMO_JOKES
    seen: list[str | None] = []

    async def progress(op: OperationResource) -> None:
        seen.append(op.status)

    with anyio.fail_after(20):
        removed = await api.remove_hub_skill(
            hub_id, JOKE_SKILL, wait=True, progress=progress, poll_interval=0.02
        )
    assert isinstance(removed, HubSkillOperation)
    assert (removed.state, removed.previous_version) == ("ready", DEMO_SKILL_VERSION)
    assert removed.operation is not None
    assert removed.operation.kind == "hub.skill.remove"
    assert seen == ORDER  # every status, in order, once each
    assert hub.runtime.get(JOKE_SKILL) is None
    with pytest.raises(ThalovantUnansweredError):
        await asker.ask(JOKE)

    accepted = await api.install_hub_skill(hub_id, JOKE_SKILL)  # no wait: 202 at once
    assert accepted.state == "requested"
    assert accepted.version == DEMO_SKILL_VERSION
    with anyio.fail_after(20):
        done = await api.wait_for_operation(accepted.operation_id, timeout=20)
    assert done.is_ready
    assert (await asker.ask(JOKE)).text in DEMO_JOKES
    history = [h async for h in api.iter_hub_skill_history(hub_id, limit=1)]
    assert [(h["action"], h["state"]) for h in history] == [
        ("install", "ready"),
        ("remove", "ready"),
    ]


async def test_install_and_update_a_skill_a_user_published(
    api: AsyncThalovantControlPlane, hub: LocalHub, asker: AsyncThalovantClient
) -> None:
    def weather(text: str) -> HubSkill:
        async def handler(ctx: SkillContext) -> None:
            await ctx.speak(text)

        return HubSkill("weather", handler, match=r"\bweather\b", description="the weather")

    hub.marketplace.publish(weather("Sunny."), "1.0")
    hub.marketplace.publish(weather("Sunny, 21 degrees."), "1.10")
    hub.marketplace.publish(weather("Sunny, 21 degrees, light wind."), "1.9")
    hub_id = hub_id_for(hub)
    with pytest.raises(ThalovantUnansweredError):
        await asker.ask("How is the weather?")
    market = [s async for s in api.iter_marketplace_skills(limit=5)]
    assert next(s for s in market if s["skill_id"] == "weather")["versions"] == [
        "1.0",
        "1.9",
        "1.10",
    ]
    with anyio.fail_after(20):
        await api.install_hub_skill(hub_id, "weather", version="1.0", wait=True, poll_interval=0.02)
    assert (await asker.ask("How is the weather?")).text == "Sunny."
    listed = (await api.list_hub_skills(hub_id)).get("weather")
    assert listed is not None
    assert listed.update_available
    assert listed.latest_version == "1.10"
    with anyio.fail_after(20):
        updated = await api.update_hub_skill(
            hub_id, "weather", version="latest", wait=True, poll_interval=0.02
        )
    assert (updated.version, updated.previous_version) == ("1.10", "1.0")
    assert (await asker.ask("How is the weather?")).text == "Sunny, 21 degrees."


async def test_skill_change_errors(api: AsyncThalovantControlPlane, hub: LocalHub) -> None:
    hub_id = hub_id_for(hub)
    cases = [
        (api.install_hub_skill(hub_id, "no-such-skill"), 404, "skill_not_found"),
        (api.install_hub_skill(hub_id, JOKE_SKILL, version="9.9"), 409, "skill_already_installed"),
        (api.update_hub_skill(hub_id, JOKE_SKILL, version="9.9"), 404, "version_not_found"),
        (api.remove_hub_skill(hub_id, "never-installed"), 404, "skill_not_installed"),
        (api.list_hub_skills("hub_nope"), 404, "hub_not_found"),
    ]
    for call, status, code in cases:
        with pytest.raises(ThalovantAPIError) as caught:
            await call
        assert (caught.value.status_code, caught.value.code) == (status, code)
    with pytest.raises(ThalovantAPIError) as stale:
        await api.update_hub_skill(hub_id, JOKE_SKILL, version="latest", etag='"stale"')
    assert stale.value.status_code == 412
    await api.remove_hub_skill(hub_id, "thalovant-demo.hello")
    with pytest.raises(ThalovantAPIError) as busy:
        await api.remove_hub_skill(hub_id, "thalovant-demo.hello")
    assert (busy.value.status_code, busy.value.code) == (409, "skill_change_pending")


async def test_runtime_group_config_is_applied_by_the_hub(
    api: AsyncThalovantControlPlane, hub: LocalHub, asker: AsyncThalovantClient
) -> None:
    groups = [g async for g in api.iter_runtime_groups(limit=1)]
    assert [g["id"] for g in groups] == ["rg_local"]
    assert groups[0]["hub_ids"] == [hub_id_for(hub)]
    config = await api.get_runtime_group_config("rg_local")
    assert config["config"] == {"language": None, "enabled_skills": None}

    await api.update_runtime_group_config(
        "rg_local", {"enabled_skills": ["thalovant-demo.hello"]}, etag=config["etag"]
    )
    assert "Hello" in (await asker.ask("hello there")).text
    with pytest.raises(ThalovantUnansweredError):
        await asker.ask(JOKE)
    skills = await api.list_hub_skills(hub_id_for(hub))
    joke = skills.get(JOKE_SKILL)
    assert joke is not None
    assert (joke.state, joke.active) == ("disabled", False)

    answer = await api.update_runtime_group_config("rg_local", {"language": "de-de"})
    assert answer["config"] == {"language": "de-de", "enabled_skills": ["thalovant-demo.hello"]}
    with pytest.raises(ThalovantUnansweredError):
        await asker.ask("hello there")  # asked in en-us
    caps = await api.get_hub_runtime_capabilities(hub_id_for(hub))
    assert caps["source"] == "local-hub"
    assert caps["languages"] == ["de-de"]

    with pytest.raises(ThalovantAPIError) as stale:
        await api.update_runtime_group_config("rg_local", {}, etag=config["etag"])
    assert stale.value.status_code == 412
    with pytest.raises(ThalovantAPIError) as bad:
        await api.update_runtime_group_config("rg_local", {"language": 7})
    assert (bad.value.status_code, bad.value.code) == (422, "invalid_config")
    reset = await api.update_runtime_group_config("rg_local", {}, merge=False)
    assert reset["config"] == {"language": None, "enabled_skills": None}
    assert (await asker.ask(JOKE)).text in DEMO_JOKES


async def test_runtime_group_crud_and_inventory(
    api: AsyncThalovantControlPlane, hub: LocalHub, asker: AsyncThalovantClient
) -> None:
    group = await api.create_runtime_group(
        {"name": "kitchen", "description": "the kitchen", "config": {"language": "en-gb"}}
    )
    assert group["id"].startswith("rg_")
    assert group["hub_ids"] == []
    renamed = await api.update_runtime_group(group["id"], {"name": "galley"}, etag=group["etag"])
    assert renamed["name"] == "galley"
    assert renamed["etag"] != group["etag"]
    with pytest.raises(ThalovantAPIError) as stale:
        await api.update_runtime_group(group["id"], {"name": "x"}, etag=group["etag"])
    assert stale.value.status_code == 412
    with pytest.raises(ThalovantAPIError) as taken:
        await api.create_runtime_group({"name": "galley"})
    assert (taken.value.status_code, taken.value.code) == (409, "runtime_group_exists")

    entry = await api.install_runtime_group_skill(group["id"], JOKE_SKILL)
    assert (entry["skill_id"], entry["version"]) == (JOKE_SKILL, DEMO_SKILL_VERSION)
    inventory = await api.list_runtime_group_inventory(group["id"], refresh=True)
    assert [e["skill_id"] for e in inventory["data"]] == [JOKE_SKILL]
    market = await api.list_runtime_group_marketplace(group["id"], refresh_inventory=True)
    installed = {s["skill_id"] for s in market["data"] if s["installed"]}
    assert installed == {JOKE_SKILL}
    await api.uninstall_runtime_group_skill(group["id"], JOKE_SKILL)
    assert (await api.list_runtime_group_inventory(group["id"]))["data"] == []
    release = await api.release_runtime_group(group["id"], channel="stable", reason="test")
    assert release["operation"]["status"] == "ready"
    await api.delete_runtime_group(group["id"])
    with pytest.raises(ThalovantAPIError) as gone:
        await api.get_runtime_group(group["id"])
    assert gone.value.status_code == 404
    with pytest.raises(ThalovantAPIError) as in_use:
        await api.delete_runtime_group("rg_local")
    assert (in_use.value.status_code, in_use.value.code) == (409, "runtime_group_in_use")

    # the hub's own group: its inventory is the running hub
    await api.uninstall_runtime_group_skill("rg_local", JOKE_SKILL)
    with pytest.raises(ThalovantUnansweredError):
        await asker.ask(JOKE)
    await api.install_runtime_group_skill("rg_local", JOKE_SKILL, version_pin=DEMO_SKILL_VERSION)
    assert (await asker.ask(JOKE)).text in DEMO_JOKES
    local = await api.list_runtime_group_inventory("rg_local")
    assert JOKE_SKILL in {e["skill_id"] for e in local["data"]}


async def test_memory_items_reach_skills(
    api: AsyncThalovantControlPlane, hub: LocalHub, asker: AsyncThalovantClient
) -> None:
    @hub.skill("recall", match=r"\blist my memory items\b", priority=50)
    async def recall(ctx: SkillContext) -> None:
        await ctx.speak("; ".join(m["content"] for m in ctx.memory) or "Nothing.")

    assert (await asker.ask("List my memory items.")).text == "Nothing."
    tea = await api.create_memory_item({"content": "Likes green tea", "kind": "preference"})
    await api.create_memory_item({"content": "Lives in Lyon", "hubId": hub_id_for(hub)})
    await api.create_memory_item({"content": "Elsewhere", "hub_id": "hub_other"})
    assert (await asker.ask("List my memory items.")).text == "Lives in Lyon; Likes green tea"

    changed = await api.update_memory_item(
        tea["id"], {"content": "Likes black tea"}, etag=tea["etag"]
    )
    assert changed["content"] == "Likes black tea"
    with pytest.raises(ThalovantAPIError) as stale:
        await api.update_memory_item(tea["id"], {"content": "x"}, etag=tea["etag"])
    assert stale.value.status_code == 412
    assert (await api.get_memory_item(tea["id"]))["content"] == "Likes black tea"
    await api.delete_memory_item(tea["id"])
    assert (await asker.ask("List my memory items.")).text == "Lives in Lyon"
    with pytest.raises(ThalovantAPIError) as gone:
        await api.get_memory_item(tea["id"])
    assert gone.value.status_code == 404

    summary = await api.get_memory_summary()
    assert (summary["total"], summary["deleted"]) == (2, 1)
    assert summary["by_kind"] == {"fact": 2}
    found = await api.list_memory_items(query="lyon", hub_id=hub_id_for(hub))
    assert [i["content"] for i in found["data"]] == ["Lives in Lyon"]
    every = [i["content"] async for i in api.iter_memory_items(limit=1, include_deleted=True)]
    assert every == ["Likes black tea", "Lives in Lyon", "Elsewhere"]
    with pytest.raises(ThalovantAPIError) as bad:
        await api.create_memory_item({"content": ""})
    assert bad.value.status_code == 422


async def test_analytics_count_what_the_hub_answered(
    api: AsyncThalovantControlPlane, hub: LocalHub, asker: AsyncThalovantClient
) -> None:
    await asker.ask(JOKE)
    with pytest.raises(ThalovantUnansweredError):
        await asker.ask("Zyxwv qutsr?")
    overview = await api.get_analytics_overview(range="24h", bucket="hour")
    assert overview["totals"]["utterances"] == 2
    assert (overview["totals"]["answered"], overview["totals"]["unmatched"]) == (1, 1)
    assert overview["intents"] == [{"intent": JOKE_SKILL, "count": 1}]
    other = await api.get_analytics_overview(hub_id="hub_other")
    assert other["totals"]["utterances"] == 0
