"""Config and identity files: location, permission check, YAML reading, profile resolution.

Identity files and the YAML config hold the access key and password, so both are read through
:func:`read_private_text`, which refuses files that other users could read or write (any bit of
``0o077``) on POSIX systems. The one exception is a Kubernetes projected secret, whose files are
symlinks into a ``..data`` folder that Kubernetes owns.

Error messages name the file and the problem, never the file's contents.
"""

from __future__ import annotations

import json
import logging
import ntpath
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from thalovant.errors import ThalovantIdentityError
from thalovant.identity.parse import normalize_topic_prefix, parse_port, require_mapping, type_name

__all__ = [
    "DEFAULT_CONFIG_FILENAME",
    "MAX_FILE_BYTES",
    "check_private_file",
    "default_config_path",
    "env_identity_mapping",
    "load_config_identity",
    "load_json_mapping",
    "load_yaml_mapping",
    "read_private_text",
    "resolve_profile",
]

logger = logging.getLogger("thalovant.identity")

#: File name of the config inside the config folder.
DEFAULT_CONFIG_FILENAME = "config.yaml"

#: Identity and config files larger than this are refused (they are a few hundred bytes).
MAX_FILE_BYTES = 1024 * 1024

# Tests flip this to exercise the Windows behaviour (no POSIX mode bits to check).
_POSIX_PERMISSIONS = os.name != "nt"

_PROFILE_KEYS = ("profile", "default_profile", "defaultProfile")


def default_config_path() -> Path:
    """Where :meth:`ThalovantIdentity.from_config` looks when no path is given.

    ``$XDG_CONFIG_HOME/thalovant/config.yaml`` when ``XDG_CONFIG_HOME`` is set to an absolute
    path; else on Windows with ``APPDATA``: ``%APPDATA%\\Thalovant\\config.yaml``; else
    ``~/.config/thalovant/config.yaml``.
    """
    return Path(_default_config_path(os.environ, os.name))


def _default_config_path(environ: Mapping[str, str], os_name: str) -> str:
    xdg = environ.get("XDG_CONFIG_HOME", "").strip()
    # The XDG spec says relative values are invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "thalovant", DEFAULT_CONFIG_FILENAME)
    appdata = environ.get("APPDATA", "").strip()
    if os_name == "nt" and appdata:
        return ntpath.join(appdata, "Thalovant", DEFAULT_CONFIG_FILENAME)
    return os.path.join(os.path.expanduser("~"), ".config", "thalovant", DEFAULT_CONFIG_FILENAME)


def _is_k8s_projected_secret(path: str, environ: Mapping[str, str]) -> bool:
    """A Kubernetes projected secret: the file and a ``..data`` sibling are both symlinks."""
    if not environ.get("KUBERNETES_SERVICE_HOST"):
        return False
    sibling = os.path.join(os.path.dirname(path), "..data")
    return os.path.islink(path) and os.path.islink(sibling)


def check_private_file(
    path: str | os.PathLike[str],
    mode: int,
    *,
    what: str = "file",
    environ: Mapping[str, str] | None = None,
) -> None:
    """Raise unless ``mode`` (of the file at ``path``) gives no access to group or others."""
    if not _POSIX_PERMISSIONS or not mode & 0o077:
        return
    name = os.fspath(path)
    if _is_k8s_projected_secret(name, os.environ if environ is None else environ):
        logger.debug("Accepting %s %s: Kubernetes projected secret", what, name)
        return
    raise ThalovantIdentityError(
        f"{what.capitalize()} {name} is accessible by other users "
        f"(mode {stat.S_IMODE(mode):04o}); it holds secrets, run: chmod 600 {name}"
    )


def read_private_text(path: str | os.PathLike[str], *, what: str = "file") -> str:
    """Read a UTF-8 file that must be private to its owner (see :func:`check_private_file`)."""
    name = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags)
    except FileNotFoundError:
        raise ThalovantIdentityError(f"{what.capitalize()} not found: {name}") from None
    except OSError as exc:
        raise ThalovantIdentityError(
            f"Cannot read {what} {name}: {exc.strerror or type(exc).__name__}"
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ThalovantIdentityError(f"{what.capitalize()} {name} is not a regular file")
        check_private_file(name, info.st_mode, what=what)
        if info.st_size > MAX_FILE_BYTES:
            raise ThalovantIdentityError(f"{what.capitalize()} {name} is too large")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ThalovantIdentityError(
            f"Cannot read {what} {name}: {exc.strerror or type(exc).__name__}"
        ) from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise ThalovantIdentityError(f"{what.capitalize()} {name} is too large")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ThalovantIdentityError(f"{what.capitalize()} {name} is not valid UTF-8") from None


def load_yaml_mapping(path: str | os.PathLike[str], *, what: str = "config file") -> dict[str, Any]:
    """Read a private YAML file with ``yaml.safe_load``; the top level must be a mapping."""
    name = os.fspath(path)
    text = read_private_text(name, what=what)
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        # str(exc) quotes the offending line, which may hold a secret: report the position only.
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ThalovantIdentityError(f"Invalid YAML in {what} {name}{where}") from None
    except (yaml.YAMLError, RecursionError, ValueError):
        raise ThalovantIdentityError(f"Invalid YAML in {what} {name}") from None
    if data is None:
        raise ThalovantIdentityError(f"{what.capitalize()} {name} is empty")
    if not isinstance(data, Mapping):
        raise ThalovantIdentityError(
            f"{what.capitalize()} {name} must contain a mapping at the top level, "
            f"not {type_name(data)}"
        )
    return {str(key): value for key, value in data.items()}


def load_json_mapping(
    path: str | os.PathLike[str], *, what: str = "identity file"
) -> dict[str, Any]:
    """Read a private JSON file; the top level must be an object."""
    name = os.fspath(path)
    text = read_private_text(name, what=what)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ThalovantIdentityError(
            f"Invalid JSON in {what} {name} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except (RecursionError, ValueError):
        raise ThalovantIdentityError(f"Invalid JSON in {what} {name}") from None
    if not isinstance(data, dict):
        raise ThalovantIdentityError(
            f"{what.capitalize()} {name} must contain a JSON object, not {type_name(data)}"
        )
    return data


def env_identity_mapping(
    prefix: str = "THALOVANT_", environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """An identity mapping from environment variables (docs/protocol.md §1.6).

    Missing required variables are reported together, by variable name; a bad port or topic
    prefix names its variable. See :meth:`ThalovantIdentity.from_env` for the table.
    """
    env = os.environ if environ is None else environ

    def get(*suffixes: str) -> tuple[str, str | None]:
        for suffix in suffixes:
            value = (env.get(prefix + suffix) or "").strip()
            if value:
                return prefix + suffix, value
        return prefix + suffixes[0], None

    mapping: dict[str, Any] = {}
    missing: list[str] = []
    for field, suffixes in (
        ("access_key", ("ACCESS_KEY",)),
        ("password", ("PASSWORD",)),
        ("site_id", ("SITE_ID",)),
        ("default_master", ("HUB_HTTP_HOST", "DEFAULT_MASTER")),
    ):
        mapping[field] = get(*suffixes)[1]
        if mapping[field] is None:
            names = [prefix + suffix for suffix in suffixes]
            missing.append(" or ".join(names))
    if missing:
        raise ThalovantIdentityError(f"Missing environment variable(s): {', '.join(missing)}")
    port_var, port = get("HUB_HTTP_PORT", "DEFAULT_PORT")
    if port is not None:
        mapping["default_port"] = parse_port(port, port_var)
    mapping["default_path"] = get("HUB_HTTP_PATH", "DEFAULT_PATH")[1]
    mapping["data_plane_endpoints"] = {
        "https": get("HUB_HTTPS_HOST", "HUB_HTTP_HOST")[1],
        "wss": get("HUB_WSS_HOST", "HUB_WEBSOCKET_HOST")[1],
        "mqtt": get("HUB_MQTT_HOST")[1],
    }
    prefix_var, topic_prefix = get("MQTT_TOPIC_PREFIX")
    if topic_prefix is not None:
        topic_prefix = normalize_topic_prefix(topic_prefix, f"mqtt.topic_prefix ({prefix_var})")
    mqtt = {
        "endpoint": get("MQTT_ENDPOINT", "HUB_MQTT_HOST")[1],
        "username": get("MQTT_USERNAME")[1],
        "password": get("MQTT_PASSWORD")[1],
        "topic_prefix": topic_prefix,
        "qos": get("MQTT_QOS")[1],
    }
    if any(value is not None for value in mqtt.values()):
        mapping["mqtt"] = mqtt
    return mapping


def _name(value: object) -> str:
    """A profile name from a string or a number (YAML reads ``profile: 2024`` as an int)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    return str(value).strip()


def resolve_profile(
    config: Mapping[str, Any], profile: str | None = None
) -> tuple[str | None, Mapping[str, Any]]:
    """Pick the identity mapping out of a parsed config (docs/protocol.md §1.6).

    With a top-level ``profiles`` mapping the profile is ``profile``, else the top-level
    ``profile`` / ``default_profile`` / ``defaultProfile``, else ``"default"``; inside it an
    ``identity`` sub-mapping is used when present. Without ``profiles`` the top-level
    ``identity`` mapping (or the top level itself) is the identity, and asking for a profile
    other than ``"default"`` is an error rather than silently using another identity.

    Returns ``(profile name or None, identity mapping)``.
    """
    wanted = _name(profile) or None
    profiles = config.get("profiles")
    if profiles is None:
        if wanted is not None and wanted != "default":
            raise ThalovantIdentityError(
                f"Missing Thalovant config profile: {wanted} (the config has no profiles)"
            )
        identity = config.get("identity")
        if identity is None:
            return None, config
        return None, require_mapping(identity, "identity")
    profiles = require_mapping(profiles, "profiles")
    if wanted is None:
        named = (_name(config.get(key)) for key in _PROFILE_KEYS)
        wanted = next((name for name in named if name), "default")
    by_name = {str(key).strip(): value for key, value in profiles.items()}
    if by_name.get(wanted) is None:
        raise ThalovantIdentityError(f"Missing Thalovant config profile: {wanted}")
    chosen = require_mapping(by_name[wanted], f"profiles.{wanted}")
    identity = chosen.get("identity")
    if identity is None:
        return wanted, chosen
    return wanted, require_mapping(identity, f"profiles.{wanted}.identity")


def load_config_identity(
    path: str | os.PathLike[str] | None = None, profile: str | None = None
) -> tuple[Mapping[str, Any], str, str | None]:
    """Read the config file and return ``(identity mapping, absolute path, profile name)``."""
    name = os.path.abspath(os.fspath(path) if path is not None else default_config_path())
    config = load_yaml_mapping(name)
    try:
        chosen, identity = resolve_profile(config, profile)
    except ThalovantIdentityError as exc:
        raise ThalovantIdentityError(f"{exc} (config file {name})") from None
    logger.debug("Using %s of config file %s", f"profile {chosen}" if chosen else "identity", name)
    return identity, name, chosen
