"""Low-level parsing helpers for identity mappings (docs/protocol.md §1).

Every function here turns loosely typed input (JSON, YAML, environment variables) into one
normalised value, or raises :class:`~thalovant.errors.ThalovantIdentityError` naming the field.
Values are never echoed in error messages: a misplaced secret must not end up in a traceback.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from thalovant.errors import ThalovantIdentityError, ThalovantUnsupportedProtocolError
from thalovant.redact import REDACTED, redact_url

__all__ = [
    "ENDPOINT_SCHEMES",
    "canonical_protocol",
    "field_text",
    "first_value",
    "normalize_endpoint",
    "normalize_path",
    "normalize_topic_prefix",
    "parse_flag",
    "parse_endpoint_map",
    "parse_identity_scalars",
    "parse_metadata",
    "parse_mqtt_block",
    "parse_port",
    "parse_protocol_flags",
    "parse_qos",
    "require_mapping",
    "safe_url",
    "type_name",
    "with_port",
]

logger = logging.getLogger("thalovant.identity")

#: Schemes a data-plane endpoint may use; anything else is discarded (docs/protocol.md §1.3).
ENDPOINT_SCHEMES = frozenset({"http", "https", "ws", "wss", "mqtt", "mqtts"})

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on", "enable", "enabled"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off", "disable", "disabled"})

_METADATA_MAX_DEPTH = 32
_METADATA_MAX_NODES = 10_000

#: Port of the HiveMind HTTP plugin, used when an identity has no ``default_port``.
DEFAULT_HUB_PORT = 5679

# canonical key first, then aliases in order (docs/protocol.md §1.1 and §1.2)
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "access_key": ("access_key", "key", "api_key", "apiKey"),
    "password": ("password",),
    "default_master": (
        "default_master",
        "defaultMaster",
        "host",
        "hub_http_host",
        "hubHttpHost",
        "master",
    ),
    "site_id": ("site_id", "siteId", "site", "client_id", "clientId"),
}
_PORT = ("default_port", "port", "hub_http_port")
_PATH = ("default_path", "defaultPath", "hub_http_path", "path", "uri_path")
ENDPOINT_MAPS = ("data_plane_endpoints", "dataPlaneEndpoints", "endpoints")
_MQTT_ENDPOINT = ("endpoint", "broker_url", "brokerUrl")
_MQTT_USERNAME = ("username", "broker_username", "brokerUsername")
_MQTT_PASSWORD = ("password", "broker_password", "brokerPassword")
_MQTT_PREFIX = ("topic_prefix", "topicPrefix")

_PROTOCOL_ALIASES = {
    "wss": "wss",
    "ws": "wss",
    "websocket": "wss",
    "https": "https",
    "http": "https",
    "mqtt": "mqtt",
    "mqtts": "mqtt",
}


def type_name(value: object) -> str:
    """A short, value-free description of ``value``'s type for error messages."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    return type(value).__name__


def require_mapping(value: object, label: str) -> Mapping[str, Any]:
    """Return ``value`` if it is a mapping, else raise naming ``label``."""
    if not isinstance(value, Mapping):
        raise ThalovantIdentityError(f"{label} must be a mapping, not {type_name(value)}")
    return value


def _text(value: object, label: str) -> str:
    """``str()`` and strip a scalar; ``None`` is empty; containers and booleans are refused."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ThalovantIdentityError(f"{label} must be a string, not {type_name(value)}")
    return str(value).strip()


def field_text(mapping: Mapping[str, Any], names: tuple[str, ...], label: str) -> str | None:
    """First non-empty value among ``names`` (canonical key first), stripped; else ``None``."""
    for name in names:
        if name in mapping:
            text = _text(mapping[name], label if name == names[0] else f"{label} ({name})")
            if text:
                return text
    return None


def parse_port(value: object, label: str) -> int:
    """An integer TCP port (1-65535) from an int, an integral float or a decimal string."""
    port: int | None = None
    if isinstance(value, bool):
        port = None
    elif isinstance(value, int):
        port = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        port = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 6:
            port = int(text)
    if port is None:
        got = "" if isinstance(value, str) else f", not {type_name(value)}"
        raise ThalovantIdentityError(f"{label} must be an integer{got}")
    if not 1 <= port <= 65535:
        raise ThalovantIdentityError(f"{label} must be between 1 and 65535")
    return port


def normalize_path(text: str | None) -> str:
    """``"a/b/"`` → ``"/a/b"``; empty or ``"/"`` → ``""``."""
    inner = (text or "").strip().strip("/")
    return f"/{inner}" if inner else ""


def normalize_endpoint(value: object, *, default_scheme: str, label: str) -> str | None:
    """Normalise one data-plane endpoint URL, or ``None`` when it must be discarded.

    A value without ``://`` gets ``default_scheme`` (the secure scheme of its key); a value with
    a scheme outside :data:`ENDPOINT_SCHEMES`, without a host, or with a bad port is dropped.
    Trailing slashes are removed.
    """
    text = _text(value, label)
    if not text:
        return None
    if "://" not in text:
        text = f"{default_scheme}://{text}"
    text = text.rstrip("/")
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        logger.debug("Discarding %s: malformed URL", label)
        return None
    if parts.scheme.lower() not in ENDPOINT_SCHEMES:
        logger.debug("Discarding %s: unsupported URL scheme", label)
        return None
    if not parts.hostname:
        logger.debug("Discarding %s: no host in %s", label, redact_url(text))
        return None
    return text


def parse_flag(value: object, label: str) -> bool | None:
    """A boolean from a bool, 0/1, or a yes/no style string; ``None``/empty → ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        folded = value.strip().lower()
        if not folded:
            return None
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
        raise ThalovantIdentityError(f"{label} must be a boolean (true/false, yes/no, on/off)")
    raise ThalovantIdentityError(f"{label} must be a boolean, not {type_name(value)}")


def parse_qos(value: object) -> int:
    """MQTT QoS: 0 stays 0, everything else is 1 (docs/protocol.md §1.2)."""
    if isinstance(value, bool):
        return 1
    if isinstance(value, int) and value == 0:
        return 0
    if isinstance(value, str) and value.strip() == "0":
        return 0
    return 1


def normalize_topic_prefix(value: object, label: str = "mqtt.topic_prefix") -> str:
    """Strip whitespace and ``/``; refuse empty prefixes, ``#``, ``+`` and control characters."""
    text = _text(value, label).strip("/").strip()
    if not text:
        raise ThalovantIdentityError(f"{label} must not be empty")
    if "#" in text or "+" in text:
        raise ThalovantIdentityError(f"{label} must not contain the MQTT wildcards '#' or '+'")
    if any(ord(char) < 0x20 for char in text):
        raise ThalovantIdentityError(f"{label} must not contain control characters")
    return text


def parse_metadata(value: object, label: str = "metadata") -> dict[str, Any]:
    """A JSON-compatible deep copy of ``metadata`` (dates become ISO strings).

    Depth and size are bounded, so a YAML alias bomb or a self-referencing structure is an
    error rather than a hang.
    """
    if value is None:
        return {}
    mapping = require_mapping(value, label)
    budget = [_METADATA_MAX_NODES]
    return {
        str(key): _json_value(item, f"{label}.{key}", 1, budget) for key, item in mapping.items()
    }


def _json_value(value: object, label: str, depth: int, budget: list[int]) -> Any:
    if depth > _METADATA_MAX_DEPTH:
        raise ThalovantIdentityError(f"{label} is nested too deeply")
    budget[0] -= 1
    if budget[0] < 0:
        raise ThalovantIdentityError(f"{label.split('.')[0]} is too large")
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ThalovantIdentityError(f"{label} must be a finite number")
        return value
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {
            str(key): _json_value(item, f"{label}.{key}", depth + 1, budget)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [
            _json_value(item, f"{label}[{i}]", depth + 1, budget) for i, item in enumerate(value)
        ]
    raise ThalovantIdentityError(f"{label} must be JSON-compatible, not {type_name(value)}")


def canonical_protocol(name: object) -> str:
    """``"wss"``, ``"https"`` or ``"mqtt"`` for a protocol name or alias.

    Accepts ``wss``/``ws``/``websocket``, ``https``/``http`` and ``mqtt``/``mqtts`` in any case;
    anything else raises :class:`~thalovant.errors.ThalovantUnsupportedProtocolError`.
    """
    folded = name.strip().lower() if isinstance(name, str) else ""
    canonical = _PROTOCOL_ALIASES.get(folded)
    if canonical is None:
        shown = repr(name[:40]) if isinstance(name, str) else type_name(name)
        raise ThalovantUnsupportedProtocolError(
            f"Unknown protocol {shown}; expected one of wss, https, mqtt"
        )
    return canonical


def safe_url(url: str) -> str:
    """``url`` without userinfo or query, also for scheme-less ``user:pw@host`` values."""
    if "://" not in url and "@" in url:
        return f"{REDACTED}@{url.rsplit('@', 1)[1]}"
    return redact_url(url)


def first_value(mapping: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """First value among ``names`` that is neither ``None`` nor a blank string."""
    for name in names:
        value = mapping.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        return value
    return None


def with_port(url: str, port: int) -> str:
    """Insert ``:port`` after the host of ``url`` unless its netloc already has a port."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    host = netloc.rpartition("@")[2]
    after_host = host.rpartition("]")[2] if host.startswith("[") else host
    if ":" in after_host and after_host.rpartition(":")[2]:
        return url
    return f"{scheme}{sep}{netloc.rstrip(':')}:{port}{tail}"


def parse_identity_scalars(data: Mapping[str, Any]) -> dict[str, Any]:
    """The scalar fields of an identity mapping, looked up through their aliases, normalised.

    Those are ``access_key``, ``password``, ``default_master``, ``site_id``, ``default_port``
    and ``default_path``.
    """
    values: dict[str, Any] = {}
    for field, names in REQUIRED_FIELDS.items():
        text = field_text(data, names, field)
        if text is None:
            also = f" (also accepted: {', '.join(names[1:])})" if len(names) > 1 else ""
            raise ThalovantIdentityError(f"Missing identity field: {field}{also}")
        values[field] = text
    values["default_master"] = values["default_master"].rstrip("/") or values["default_master"]
    raw_port = first_value(data, _PORT)
    values["default_port"] = (
        DEFAULT_HUB_PORT if raw_port is None else parse_port(raw_port, "default_port")
    )
    values["default_path"] = normalize_path(field_text(data, _PATH, "default_path"))
    return values


def parse_endpoint_map(
    data: Mapping[str, Any], *, label: str = "data_plane_endpoints", strict: bool = True
) -> dict[str, str | None]:
    """``{"https", "wss", "mqtt"}`` URLs from an endpoint map (docs/protocol.md §1.3).

    ``https`` ← ``https``/``http``, ``wss`` ← ``wss``/``ws``, ``mqtt`` ← ``mqtt``/``mqtts`` (a
    mapping there is reduced to its broker URL). ``strict=False`` is for searching an identity's
    top level: values of the wrong type are skipped there instead of raising.
    """
    found: dict[str, str | None] = {}
    for field, keys, scheme in (
        ("https", ("https", "http"), "https"),
        ("wss", ("wss", "ws"), "wss"),
        ("mqtt", ("mqtt", "mqtts"), "mqtts"),
    ):
        found[field] = None
        for key in keys:
            value = data.get(key)
            where = f"{label}.{key}" if strict else key
            if field == "mqtt" and isinstance(value, Mapping):
                value = field_text(value, _MQTT_ENDPOINT, f"{where}.endpoint")
            elif value is not None and not isinstance(value, str):
                if strict:
                    raise ThalovantIdentityError(
                        f"{where} must be a URL string, not {type_name(value)}"
                    )
                continue
            url = normalize_endpoint(value, default_scheme=scheme, label=where)
            if url is not None:
                found[field] = url
                break
    return found


def protocol_source(data: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, str]:
    """Where an identity keeps its protocol flags (docs/protocol.md §1.4).

    ``spec.protocols`` if ``spec`` exists, else ``protocols``, else ``network``.

    Returns:
        ``(mapping or None, label)``.
    """
    spec = data.get("spec")
    if spec is not None:
        flags = require_mapping(spec, "spec").get("protocols")
        return (None if flags is None else require_mapping(flags, "spec.protocols")), (
            "spec.protocols"
        )
    for key in ("protocols", "network"):
        if data.get(key) is not None:
            return require_mapping(data[key], key), key
    return None, "protocols"


def parse_protocol_flags(
    data: Mapping[str, Any] | None, label: str = "protocols"
) -> dict[str, bool]:
    """``{"wss", "http", "mqtt"}`` flags; defaults ``wss=True``, ``http=False``, ``mqtt=False``.

    Keys ``wss``/``websocket``, ``http``/``https``, ``mqtt``; values a bool, a yes/no style
    string or ``{"enabled": ...}``.
    """
    flags = {"wss": True, "http": False, "mqtt": False}
    if data is None:
        return flags
    require_mapping(data, label)
    for field, keys in (
        ("wss", ("wss", "websocket")),
        ("http", ("http", "https")),
        ("mqtt", ("mqtt",)),
    ):
        for key in keys:
            value = data.get(key)
            where = f"{label}.{key}"
            if isinstance(value, Mapping):
                value, where = value.get("enabled"), f"{where}.enabled"
            parsed = parse_flag(value, where)
            if parsed is not None:
                flags[field] = parsed
                break
    return flags


def parse_mqtt_block(data: Mapping[str, Any], label: str = "mqtt") -> dict[str, Any] | None:
    """Fields of an ``mqtt`` block (docs/protocol.md §1.2).

    ``None`` unless endpoint, username and password are all present. A topic prefix is
    validated and normalised when present; ``c2s_topic``/``s2c_topic``/``status_topic`` are
    ignored (topics derive from the prefix).
    """
    require_mapping(data, label)
    endpoint = field_text(data, _MQTT_ENDPOINT, f"{label}.endpoint")
    username = field_text(data, _MQTT_USERNAME, f"{label}.username")
    password = field_text(data, _MQTT_PASSWORD, f"{label}.password")
    raw_prefix = field_text(data, _MQTT_PREFIX, f"{label}.topic_prefix")
    prefix = (
        None if raw_prefix is None else normalize_topic_prefix(raw_prefix, f"{label}.topic_prefix")
    )
    if not (endpoint and username and password):
        fields = (("endpoint", endpoint), ("username", username), ("password", password))
        missing = ", ".join(name for name, value in fields if not value)
        logger.debug("Ignoring incomplete %s block (missing %s)", label, missing)
        return None
    tls = parse_flag(data.get("tls"), f"{label}.tls")
    if tls is None:
        tls = endpoint.lower().startswith(("mqtts://", "ssl://"))
    return {
        "endpoint": endpoint,
        "username": username,
        "password": password,
        "topic_prefix": prefix,
        "qos": parse_qos(data.get("qos")),
        "tls": tls,
    }
