"""The listing helpers, the inventory models and the inventory cache."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

import thalovant
from thalovant import (
    HubIntent,
    HubIntentInventory,
    HubSkillIntents,
    Intent,
    IntentDefinition,
    IntentRegistration,
    Inventory,
    InventoryCache,
    Skill,
    as_sentence,
    common_affix,
    friendly_title,
    humanize,
    languages_present,
    sort_key,
    speakable,
    strip_affix,
)
from thalovant.errors import ThalovantRuntimeError


def test_speakable_patterns() -> None:
    assert speakable("(what is|tell me) the weather [in {city}]") == "what is the weather in Paris"
    assert speakable("set a timer for {duration}", {"duration": "ten minutes"}) == (
        "set a timer for ten minutes"
    )
    assert speakable("wie spät ist es in {ort}", lang="de") == "wie spät ist es in ort"
    assert speakable("((a|b)|c) d") == "a d"
    assert speakable("  hello   there ") == "hello there"
    assert speakable("(" * 100 + "x" + ")" * 100)  # bounded, no crash


def test_sentences_and_names() -> None:
    assert as_sentence("what time is it") == "What time is it?"
    assert as_sentence("tell me a joke") == "Tell me a joke."
    assert as_sentence("wie spät ist es", "de-de") == "Wie spät ist es?"
    assert as_sentence("done!") == "Done!"
    assert as_sentence("   ") == ""
    assert humanize("WeatherForecast.intent") == "weather forecast"
    assert humanize("set_timer-now") == "set timer now"
    assert friendly_title("ovos-skill-date-time.openvoiceos") == "Date Time"
    assert friendly_title("skill-weather.openvoiceos") == "Weather"
    assert friendly_title("hello") == "Hello"


def test_affixes_and_sort_key() -> None:
    assert common_affix(["WeatherIntent", "TimeIntent"]) == ("suffix", "Intent")
    assert common_affix(["weather.intent", "time.intent"]) == ("suffix", ".intent")
    assert common_affix(["skill_weather", "skill_time"]) == ("prefix", "skill_")
    kind, token = common_affix(["thalovant-demo.hello", "thalovant-demo.time"])
    assert (kind, token) == ("prefix", "thalovant-demo.")
    assert strip_affix("thalovant-demo.hello", kind, token) == "hello"
    assert strip_affix("Intent", "suffix", "Intent") == "Intent"  # never empty
    assert common_affix(["one"]) == (None, "")
    assert common_affix(["alpha", "beta"]) == (None, "")
    names = ["intent10", "Intent2", "intent1", "1a", "a1"]
    assert sorted(names, key=sort_key) == ["1a", "a1", "intent1", "Intent2", "intent10"]


def test_registration_parsing_is_tolerant() -> None:
    reg = IntentRegistration.from_mapping(
        {"skill_id": "s", "name": "i", "engine": "padatious", "examples": ["hi", "hi", 3]}
    )
    assert reg is not None
    assert (reg.intent_name, reg.engine, reg.samples, reg.session_id) == (
        "i",
        "padatious",
        ("hi",),
        "default",
    )
    assert IntentRegistration.from_mapping({"skill_id": "s"}) is None
    assert IntentRegistration.from_mapping("nope") is None  # type: ignore[arg-type]
    definition = IntentDefinition.from_mapping(
        {"skill_id": "s", "intent_name": "i", "lang": "en-us", "method": "adapt", "samples": ["x"]}
    )
    assert definition is not None
    assert definition.engine == "adapt"


def test_hub_inventory_views() -> None:
    hello = HubIntent("s.hello", "hello.intent", "padatious", {"en-us": ("(hi|hello) there",)})
    inv = HubIntentInventory(
        ("en-us",), (HubSkillIntents("s.hello", (hello,)),), listed_in=("en-us",)
    )
    assert hello.id == "s.hello:hello.intent"
    assert hello.phrases_for("en-GB") == ("(hi|hello) there",)
    assert hello.examples("en-us", speakable=True, sentence=True) == ("Hi there.",)
    assert inv.intents == (hello,)
    assert inv.has_phrases
    assert inv.may_answer("en-au")
    assert not inv.may_answer("de-de")
    assert inv.as_dict()["skills"][0]["intents"][0]["phrases"] == {"en-us": ["(hi|hello) there"]}


def make_inventory() -> Inventory:
    intent = Intent("s:i", "i", "s", "padatious", {"en-us": ("hello",), "de-de": ("hallo",)})
    return Inventory(
        "hub", "Hub", "live", "2026-12-08T00:00:00Z", (Skill("s", "S", (), (intent,)),)
    )


def test_inventory_round_trip_and_languages() -> None:
    inv = make_inventory()
    back = Inventory.from_dict(inv.as_dict())
    assert back == inv
    assert back.live
    assert back.has_phrases
    assert languages_present(inv) == ("de-de", "en-us")
    assert back.intents[0].examples("de", 1) == ("hallo",)
    assert back.skills[0].speaks("en-gb") is True
    assert Skill("x", "X", (), ()).speaks("en") is None
    assert Inventory.from_dict({"skills": [{"nope": 1}, "x"]}).skills == ()


def test_inventory_cache(tmp_path: Path) -> None:
    cache = InventoryCache(tmp_path / "c", ttl=3600)
    key = InventoryCache.key("en-us", tmp_path / "me.json")
    assert key != InventoryCache.key("de-de", tmp_path / "me.json")
    assert cache.load(key) is None
    cache.store(key, make_inventory())
    path = cache.path(key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    loaded = cache.load(key)
    assert loaded is not None
    assert loaded.source == "cache"
    assert not loaded.live
    assert loaded.skills == make_inventory().skills
    old = time.time() - 7200
    os.utime(path, (old, old))
    assert cache.load(key) is None  # expired
    path.write_text("{broken")
    os.utime(path, None)
    assert cache.load(key) is None  # unreadable: None, not an error
    with pytest.raises(ThalovantRuntimeError):
        cache.path("../escape")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left


def test_names_are_public() -> None:
    for name in ("speakable", "InventoryCache", "ThalovantDoctorReport", "HubIntentInventory"):
        assert name in thalovant.__all__
