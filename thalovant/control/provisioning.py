"""The pure helpers behind client provisioning (docs/protocol.md §1, §7): the new client's
``spec``, what a hub resource says about reaching it, the identity built from the answer, and
a loggable copy of a client resource.

No I/O here: :meth:`~thalovant.control.client.AsyncThalovantControlPlane.create_client_identity`
sends the request and hands the answer to these functions.
"""

from __future__ import annotations

import copy
import logging
import re
import secrets as _secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import msgspec

from thalovant.control.problems import scrub_secrets
from thalovant.control.values import fold_key, text_or_none
from thalovant.errors import ThalovantIdentityError
from thalovant.identity.endpoints import (
    HubDataPlaneEndpoints,
    HubProtocolSettings,
    select_data_plane_endpoint,
)
from thalovant.identity.model import ThalovantIdentity
from thalovant.identity.parse import ENDPOINT_MAPS, REQUIRED_FIELDS, first_value
from thalovant.redact import redact_deep

__all__ = [
    "HubDataPlane",
    "bootstrap_identity",
    "build_client_spec",
    "clean_site_id",
    "fallback_master",
    "hub_data_plane",
    "redact_client_resource",
]

logger = logging.getLogger("thalovant.control")

_PORT_NAMES = ("default_port", "port", "hub_http_port")
_WHITESPACE = re.compile(r"\s+")
# Key spellings folded by fold_key(): credentials in an echoed spec, one-time identify payloads.
_SPEC_SECRETS = frozenset({"apikey", "accesskey", "password", "cryptokey"})
_SPEC_OWNED = _SPEC_SECRETS | {"siteid", "connectiontype"}
_ONE_TIME = frozenset({"initialidentify", "initialidentifytoken"})


def redact_client_resource(client: Mapping[str, Any], secrets: Iterable[str] = ()) -> Any:
    """A loggable copy of a client resource.

    ``initial_identify``/``initial_identify_token`` are dropped at any depth, credentials
    dropped from every ``spec``, other secret-named values redacted, ``*Ref`` references kept.

    Args:
        client: The client resource.
        secrets: Strings scrubbed wherever they appear.

    Returns:
        The copy.
    """

    def walk(value: Any, in_spec: bool = False) -> Any:
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                folded = fold_key(key)
                if folded in _ONE_TIME or (in_spec and folded in _SPEC_SECRETS):
                    continue
                out[str(key)] = walk(item, in_spec=folded == "spec")
            return out
        if isinstance(value, (list, tuple)):
            return [walk(item) for item in value]
        return value

    return scrub_secrets(redact_deep(walk(client)), secrets)


def clean_site_id(value: object) -> str:
    """``_`` → ``-``, whitespace runs → ``-``; empty → ``thalovant-client-<8 hex>``."""
    text = "" if value is None else str(value).strip().replace("_", "-")
    text = _WHITESPACE.sub("-", text)
    return text or f"thalovant-client-{_secrets.token_hex(4)}"


def build_client_spec(
    spec: Mapping[str, Any] | None,
    *,
    api_key: str,
    password: str,
    site_id: str,
    connection_type: str | None,
) -> dict[str, Any]:
    """The ``spec`` of a new client.

    It is the caller's spec without any credential or crypto-key spelling, ``version`` ``"1"``
    unless given, ``connection_type`` when asked for, and the freshly minted
    ``apiKey``/``password`` with the cleaned ``siteId``.
    """
    out = {
        str(k): copy.deepcopy(v) for k, v in (spec or {}).items() if fold_key(k) not in _SPEC_OWNED
    }
    out.setdefault("version", "1")
    if connection_type:
        out["connection_type"] = connection_type
    out["apiKey"] = api_key
    out["password"] = password
    out["siteId"] = site_id
    return out


class HubDataPlane(NamedTuple):
    """What a hub resource says about reaching it: endpoints (domain-filled), flags, host."""

    endpoints: HubDataPlaneEndpoints
    protocols: HubProtocolSettings
    domain: str | None


def _domain_host(value: object) -> str | None:
    text = text_or_none(value)
    if not text:
        return None
    netloc = urlsplit(text if "://" in text else f"https://{text}").netloc
    return netloc.rpartition("@")[2] or None


def hub_data_plane(hub: Mapping[str, Any]) -> HubDataPlane:
    """Endpoints and protocol flags of a hub resource (docs/protocol.md §1.3, §1.4).

    A missing ``https``/``wss`` endpoint is filled from the hub ``domain`` only when that
    protocol is enabled. Malformed parts are ignored rather than fatal: the hub object comes
    from the API, and a client can still be provisioned from what remains.
    """
    raw = next((hub[k] for k in ENDPOINT_MAPS if isinstance(hub.get(k), Mapping)), None)
    try:
        endpoints = HubDataPlaneEndpoints.from_mapping(raw) if raw else HubDataPlaneEndpoints()
    except ThalovantIdentityError:
        endpoints = HubDataPlaneEndpoints()
    try:
        protocols = HubProtocolSettings.from_identity_mapping(hub)
    except ThalovantIdentityError:
        protocols = HubProtocolSettings()
    host = _domain_host(hub.get("domain"))
    if host:
        fill: dict[str, str] = {}
        if endpoints.https is None and protocols.http:
            fill["https"] = f"https://{host}"
        if endpoints.wss is None and protocols.wss:
            fill["wss"] = f"wss://{host}"
        endpoints = msgspec.structs.replace(endpoints, **fill)
    return HubDataPlane(endpoints, protocols, host)


def fallback_master(plane: HubDataPlane, preferred: Sequence[str]) -> str | None:
    """``default_master`` for an identity built without ``initial_identify``.

    It is the hub's https endpoint without its path, else ``https://<domain>``, else the
    preferred endpoint; ``None`` when the hub gives no address.
    """
    if plane.endpoints.https:
        parts = urlsplit(plane.endpoints.https)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    if plane.domain:
        return f"https://{plane.domain}"
    chosen = select_data_plane_endpoint(plane.endpoints, plane.protocols, preferred)
    return chosen[1] if chosen else None


def bootstrap_identity(
    resource: Mapping[str, Any],
    plane: HubDataPlane,
    preferred: Sequence[str],
    site: str,
    minted: tuple[str, str],
) -> ThalovantIdentity | None:
    """The new client's identity.

    It is ``initial_identify`` (gaps filled from the local values) with the hub's endpoints and
    flags overlaid; else an identity from the minted secrets; ``None`` when no address.
    """
    master = fallback_master(plane, preferred)
    local: dict[str, Any] = {
        "access_key": minted[0],
        "password": minted[1],
        "site_id": site,
        "default_port": 443,
    }
    if master:
        local["default_master"] = master
    initial = resource.get("initial_identify", resource.get("initialIdentify"))
    identity = None
    if isinstance(initial, Mapping):
        merged = dict(initial)
        for field, names in (*REQUIRED_FIELDS.items(), ("default_port", _PORT_NAMES)):
            if field in local and first_value(initial, names) is None:
                merged[field] = local[field]
        try:
            identity = ThalovantIdentity.from_mapping(merged)
        except ThalovantIdentityError as exc:
            logger.warning("Unusable initial_identify (%s); using the minted secrets", exc)
    if identity is None:
        if not master:
            return None
        identity = ThalovantIdentity.from_mapping(local)
    own = identity.data_plane_endpoints
    endpoints = HubDataPlaneEndpoints(
        wss=plane.endpoints.wss or own.wss,
        https=plane.endpoints.https or own.https,
        mqtt=plane.endpoints.mqtt or own.mqtt,
    )
    return msgspec.structs.replace(
        identity, data_plane_endpoints=endpoints, protocols=plane.protocols
    )
