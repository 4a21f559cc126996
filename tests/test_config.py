"""Config path, file permissions, JSON/YAML reading, profiles, from_file and from_config."""

from __future__ import annotations

import json
import ntpath
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from thalovant.errors import ThalovantIdentityError
from thalovant.identity import config
from thalovant.identity.config import (
    DEFAULT_CONFIG_FILENAME,
    default_config_path,
    resolve_profile,
)
from thalovant.identity.model import ThalovantIdentity

IDENTITY: dict[str, Any] = {
    "access_key": "ak",
    "password": "pw",
    "default_master": "wss://hub.example.com",
    "site_id": "site-1",
}

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def write_json(path: Path, data: Any, mode: int = 0o600) -> Path:
    return write(path, json.dumps(data), mode)


def write_yaml(path: Path, data: Any, mode: int = 0o600) -> Path:
    return write(path, yaml.safe_dump(data), mode)


@pytest.fixture(autouse=True)
def _no_kubernetes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


# ------------------------------------------------------------------------- default path


def test_default_config_filename() -> None:
    assert DEFAULT_CONFIG_FILENAME == "config.yaml"


def test_default_path_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_config_path() == tmp_path / "thalovant" / "config.yaml"


def test_default_path_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("APPDATA", str(tmp_path / "appdata"))  # ignored off Windows
    expected = tmp_path / ".config" / "thalovant" / "config.yaml"
    assert default_config_path() == (expected if os.name != "nt" else default_config_path())


@pytest.mark.parametrize(
    ("environ", "os_name", "expected"),
    [
        ({"XDG_CONFIG_HOME": "/xdg"}, "posix", "/xdg/thalovant/config.yaml"),
        ({"XDG_CONFIG_HOME": "/xdg", "APPDATA": "C:\\AD"}, "nt", "/xdg/thalovant/config.yaml"),
        ({"APPDATA": "C:\\Users\\u\\AppData\\Roaming"}, "nt", None),
        ({"XDG_CONFIG_HOME": "", "APPDATA": "C:\\AD"}, "nt", "C:\\AD\\Thalovant\\config.yaml"),
        ({"XDG_CONFIG_HOME": "relative/dir"}, "posix", "HOME"),
        ({"APPDATA": "C:\\AD"}, "posix", "HOME"),
        ({}, "nt", "HOME"),
        ({}, "posix", "HOME"),
    ],
)
def test_default_path_rules(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    environ: dict[str, str],
    os_name: str,
    expected: str | None,
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    home = os.path.join(str(tmp_path), ".config", "thalovant", "config.yaml")
    if expected is None:
        expected = ntpath.join(environ["APPDATA"], "Thalovant", "config.yaml")
    elif expected == "HOME":
        expected = home
    result = config._default_config_path(environ, os_name)
    assert result.replace("\\", "/") == expected.replace("\\", "/")
    if os_name == "nt" and "APPDATA" in environ and not environ.get("XDG_CONFIG_HOME"):
        assert result == f"{environ['APPDATA']}\\Thalovant\\config.yaml"


def test_from_config_uses_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "thalovant").mkdir()
    path = write_yaml(tmp_path / "thalovant" / "config.yaml", {"identity": IDENTITY})
    identity = ThalovantIdentity.from_config()
    assert identity.site_id == "site-1"
    assert identity.source_path == str(path)


def test_from_config_default_path_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(ThalovantIdentityError, match="not found") as info:
        ThalovantIdentity.from_config()
    assert str(tmp_path / "thalovant" / "config.yaml") in str(info.value)


# -------------------------------------------------------------------------- permissions


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
@pytest.mark.parametrize("loader", ["file", "config"])
def test_private_modes_accepted(tmp_path: Path, mode: int, loader: str) -> None:
    if loader == "file":
        path = write_json(tmp_path / "id.json", IDENTITY, mode)
        assert ThalovantIdentity.from_file(path).site_id == "site-1"
    else:
        path = write_yaml(tmp_path / "c.yaml", IDENTITY, mode)
        assert ThalovantIdentity.from_config(path).site_id == "site-1"


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o620, 0o602, 0o610, 0o601, 0o666])
@pytest.mark.parametrize("loader", ["file", "config"])
def test_permissive_modes_refused(tmp_path: Path, mode: int, loader: str) -> None:
    if loader == "file":
        path = write_json(tmp_path / "id.json", IDENTITY, mode)
        with pytest.raises(ThalovantIdentityError) as info:
            ThalovantIdentity.from_file(path)
    else:
        path = write_yaml(tmp_path / "c.yaml", {"identity": IDENTITY}, mode)
        with pytest.raises(ThalovantIdentityError) as info:
            ThalovantIdentity.from_config(path)
    message = str(info.value)
    assert str(path) in message
    assert "chmod 600" in message
    assert f"{mode:04o}" in message


def test_permission_check_skipped_on_windows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(config, "_POSIX_PERMISSIONS", False)
    path = write_json(tmp_path / "id.json", IDENTITY, 0o644)
    assert ThalovantIdentity.from_file(path).site_id == "site-1"


def make_projected_secret(tmp_path: Path, name: str, text: str, *, data_link: bool = True) -> Path:
    """The layout kubelet writes: ``name -> ..data/name``, ``..data -> ..<timestamp>``."""
    real = tmp_path / "..2024_01_01_00_00_00.000"
    real.mkdir()
    write(real / name, text, 0o644)
    if data_link:
        (tmp_path / "..data").symlink_to(real.name)
    else:
        (tmp_path / "..data").mkdir()
        write(tmp_path / "..data" / name, text, 0o644)
    link = tmp_path / name
    link.symlink_to(f"..data/{name}" if data_link else str(real / name))
    return link


@posix_only
def test_kubernetes_projected_secret_accepted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    path = make_projected_secret(tmp_path, "identity.json", json.dumps(IDENTITY))
    assert ThalovantIdentity.from_file(path).site_id == "site-1"


@posix_only
def test_kubernetes_projected_secret_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    path = make_projected_secret(tmp_path, "config.yaml", yaml.safe_dump({"identity": IDENTITY}))
    assert ThalovantIdentity.from_config(path).site_id == "site-1"


@posix_only
def test_kubernetes_exception_needs_the_env(tmp_path: Path) -> None:
    path = make_projected_secret(tmp_path, "identity.json", json.dumps(IDENTITY))
    with pytest.raises(ThalovantIdentityError, match="chmod 600"):
        ThalovantIdentity.from_file(path)


@posix_only
def test_kubernetes_exception_needs_a_data_symlink(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    path = make_projected_secret(tmp_path, "identity.json", json.dumps(IDENTITY), data_link=False)
    with pytest.raises(ThalovantIdentityError, match="chmod 600"):
        ThalovantIdentity.from_file(path)


@posix_only
def test_kubernetes_exception_needs_the_file_to_be_a_symlink(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    (tmp_path / "real").mkdir()
    (tmp_path / "..data").symlink_to("real")
    path = write_json(tmp_path / "identity.json", IDENTITY, 0o644)
    with pytest.raises(ThalovantIdentityError, match="chmod 600"):
        ThalovantIdentity.from_file(path)


# ------------------------------------------------------------------------ file problems


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ThalovantIdentityError, match="not found") as info:
        ThalovantIdentity.from_file(path)
    assert str(path) in str(info.value)
    with pytest.raises(ThalovantIdentityError, match="not found"):
        ThalovantIdentity.from_config(tmp_path / "nope.yaml")


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ThalovantIdentityError, match="not a regular file") as info:
        ThalovantIdentity.from_file(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.skipif(IS_ROOT or os.name == "nt", reason="root can read any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write_json(tmp_path / "id.json", IDENTITY, 0o000)
    with pytest.raises(ThalovantIdentityError, match="Cannot read") as info:
        ThalovantIdentity.from_file(path)
    assert str(path) in str(info.value)


def test_unreadable_file_simulated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_json(tmp_path / "id.json", IDENTITY)

    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(ThalovantIdentityError, match="Cannot read identity file") as info:
        ThalovantIdentity.from_file(path)
    assert str(path) in str(info.value)
    assert "Permission denied" in str(info.value)


@pytest.mark.skipif(os.name == "nt", reason="POSIX fifo")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "fifo"
    os.mkfifo(path, 0o600)
    with pytest.raises(ThalovantIdentityError, match="not a regular file"):
        ThalovantIdentity.from_file(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", r"Invalid JSON in identity file .* at line 1, column 2"),
        ("", "Invalid JSON"),
        ("[1, 2]", "must contain a JSON object, not a list"),
        ('"text"', "must contain a JSON object, not str"),
        ("null", "must contain a JSON object, not NoneType"),
        ("[" * 100_000 + "]" * 100_000, "Invalid JSON"),
    ],
)
def test_bad_json(tmp_path: Path, text: str, match: str) -> None:
    path = write(tmp_path / "id.json", text)
    with pytest.raises(ThalovantIdentityError, match=match) as info:
        ThalovantIdentity.from_file(path)
    assert str(path) in str(info.value)


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "id.json"
    path.write_bytes(b'{"access_key": "\xff\xfe"}')
    path.chmod(0o600)
    with pytest.raises(ThalovantIdentityError, match="not valid UTF-8"):
        ThalovantIdentity.from_file(path)


def test_utf8_bom_accepted(tmp_path: Path) -> None:
    path = tmp_path / "id.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(IDENTITY).encode())
    path.chmod(0o600)
    assert ThalovantIdentity.from_file(path).site_id == "site-1"


def test_too_large(tmp_path: Path) -> None:
    path = write(tmp_path / "id.json", " " * (config.MAX_FILE_BYTES + 1))
    with pytest.raises(ThalovantIdentityError, match="too large"):
        ThalovantIdentity.from_file(path)


def test_from_file_field_error_names_field_and_file(tmp_path: Path) -> None:
    path = write_json(tmp_path / "id.json", {**IDENTITY, "default_port": "abc"})
    with pytest.raises(ThalovantIdentityError, match="default_port") as info:
        ThalovantIdentity.from_file(path)
    assert str(path) in str(info.value)


def test_from_file_sets_absolute_source_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_json(tmp_path / "id.json", IDENTITY)
    monkeypatch.chdir(tmp_path)
    identity = ThalovantIdentity.from_file("id.json")
    assert identity.source_path == str(tmp_path / "id.json")
    assert ThalovantIdentity.from_file(tmp_path / "id.json") == identity


def test_saved_identity_round_trips_through_a_file(tmp_path: Path) -> None:
    original = ThalovantIdentity.from_mapping(
        {
            **IDENTITY,
            "protocols": {"http": True, "mqtt": True},
            "mqtt": {
                "endpoint": "mqtts://b",
                "username": "u",
                "password": "p",
                "topic_prefix": "t",
            },
            "metadata": {"k": "v"},
        }
    )
    path = write_json(tmp_path / "id.json", original.as_dict(include_secrets=True))
    loaded = ThalovantIdentity.from_file(path)
    assert loaded.source_path == str(path)
    assert ThalovantIdentity.from_mapping(loaded.as_dict(include_secrets=True)) == original


# --------------------------------------------------------------------------------- YAML


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a: b: c", r"Invalid YAML in config file .* at line 1, column 5"),
        ("key: [unclosed", r"Invalid YAML in config file .* at line \d+"),
        ("a: !!python/object:os.system x", "Invalid YAML"),
        ("--- a\n--- b\n", "Invalid YAML"),
        ("", "is empty"),
        ("# only a comment\n", "is empty"),
        ("- a\n- b\n", "must contain a mapping at the top level, not a list"),
        ("just text", "must contain a mapping at the top level, not str"),
    ],
)
def test_bad_yaml(tmp_path: Path, text: str, match: str) -> None:
    path = write(tmp_path / "config.yaml", text)
    with pytest.raises(ThalovantIdentityError, match=match) as info:
        ThalovantIdentity.from_config(path)
    assert str(path) in str(info.value)


def test_yaml_recursive_alias_in_metadata(tmp_path: Path) -> None:
    text = yaml.safe_dump(IDENTITY) + "metadata: &m\n  self: *m\n"
    path = write(tmp_path / "config.yaml", text)
    with pytest.raises(ThalovantIdentityError, match="nested too deeply"):
        ThalovantIdentity.from_config(path)


def test_yaml_alias_bomb_in_metadata(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    text = yaml.safe_dump(IDENTITY) + "metadata:\n" + "".join(f"  {line}\n" for line in lines)
    path = write(tmp_path / "config.yaml", text)
    with pytest.raises(ThalovantIdentityError, match="metadata is too large"):
        ThalovantIdentity.from_config(path)


def test_numeric_profile_names(tmp_path: Path) -> None:
    data = {"profile": 2024, "profiles": {2024: {**IDENTITY, "site_id": "y2024"}}}
    path = write_yaml(tmp_path / "config.yaml", data)
    assert ThalovantIdentity.from_config(path).site_id == "y2024"


def test_yaml_dates_and_numbers(tmp_path: Path) -> None:
    text = yaml.safe_dump(IDENTITY) + "site_id: 1234\nmetadata:\n  since: 2024-01-02\n"
    identity = ThalovantIdentity.from_config(write(tmp_path / "config.yaml", text))
    assert identity.site_id == "1234"
    assert identity.metadata == {"since": "2024-01-02"}


# ----------------------------------------------------------------------------- profiles


def profiles(**names: Any) -> dict[str, Any]:
    return {name: {"identity": {**IDENTITY, "site_id": name}} for name in names}


@pytest.mark.parametrize(
    ("top", "argument", "chosen"),
    [
        ({}, None, "default"),
        ({}, "prod", "prod"),
        ({}, " prod ", "prod"),
        ({"profile": "prod"}, None, "prod"),
        ({"default_profile": "prod"}, None, "prod"),
        ({"defaultProfile": "prod"}, None, "prod"),
        ({"profile": "prod", "default_profile": "dev"}, None, "prod"),
        ({"default_profile": "dev", "defaultProfile": "prod"}, None, "dev"),
        ({"profile": "", "defaultProfile": "prod"}, None, "prod"),
        ({"profile": "prod"}, "dev", "dev"),
        ({"profile": "prod"}, "", "prod"),
    ],
)
def test_profile_choice(
    tmp_path: Path, top: dict[str, Any], argument: str | None, chosen: str
) -> None:
    data = {"version": 1, **top, "profiles": profiles(default=1, prod=1, dev=1)}
    path = write_yaml(tmp_path / "config.yaml", data)
    assert ThalovantIdentity.from_config(path, profile=argument).site_id == chosen


def test_profile_without_identity_submapping(tmp_path: Path) -> None:
    data = {"profiles": {"default": {**IDENTITY, "site_id": "flat"}}}
    assert ThalovantIdentity.from_config(write_yaml(tmp_path / "c.yaml", data)).site_id == "flat"


@pytest.mark.parametrize(
    ("data", "argument"),
    [
        ({"profiles": profiles(prod=1)}, None),
        ({"profiles": profiles(prod=1)}, "staging"),
        ({"profile": "staging", "profiles": profiles(prod=1)}, None),
        ({"profiles": {"prod": None}}, "prod"),
        ({"profiles": {}}, None),
    ],
)
def test_missing_profile(tmp_path: Path, data: dict[str, Any], argument: str | None) -> None:
    path = write_yaml(tmp_path / "config.yaml", data)
    wanted = (argument or data.get("profile") or "default").strip()
    with pytest.raises(ThalovantIdentityError) as info:
        ThalovantIdentity.from_config(path, profile=argument)
    assert f"Missing Thalovant config profile: {wanted}" in str(info.value)
    assert str(path) in str(info.value)


def test_without_profiles_identity_submapping(tmp_path: Path) -> None:
    data = {"identity": {**IDENTITY, "site_id": "inner"}, "site_id": "outer"}
    path = write_yaml(tmp_path / "config.yaml", data)
    assert ThalovantIdentity.from_config(path).site_id == "inner"


def test_without_profiles_top_level(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "config.yaml", {"version": 1, **IDENTITY})
    assert ThalovantIdentity.from_config(path).site_id == "site-1"
    assert ThalovantIdentity.from_config(path, profile="default").site_id == "site-1"


def test_without_profiles_an_explicit_profile_is_an_error(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "config.yaml", IDENTITY)
    with pytest.raises(ThalovantIdentityError, match="Missing Thalovant config profile: prod"):
        ThalovantIdentity.from_config(path, profile="prod")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"profiles": ["prod"]}, "profiles must be a mapping"),
        ({"profiles": {"default": "text"}}, r"profiles\.default must be a mapping"),
        ({"profiles": {"default": {"identity": [1]}}}, r"profiles\.default\.identity must be"),
        ({"identity": "text"}, "identity must be a mapping"),
    ],
)
def test_profile_wrong_types(tmp_path: Path, data: dict[str, Any], match: str) -> None:
    path = write_yaml(tmp_path / "config.yaml", data)
    with pytest.raises(ThalovantIdentityError, match=match) as info:
        ThalovantIdentity.from_config(path)
    assert str(path) in str(info.value)


def test_profile_field_error_names_profile_and_file(tmp_path: Path) -> None:
    data = {"profiles": {"prod": {"identity": {**IDENTITY, "site_id": None}}}}
    path = write_yaml(tmp_path / "config.yaml", data)
    with pytest.raises(ThalovantIdentityError) as info:
        ThalovantIdentity.from_config(path, profile="prod")
    message = str(info.value)
    assert "Missing identity field: site_id" in message
    assert "profile prod" in message
    assert str(path) in message


def test_spec_example_shape(tmp_path: Path) -> None:
    text = """
version: 1
profile: prod
profiles:
  prod:
    identity:
      access_key: ak
      password: pw
      site_id: kiosk-1
      default_master: https://hub.example.com
      default_port: 443
      data_plane_endpoints:
        wss: wss://hub.example.com/ws
        https: https://hub.example.com
        mqtt: mqtts://mqtt.example.com:8883
      mqtt:
        endpoint: mqtts://mqtt.example.com:8883
        username: mu
        password: mp
        topic_prefix: hubs/h/clients/c
        tls: true
"""
    identity = ThalovantIdentity.from_config(write(tmp_path / "config.yaml", text))
    assert identity.site_id == "kiosk-1"
    assert identity.select_protocol() == "wss"
    assert identity.endpoint_base() == "https://hub.example.com:443"
    assert identity.mqtt is not None
    assert identity.mqtt_topics().inbound == "hubs/h/clients/c/in"


def test_resolve_profile_direct() -> None:
    assert resolve_profile({"profiles": {"a": {"x": 1}}}, "a") == ("a", {"x": 1})
    assert resolve_profile({"x": 1}) == (None, {"x": 1})
