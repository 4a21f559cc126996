"""Hub state on disk: the client registry and the static key / node id."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from thalovant.errors import ThalovantRuntimeError
from thalovant.hub.state.keys import HUB_KEY_FILE, HubKeys
from thalovant.hub.state.registry import ClientRecord, ClientRegistry
from thalovant.protocol.handshake import generate_static_private, x25519_public

KEY_A = "a" * 64
KEY_B = "b" * 64


def registry(tmp_path: Path) -> ClientRegistry:
    return ClientRegistry(tmp_path / "clients.json")


def test_registry_create_get_and_reload(tmp_path: Path) -> None:
    reg = registry(tmp_path)
    record = reg.create("kiosk", allowed_types=["a", "b", "a"], access_key="ak", password="pw")
    assert record.allowed_types == ("a", "b")
    assert record.site_id == "kiosk"
    assert record.created_at
    assert reg.get("ak") == record
    assert "ak" in reg
    assert len(reg) == 1
    assert stat.S_IMODE((tmp_path / "clients.json").stat().st_mode) == 0o600
    assert ClientRegistry(tmp_path / "clients.json").records() == [record]


def test_registry_refuses_bad_records(tmp_path: Path) -> None:
    reg = registry(tmp_path)
    reg.create("one", access_key="ak")
    with pytest.raises(ValueError, match="already registered"):
        reg.create("two", access_key="ak")
    with pytest.raises(ValueError, match="':'"):
        reg.create("three", access_key="a:b")
    with pytest.raises(ValueError, match="name"):
        reg.create("")
    with pytest.raises(TypeError):
        reg.create("four", allowed_types="recognizer_loop:utterance")
    with pytest.raises(ValueError, match="non-empty"):
        reg.create("five", allowed_types=[""])
    with pytest.raises(ValueError, match="client_key"):
        ClientRecord(access_key="x", password="p", name="n", site_id="s", client_key="nothex")


def test_registry_pin_is_compare_and_set(tmp_path: Path) -> None:
    reg = registry(tmp_path)
    reg.create("kiosk", access_key="ak")
    assert reg.pin_client_key("ak", KEY_A.upper()) == KEY_A
    assert reg.pin_client_key("ak", KEY_B) == KEY_A  # the first key stays
    assert reg.pin_client_key("unknown", KEY_B) is None
    assert ClientRegistry(tmp_path / "clients.json").get("ak").client_key == KEY_A  # type: ignore[union-attr]
    assert reg.unpin_client_key("ak")
    assert not reg.unpin_client_key("ak")
    assert reg.pin_client_key("ak", KEY_B) == KEY_B


def test_registry_pin_race_has_one_winner(tmp_path: Path) -> None:
    reg = registry(tmp_path)
    reg.create("kiosk", access_key="ak")
    keys = [f"{i:x}" * 64 for i in range(1, 9)]
    results: list[str | None] = []
    threads = [
        threading.Thread(target=lambda k=k: results.append(reg.pin_client_key("ak", k)))
        for k in keys
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert results[0] == reg.get("ak").client_key  # type: ignore[union-attr]


def test_registry_update_and_remove(tmp_path: Path) -> None:
    reg = registry(tmp_path)
    reg.create("kiosk", access_key="ak")
    updated = reg.update("ak", allowed_types=["x"], admin=True)
    assert (updated.allowed_types, updated.admin) == (("x",), True)
    with pytest.raises(ValueError, match="cannot change"):
        reg.update("ak", access_key="other")
    with pytest.raises(KeyError):
        reg.update("missing", admin=True)
    assert reg.remove("ak")
    assert not reg.remove("ak")
    assert json.loads((tmp_path / "clients.json").read_text())["clients"] == []


def test_registry_rejects_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    path.write_text("{not json")
    with pytest.raises(ThalovantRuntimeError, match="not valid JSON"):
        ClientRegistry(path)
    path.write_text(json.dumps({"clients": [{"access_key": "only"}]}))
    with pytest.raises(ThalovantRuntimeError, match="invalid client registry"):
        ClientRegistry(path)


def test_hub_keys_persist(tmp_path: Path) -> None:
    keys = HubKeys(tmp_path)
    assert keys.node_id.startswith("thalovant-local-")
    again = HubKeys(tmp_path)
    assert (again.node_id, again.static_private) == (keys.node_id, keys.static_private)
    assert again.public_key == x25519_public(keys.static_private)
    assert stat.S_IMODE((tmp_path / HUB_KEY_FILE).stat().st_mode) == 0o600
    renamed = HubKeys(tmp_path, node_id="my-node")
    assert renamed.node_id == "my-node"
    assert renamed.static_private == keys.static_private
    assert HubKeys(tmp_path).node_id == "my-node"
    with pytest.raises(ValueError, match="node_id"):
        HubKeys(tmp_path, node_id="  ")


def test_hub_key_rotation(tmp_path: Path) -> None:
    keys = HubKeys(tmp_path)
    chosen = generate_static_private()
    assert keys.set_static_key(chosen) == x25519_public(chosen)
    assert HubKeys(tmp_path).static_private == chosen
    assert keys.set_static_key() != x25519_public(chosen)


def test_hub_keys_refuse_a_damaged_key_file(tmp_path: Path) -> None:
    (tmp_path / HUB_KEY_FILE).write_text("not a key")
    with pytest.raises(ThalovantRuntimeError, match="64 hex"):
        HubKeys(tmp_path)
