"""Noise key store: layout, modes, TOFU pins, PSK cache, atomicity, locking, migration."""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from thalovant.errors import ThalovantConnectionError, ThalovantHubKeyChangedError
from thalovant.identity.keystore import (
    MAX_CACHED_PSKS,
    NoiseKeyStore,
    legacy_noise_folder,
    pin_id_for_base,
    pin_id_for_wss,
    resolve_noise_folder,
)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
HUB = "wss://hub.example.com:443"
KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))
PW = "the-password"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _read(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture
def store(tmp_path: Path) -> NoiseKeyStore:
    return NoiseKeyStore(tmp_path / "state" / "hivemind")


# -- layout and the static key ---------------------------------------------------------------


@posix_only
def test_layout_and_modes(store: NoiseKeyStore) -> None:
    key = store.static_private_key()
    store.pin(HUB, KEY_A)
    store.store_psk("ak", "node", KEY_B, PW)
    folder = store.folder
    assert _mode(folder) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == [
        "._identity.json.lock",
        "_identity.json",
        "unnamed-node_noise.key",
        "unnamed-node_noise_psk_verifiers.json",
        "unnamed-node_noise_psks.json",
    ]
    for name in (
        "_identity.json",
        "unnamed-node_noise.key",
        "unnamed-node_noise_psks.json",
        "unnamed-node_noise_psk_verifiers.json",
    ):
        assert _mode(folder / name) == 0o600, name
    assert (folder / "unnamed-node_noise.key").read_text().strip() == key.hex()
    assert _read(store.identity_path) == {"pinned_noise_keys": {HUB: KEY_A.hex()}}


def test_named_node_files(tmp_path: Path) -> None:
    named = NoiseKeyStore(tmp_path, name="kitchen")
    named.static_private_key()
    named.store_psk("ak", "n", KEY_A, PW)
    assert (tmp_path / "kitchen_noise.key").is_file()
    assert (tmp_path / "kitchen_noise_psks.json").is_file()


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", "a\x00b"])
def test_bad_node_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        NoiseKeyStore(tmp_path, name=name)


def test_key_created_once_and_stable(store: NoiseKeyStore) -> None:
    first = store.static_private_key()
    assert len(first) == 32
    assert store.static_private_key() == first
    again = NoiseKeyStore(store.folder)
    assert again.has_static_key()
    assert again.static_private_key() == first


def test_key_file_hex_is_case_and_whitespace_tolerant(store: NoiseKeyStore) -> None:
    store.folder.mkdir(parents=True)
    store.key_path.write_text(KEY_A.hex().upper() + "\n")
    assert store.static_private_key() == KEY_A


@pytest.mark.parametrize("content", ["", "zz" * 32, "ab" * 31, "ab" * 33, "\xff"])
def test_malformed_key_file_is_never_replaced(store: NoiseKeyStore, content: str) -> None:
    store.folder.mkdir(parents=True)
    store.key_path.write_text(content, encoding="latin-1")
    with pytest.raises(ThalovantConnectionError, match=r"unnamed-node_noise\.key"):
        store.static_private_key()
    assert store.key_path.read_text(encoding="latin-1") == content


def test_key_error_never_shows_key_material(store: NoiseKeyStore) -> None:
    store.folder.mkdir(parents=True)
    secretish = "ab" * 31 + "zz"
    store.key_path.write_text(secretish)
    with pytest.raises(ThalovantConnectionError) as info:
        store.static_private_key()
    assert "abab" not in str(info.value)


def test_recorded_noise_key_path_is_used_when_present(tmp_path: Path) -> None:
    elsewhere = tmp_path / "keys" / "custom.key"
    elsewhere.parent.mkdir()
    elsewhere.write_text(KEY_B.hex())
    folder = tmp_path / "hm"
    folder.mkdir()
    (folder / "_identity.json").write_text(json.dumps({"noise_key": str(elsewhere)}))
    assert NoiseKeyStore(folder).static_private_key() == KEY_B


def test_stale_noise_key_path_falls_back_to_default(tmp_path: Path) -> None:
    folder = tmp_path / "hm"
    folder.mkdir()
    (folder / "_identity.json").write_text(json.dumps({"noise_key": "/nonexistent/x.key"}))
    (folder / "unnamed-node_noise.key").write_text(KEY_A.hex())
    assert NoiseKeyStore(folder).static_private_key() == KEY_A


# -- pins --------------------------------------------------------------------------------------


def test_pin_tofu_and_changed_key(store: NoiseKeyStore) -> None:
    assert store.pinned_key(HUB) is None
    store.pin(HUB, KEY_A)
    assert store.pinned_key(HUB) == KEY_A
    before = store.identity_path.stat().st_ino
    store.pin(HUB, KEY_A)  # same key: no-op, file not rewritten
    assert store.identity_path.stat().st_ino == before
    with pytest.raises(ThalovantHubKeyChangedError) as info:
        store.pin(HUB, KEY_B)
    assert KEY_A.hex() not in str(info.value)
    assert KEY_B.hex() not in str(info.value)
    assert store.pinned_key(HUB) == KEY_A  # never replaced automatically


def test_pin_compare_is_case_insensitive(store: NoiseKeyStore) -> None:
    store.folder.mkdir(parents=True)
    store.identity_path.write_text(json.dumps({"pinned_noise_keys": {HUB: KEY_A.hex().upper()}}))
    assert store.pinned_key(HUB) == KEY_A
    store.pin(HUB, KEY_A)
    with pytest.raises(ThalovantHubKeyChangedError):
        store.pin(HUB, KEY_B)


def test_unpin_is_explicit(store: NoiseKeyStore) -> None:
    assert store.unpin(HUB) is False
    store.pin(HUB, KEY_A)
    store.pin("https://other:443", KEY_B)
    assert store.unpin(HUB) is True
    assert store.pinned_key(HUB) is None
    assert store.pins() == {"https://other:443": KEY_B}
    store.pin(HUB, KEY_B)
    assert store.pinned_key(HUB) == KEY_B


def test_pin_rejects_wrong_length(store: NoiseKeyStore) -> None:
    with pytest.raises(ValueError):
        store.pin(HUB, b"short")


@pytest.mark.parametrize("bad", [42, "zz" * 32, "ab" * 31, ["x"], ""])
def test_malformed_pin_is_connection_error(store: NoiseKeyStore, bad: object) -> None:
    store.folder.mkdir(parents=True)
    original = json.dumps({"pinned_noise_keys": {HUB: bad}})
    store.identity_path.write_text(original)
    with pytest.raises(ThalovantConnectionError, match="malformed Noise pin"):
        store.pinned_key(HUB)
    with pytest.raises(ThalovantConnectionError):
        store.pin(HUB, KEY_A)
    assert store.identity_path.read_text() == original
    assert store.pins() == {}


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", '"text"', json.dumps({"pinned_noise_keys": [1]})],
)
def test_malformed_identity_file(store: NoiseKeyStore, content: str) -> None:
    store.folder.mkdir(parents=True)
    store.identity_path.write_text(content)
    with pytest.raises(ThalovantConnectionError):
        store.pinned_key(HUB)
    with pytest.raises(ThalovantConnectionError):
        store.pin(HUB, KEY_A)
    assert store.identity_path.read_text() == content  # never overwritten


def test_null_pins_read_as_empty(store: NoiseKeyStore) -> None:
    store.folder.mkdir(parents=True)
    store.identity_path.write_text(json.dumps({"pinned_noise_keys": None}))
    assert store.pinned_key(HUB) is None
    store.pin(HUB, KEY_A)
    assert store.pinned_key(HUB) == KEY_A


def test_unknown_identity_keys_are_preserved(store: NoiseKeyStore) -> None:
    store.folder.mkdir(parents=True)
    shared = {
        "name": "node",
        "access_key": "ak",
        "password": "pw",
        "site_id": "kitchen",
        "pinned_noise_keys": {"wss://old:443": KEY_B.hex()},
        "nested": {"keep": [1, 2, 3]},
    }
    store.identity_path.write_text(json.dumps(shared))
    store.pin(HUB, KEY_A)
    store.static_private_key()
    after = _read(store.identity_path)
    expected = dict(shared, pinned_noise_keys={"wss://old:443": KEY_B.hex(), HUB: KEY_A.hex()})
    assert after == expected
    store.unpin(HUB)
    assert _read(store.identity_path) == shared


def test_failed_write_leaves_the_old_file(
    store: NoiseKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.pin(HUB, KEY_A)
    before = store.identity_path.read_text()

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ThalovantConnectionError, match="cannot write") as info:
        store.pin("wss://second:443", KEY_B)
    assert isinstance(info.value.__cause__, OSError)
    monkeypatch.undo()
    assert store.identity_path.read_text() == before
    assert [p.name for p in store.folder.iterdir() if p.name.endswith(".tmp")] == []


def test_failed_key_write_leaves_no_half_key(
    store: NoiseKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(ThalovantConnectionError, match="cannot write Noise key"):
        store.static_private_key()
    monkeypatch.undo()
    assert not store.has_static_key()
    assert len(store.static_private_key()) == 32


def test_threads_do_not_lose_pins(store: NoiseKeyStore) -> None:
    def worker(offset: int) -> None:
        for index in range(10):
            NoiseKeyStore(store.folder).pin(f"wss://t{offset}-{index}:443", KEY_A)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.pins()) == 40


def _pin_many(folder: str, prefix: str, count: int, barrier: Any) -> None:
    store = NoiseKeyStore(folder)
    barrier.wait(30)  # start together so the read-modify-write cycles really overlap
    for index in range(count):
        store.pin(f"wss://{prefix}-{index}:443", bytes([index]) * 32)


@pytest.mark.skipif(sys.platform == "win32", reason="needs fcntl")
def test_two_processes_do_not_lose_pins(store: NoiseKeyStore) -> None:
    # Without the lock file this loses roughly half of the entries.
    store.pin(HUB, KEY_A)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_pin_many, args=(str(store.folder), prefix, 60, barrier))
        for prefix in ("a", "b")
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    pins = store.pins()
    assert len(pins) == 121
    assert pins["wss://a-7:443"] == bytes([7]) * 32
    assert pins[HUB] == KEY_A


# -- PSK cache ---------------------------------------------------------------------------------


@posix_only
def test_psk_cache_roundtrip_and_layout(store: NoiseKeyStore) -> None:
    assert store.cached_psk("access", "node-1", PW) is None
    store.store_psk("access", "node-1", KEY_A, PW)
    assert store.cached_psk("access", "node-1", PW) == KEY_A
    assert store.cached_psk("access", "node-2", PW) is None
    assert store.cached_psk("other", "node-1", PW) is None
    slot = hashlib.sha256(b"access").hexdigest()[:16] + "@node-1"
    assert _read(store.psk_path) == {slot: KEY_A.hex()}
    assert _mode(store.psk_path) == 0o600
    assert "access" not in store.psk_path.read_text().replace(slot, "")


def test_psk_cache_forget(store: NoiseKeyStore) -> None:
    store.store_psk("ak", "n1", KEY_A, PW)
    store.store_psk("ak", "n2", KEY_B, PW)
    store.forget_psk("ak", "n1")
    store.forget_psk("ak", "missing")
    assert store.cached_psk("ak", "n1", PW) is None
    assert store.cached_psk("ak", "n2", PW) == KEY_B


def test_psk_cache_keeps_newest_32(store: NoiseKeyStore) -> None:
    for index in range(40):
        store.store_psk("ak", f"node-{index}", bytes([index]) * 32, PW)
    assert len(_read(store.psk_path)) == MAX_CACHED_PSKS
    assert store.cached_psk("ak", "node-7", PW) is None
    assert store.cached_psk("ak", "node-8", PW) == bytes([8]) * 32
    # refreshing an entry makes it the newest
    store.store_psk("ak", "node-8", KEY_A, PW)
    store.store_psk("ak", "node-40", KEY_B, PW)
    assert store.cached_psk("ak", "node-8", PW) == KEY_A
    assert store.cached_psk("ak", "node-9", PW) is None


def test_cached_psk_answers_only_for_its_own_password(store: NoiseKeyStore) -> None:
    # Issue #11 (11): the slot names the access key and the hub only; the password decides.
    store.store_psk("ak", "n", KEY_A, PW)
    assert store.cached_psk("ak", "n", PW) == KEY_A
    assert store.cached_psk("ak", "n", "wrong") is None
    assert store.cached_psk("ak", "n", PW + " ") is None
    # the hivemind-bus-client layout is kept as it is: slot -> hex PSK, nothing else
    slot = hashlib.sha256(b"ak").hexdigest()[:16] + "@n"
    assert _read(store.psk_path) == {slot: KEY_A.hex()}
    # neither file holds the password, or a hash of it alone
    for path in (store.psk_path, store.verifier_path):
        text = path.read_text()
        assert PW not in text
        assert hashlib.sha256(PW.encode()).hexdigest() not in text


def test_a_psk_without_verifier_is_not_used_until_stored_again(store: NoiseKeyStore) -> None:
    # e.g. written by hivemind-bus-client, or by a thalovant before the verifier
    store.folder.mkdir(parents=True)
    slot = hashlib.sha256(b"ak").hexdigest()[:16] + "@n"
    store.psk_path.write_text(json.dumps({slot: KEY_A.hex()}))
    assert store.cached_psk("ak", "n", PW) is None
    store.store_psk("ak", "n", KEY_A, PW)
    assert store.cached_psk("ak", "n", PW) == KEY_A
    # another tool replacing the PSK value: the verifier (keyed by the PSK) no longer fits
    store.psk_path.write_text(json.dumps({slot: KEY_B.hex()}))
    assert store.cached_psk("ak", "n", PW) is None


def test_forget_psk_drops_only_the_refused_value(store: NoiseKeyStore) -> None:
    store.store_psk("ak", "n", KEY_A, PW)
    store.forget_psk("ak", "n", KEY_B)  # another password's PSK was refused: keep ours
    assert store.cached_psk("ak", "n", PW) == KEY_A
    store.forget_psk("ak", "n", KEY_A)
    assert store.cached_psk("ak", "n", PW) is None
    assert _read(store.verifier_path) == {}


def test_psk_cache_rejects_wrong_length(store: NoiseKeyStore) -> None:
    with pytest.raises(ValueError):
        store.store_psk("ak", "n", b"x", PW)


@pytest.mark.parametrize("content", ["{broken", "[1]", json.dumps({"x": 5})])
def test_malformed_psk_cache_is_ignored_and_rewritten(
    store: NoiseKeyStore, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    store.folder.mkdir(parents=True)
    store.psk_path.write_text(content)
    assert store.cached_psk("ak", "n", PW) is None
    store.store_psk("ak", "n", KEY_A, PW)
    assert store.cached_psk("ak", "n", PW) == KEY_A


def test_malformed_psk_entry_is_a_miss(store: NoiseKeyStore) -> None:
    store.folder.mkdir(parents=True)
    slot = hashlib.sha256(b"ak").hexdigest()[:16] + "@n"
    store.psk_path.write_text(json.dumps({slot: "nothex"}))
    assert store.cached_psk("ak", "n", PW) is None


def test_no_key_material_in_logs(
    store: NoiseKeyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="thalovant")
    key = store.static_private_key()
    store.pin(HUB, KEY_A)
    store.store_psk("ak", "n", KEY_B, PW)
    new = NoiseKeyStore(tmp_path / "new")
    assert new.migrate_from(store, HUB)
    text = caplog.text.lower()
    for secret in (key, KEY_A, KEY_B):
        assert secret.hex() not in text


# -- migration ---------------------------------------------------------------------------------


def test_migration_copies_key_and_pins(tmp_path: Path) -> None:
    legacy = NoiseKeyStore(tmp_path / "legacy")
    legacy_key = legacy.static_private_key()
    legacy.pin(HUB, KEY_A)
    legacy.pin("https://other:443", KEY_B)
    legacy.store_psk("ak", "n", KEY_B, PW)
    legacy_identity = legacy.identity_path.read_text()
    fresh = NoiseKeyStore(tmp_path / "per-identity")
    assert fresh.migrate_from(legacy, HUB) is True
    assert fresh.static_private_key() == legacy_key
    assert NoiseKeyStore(fresh.folder).static_private_key() == legacy_key
    assert fresh.pins() == {HUB: KEY_A, "https://other:443": KEY_B}
    assert fresh.cached_psk("ak", "n", PW) is None  # a cache, re-derivable: not copied
    assert legacy.identity_path.read_text() == legacy_identity  # copy, not move
    assert legacy.static_private_key() == legacy_key
    assert fresh.migrate_from(legacy, HUB) is False  # only on first use


def test_no_migration_when_legacy_never_met_the_hub(tmp_path: Path) -> None:
    legacy = NoiseKeyStore(tmp_path / "legacy")
    legacy.static_private_key()
    legacy.pin("wss://somewhere-else:443", KEY_A)
    fresh = NoiseKeyStore(tmp_path / "per-identity")
    assert fresh.migrate_from(legacy, HUB) is False
    assert not fresh.has_static_key()


def test_no_migration_without_legacy_key(tmp_path: Path) -> None:
    legacy = NoiseKeyStore(tmp_path / "legacy")
    legacy.pin(HUB, KEY_A)
    fresh = NoiseKeyStore(tmp_path / "per-identity")
    assert fresh.migrate_from(legacy, HUB) is False
    assert not legacy.has_static_key()  # never created by a migration attempt


def test_no_migration_over_an_existing_key(tmp_path: Path) -> None:
    legacy = NoiseKeyStore(tmp_path / "legacy")
    legacy.static_private_key()
    legacy.pin(HUB, KEY_A)
    fresh = NoiseKeyStore(tmp_path / "per-identity")
    own = fresh.static_private_key()
    assert fresh.migrate_from(legacy, HUB) is False
    assert fresh.static_private_key() == own


def test_no_migration_from_itself_or_broken_legacy(tmp_path: Path) -> None:
    store = NoiseKeyStore(tmp_path / "same")
    store.pin(HUB, KEY_A)
    assert store.migrate_from(NoiseKeyStore(tmp_path / "same"), HUB) is False
    broken = NoiseKeyStore(tmp_path / "broken")
    broken.folder.mkdir()
    broken.identity_path.write_text("{bad json")
    assert NoiseKeyStore(tmp_path / "x").migrate_from(broken, HUB) is False


def test_migration_keeps_existing_pins_of_the_new_folder(tmp_path: Path) -> None:
    legacy = NoiseKeyStore(tmp_path / "legacy")
    legacy.static_private_key()
    legacy.pin(HUB, KEY_A)
    legacy.pin("wss://shared:443", KEY_A)
    fresh = NoiseKeyStore(tmp_path / "fresh")
    fresh.pin("wss://shared:443", KEY_B)
    assert fresh.migrate_from(legacy, HUB)
    assert fresh.pinned_key("wss://shared:443") == KEY_B


# -- folder resolution -------------------------------------------------------------------------


def test_explicit_dir_wins(tmp_path: Path) -> None:
    target = tmp_path / "explicit"
    assert resolve_noise_folder(target, str(tmp_path / "id.json"), {}) == target
    assert resolve_noise_folder(str(target), None, {}) == target


def test_dir_beside_identity_file(tmp_path: Path) -> None:
    identity = tmp_path / "conf" / "_identity.json"
    identity.parent.mkdir()
    identity.write_text("{}")
    folder = resolve_noise_folder(None, str(identity), {"XDG_CONFIG_HOME": str(tmp_path / "x")})
    assert folder == tmp_path / "conf" / "hivemind"
    assert folder.is_dir()
    if sys.platform != "win32":
        assert _mode(folder) == 0o700


@posix_only
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores modes")
def test_read_only_identity_dir_falls_back(tmp_path: Path) -> None:
    conf = tmp_path / "ro"
    conf.mkdir()
    (conf / "id.json").write_text("{}")
    conf.chmod(0o500)
    try:
        folder = resolve_noise_folder(None, str(conf / "id.json"), {"XDG_CONFIG_HOME": "/xdg"})
    finally:
        conf.chmod(0o700)
    assert folder == Path("/xdg/hivemind")


def test_uncreatable_identity_dir_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(Path, "mkdir", refuse)
    folder = resolve_noise_folder(None, str(tmp_path / "id.json"), {"XDG_CONFIG_HOME": "/xdg"})
    assert folder == Path("/xdg/hivemind")


def test_identity_dir_blocked_by_a_file_falls_back(tmp_path: Path) -> None:
    (tmp_path / "hivemind").write_text("not a folder")
    folder = resolve_noise_folder(None, str(tmp_path / "id.json"), {"XDG_CONFIG_HOME": "/xdg"})
    assert folder == Path("/xdg/hivemind")


def test_fallback_to_xdg_and_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_noise_folder(None, None, {"XDG_CONFIG_HOME": "/cfg"}) == Path("/cfg/hivemind")
    home_env = {"HOME": str(tmp_path)}
    assert resolve_noise_folder(None, None, home_env) == tmp_path / ".config" / "hivemind"
    relative = {"XDG_CONFIG_HOME": "relative/dir", "HOME": str(tmp_path)}
    assert legacy_noise_folder(relative) == tmp_path / ".config" / "hivemind"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "live"))
    assert legacy_noise_folder() == tmp_path / "live" / "hivemind"
    assert resolve_noise_folder(None, None) == tmp_path / "live" / "hivemind"


# -- pin ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "pin_id"),
    [
        ("wss://hub.example.com", "wss://hub.example.com:443"),
        ("wss://hub.example.com/", "wss://hub.example.com:443"),
        ("ws://hub.example.com", "ws://hub.example.com:80"),
        ("wss://Hub.Example.COM:8443/path?authorization=x", "wss://hub.example.com:8443"),
        ("WSS://hub:5678", "wss://hub:5678"),
        ("wss://user:pw@hub:1", "wss://hub:1"),
        ("wss://[::1]", "wss://[::1]:443"),
        ("ws://[FE80::1]:5678/x", "ws://[fe80::1]:5678"),
        ("wss://10.0.0.2:5678", "wss://10.0.0.2:5678"),
    ],
)
def test_pin_id_for_wss(url: str, pin_id: str) -> None:
    assert pin_id_for_wss(url) == pin_id


@pytest.mark.parametrize(
    "url", ["https://hub", "hub.example.com", "wss://", "wss://hub:99999", "wss://hub:x"]
)
def test_pin_id_for_wss_rejects(url: str) -> None:
    with pytest.raises(ThalovantConnectionError):
        pin_id_for_wss(url)


def test_pin_id_for_base() -> None:
    assert pin_id_for_base("https://hub.example.com:443/") == "https://hub.example.com:443"
    assert pin_id_for_base("https://Hub:5679/hivemind") == "https://Hub:5679/hivemind"
