"""Result types of the control plane and the pure helpers behind client provisioning.

Secret-holding types (:class:`DeviceLoginToken`, :class:`BootstrapIdentityResult`) never show
their secrets in ``repr()``; their ``as_dict()`` redacts unless ``include_secrets=True``.
"""

from __future__ import annotations

import copy
import logging
import re
import secrets as _secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit, urlunsplit

import msgspec

from thalovant.control.problems import DEFAULT_DEVICE_INTERVAL, scrub_secrets
from thalovant.errors import (
    ThalovantAdmissionFailedError,
    ThalovantAPIError,
    ThalovantIdentityError,
)
from thalovant.identity.model import (
    HubDataPlaneEndpoints,
    HubProtocolSettings,
    ThalovantIdentity,
    select_data_plane_endpoint,
)
from thalovant.identity.parse import ENDPOINT_MAPS, REQUIRED_FIELDS, first_value
from thalovant.redact import REDACTED, redact_deep

__all__ = [
    "BootstrapIdentityResult",
    "DeviceAuthorization",
    "DeviceLoginToken",
    "HubDataPlane",
    "OPERATION_FAILED",
    "OPERATION_PENDING",
    "OPERATION_READY",
    "OperationResource",
    "bootstrap_identity",
    "build_client_spec",
    "clean_site_id",
    "fallback_master",
    "hub_data_plane",
    "next_page_cursor",
    "operation_of",
    "redact_client_resource",
    "settle_operation",
    "unwrap_data",
]

#: Operation statuses (docs/protocol.md §7): still moving, admitted/done, failed.
OPERATION_PENDING = frozenset({"requested", "committed", "applied"})
OPERATION_READY = "ready"
OPERATION_FAILED = frozenset({"failed", "timed_out"})

logger = logging.getLogger("thalovant.control")

_PORT_NAMES = ("default_port", "port", "hub_http_port")
_WHITESPACE = re.compile(r"\s+")
# Key spellings folded by _fold(): credentials in an echoed spec, one-time identify payloads.
_SPEC_SECRETS = frozenset({"apikey", "accesskey", "password", "cryptokey"})
_SPEC_OWNED = _SPEC_SECRETS | {"siteid", "connectiontype"}
_ONE_TIME = frozenset({"initialidentify", "initialidentifytoken"})


def _fold(key: object) -> str:
    return str(key).lower().replace("_", "").replace("-", "")


def _opt_str(value: object) -> str | None:
    if value is None or isinstance(value, (Mapping, list, tuple)):
        return None
    text = str(value).strip()
    return text or None


def _number(value: object, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return default
    try:
        number = float(value)
    except ValueError:
        return default
    return number if number > 0 and number == number and number != float("inf") else default


def unwrap_data(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body["data"]`` when the resource is wrapped in ``{"data": {...}}``, else ``body``."""
    inner = body.get("data")
    if isinstance(inner, Mapping) and "id" not in body:
        return dict(inner)
    return dict(body)


class OperationResource(msgspec.Struct, frozen=True, kw_only=True):
    """An asynchronous control-plane operation (``GET /v1/operations/{id}``).

    ``status`` moves ``requested`` → ``committed`` → ``applied`` → ``ready``, or ends in
    ``failed``/``timed_out`` with ``error_code``/``error_message``. ``raw`` is the API object.
    """

    id: str | None = None
    kind: str | None = None
    aggregate_type: str | None = None
    aggregate_id: str | None = None
    status: str | None = None
    details: dict[str, Any] | None = None
    git_commit_sha: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    committed_at: str | None = None
    applied_at: str | None = None
    ready_at: str | None = None
    terminal_at: str | None = None
    links: dict[str, str] = msgspec.field(default_factory=dict)
    raw: dict[str, Any] = msgspec.field(default_factory=dict)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> OperationResource:
        """Parse an operation object (also when wrapped in ``{"data": ...}``); unknown keys
        stay in :attr:`raw`."""
        body = unwrap_data(mapping)
        links = body.get("links")
        details = body.get("details")
        skip = ("details", "links", "raw")
        names = [f.name for f in msgspec.structs.fields(cls) if f.name not in skip]
        return cls(
            **{name: _opt_str(body.get(name)) for name in names},
            details=dict(details) if isinstance(details, Mapping) else None,
            links={str(k): str(v) for k, v in (links or {}).items() if isinstance(v, str) and v}
            if isinstance(links, Mapping)
            else {},
            raw=body,
        )

    @property
    def is_ready(self) -> bool:
        """True when the operation completed (for a new client: it was admitted)."""
        return (self.status or "").lower() == OPERATION_READY

    @property
    def is_failed(self) -> bool:
        """True when the operation ended in ``failed`` or ``timed_out``."""
        return (self.status or "").lower() in OPERATION_FAILED

    @property
    def is_terminal(self) -> bool:
        """True when the operation will not change any more."""
        return self.is_ready or self.is_failed

    @property
    def self_link(self) -> str | None:
        """``links.self``: where the API says this operation can be read."""
        return self.links.get("self")

    def raise_for_failure(self) -> None:
        """Raise :class:`~thalovant.errors.ThalovantAPIError` if the operation failed."""
        if self.is_failed:
            text = f"Thalovant operation {self.id or '?'} ended {self.status}"
            if self.error_code:
                text += f" ({self.error_code})"
            if self.error_message:
                text += f": {_WHITESPACE.sub(' ', self.error_message)[:200]}"
            raise ThalovantAPIError(text, code=self.error_code, detail=self.error_message)

    def __repr__(self) -> str:
        return (
            f"OperationResource(id={self.id!r}, kind={self.kind!r}, status={self.status!r}, "
            f"error_code={self.error_code!r})"
        )


class DeviceAuthorization(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to ``POST /v1/auth/device/authorize`` (RFC 8628 device authorization).

    Show ``user_code`` and ``verification_uri`` to the user; keep ``device_code`` private (it
    is what :meth:`~thalovant.control.client.AsyncThalovantControlPlane.poll_device_login` redeems).
    """

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None = None
    interval: float = DEFAULT_DEVICE_INTERVAL
    expires_in: float = 900.0
    raw: dict[str, Any] = msgspec.field(default_factory=dict)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> DeviceAuthorization:
        """Parse the authorize answer; ``interval`` defaults to 5 s, ``expires_in`` to 900 s."""
        body = unwrap_data(mapping)
        device_code = _opt_str(body.get("device_code"))
        user_code = _opt_str(body.get("user_code"))
        uri = _opt_str(body.get("verification_uri")) or _opt_str(body.get("verification_url"))
        if not (device_code and user_code and uri):
            raise ThalovantAPIError(
                "Thalovant API device authorization lacks device_code, user_code or "
                "verification_uri"
            )
        return cls(
            device_code=device_code,
            user_code=user_code,
            verification_uri=uri,
            verification_uri_complete=_opt_str(body.get("verification_uri_complete")),
            interval=_number(body.get("interval"), DEFAULT_DEVICE_INTERVAL),
            expires_in=_number(body.get("expires_in"), 900.0),
            raw=body,
        )

    def __repr__(self) -> str:
        return (
            f"DeviceAuthorization(user_code={self.user_code!r}, "
            f"verification_uri={self.verification_uri!r}, interval={self.interval!r}, "
            f"expires_in={self.expires_in!r}, device_code={REDACTED!r})"
        )


class DeviceLoginToken(msgspec.Struct, frozen=True, kw_only=True):
    """An API token issued by a completed device login; ``repr()`` hides ``access_token``."""

    access_token: str
    token_type: str | None = None
    scopes: tuple[str, ...] = ()
    expires_at: str | None = None
    token_id: str | None = None
    raw: dict[str, Any] = msgspec.field(default_factory=dict)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> DeviceLoginToken:
        """Parse ``{access_token, token_type?, scopes?, expires_at?, token_id?}``."""
        body = unwrap_data(mapping)
        token = _opt_str(body.get("access_token"))
        if not token:
            raise ThalovantAPIError("Thalovant API token answer has no access_token")
        scopes = body.get("scopes", body.get("scope"))
        if isinstance(scopes, str):
            scopes = scopes.split()
        return cls(
            access_token=token,
            token_type=_opt_str(body.get("token_type")),
            scopes=tuple(str(s) for s in scopes) if isinstance(scopes, (list, tuple)) else (),
            expires_at=_opt_str(body.get("expires_at")),
            token_id=_opt_str(body.get("token_id")),
            raw=body,
        )

    def as_dict(self, include_secrets: bool = False) -> dict[str, Any]:
        """The token answer; ``access_token`` redacted unless ``include_secrets``."""
        return copy.deepcopy(self.raw) if include_secrets else redact_deep(self.raw)

    def __repr__(self) -> str:
        return (
            f"DeviceLoginToken(token_id={self.token_id!r}, token_type={self.token_type!r}, "
            f"scopes={self.scopes!r}, expires_at={self.expires_at!r}, "
            f"access_token={REDACTED!r})"
        )


class BootstrapIdentityResult:
    """What :meth:`~thalovant.control.client.AsyncThalovantControlPlane.create_client_identity`
    returns: the new client's :attr:`identity`, the raw :attr:`client` resource, its
    admission :attr:`operation` (if the API started one), :attr:`client_id` and
    :attr:`connection_type`.

    ``as_dict()`` is safe to log: the identity's secrets are redacted and the client resource
    loses its echoed ``apiKey``/``password``/``cryptoKey`` and ``initial_identify`` /
    ``initial_identify_token`` (``*Ref`` references stay). ``as_dict(include_secrets=True)``
    is for writing an identity file and must never be logged.
    """

    __slots__ = ("_secrets", "client", "client_id", "connection_type", "identity", "operation")

    def __init__(
        self,
        *,
        identity: ThalovantIdentity,
        client: Mapping[str, Any],
        operation: OperationResource | None = None,
        client_id: str | None = None,
        connection_type: str | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.identity = identity
        self.client: dict[str, Any] = dict(client)
        self.operation = operation
        self.client_id = client_id
        self.connection_type = connection_type
        extra = [identity.access_key, identity.password]
        if identity.mqtt is not None:
            extra += [identity.mqtt.password, identity.mqtt.username]
        self._secrets = tuple({*secrets, *extra})

    def as_dict(self, include_secrets: bool = False) -> dict[str, Any]:
        """``{"client_id", "connection_type", "identity", "client", "operation"}``."""
        raw_op = self.operation.raw if self.operation is not None else None
        if include_secrets:
            return {
                "client_id": self.client_id,
                "connection_type": self.connection_type,
                "identity": self.identity.as_dict(include_secrets=True),
                "client": copy.deepcopy(self.client),
                "operation": copy.deepcopy(raw_op),
            }
        out = {
            "client_id": self.client_id,
            "connection_type": self.connection_type,
            "identity": self.identity.as_dict(),
            "client": redact_client_resource(self.client),
            "operation": None if raw_op is None else redact_deep(raw_op),
        }
        result: dict[str, Any] = scrub_secrets(out, self._secrets)
        return result

    def __repr__(self) -> str:
        return (
            f"BootstrapIdentityResult(client_id={self.client_id!r}, "
            f"connection_type={self.connection_type!r}, identity={self.identity!r}, "
            f"operation={self.operation!r})"
        )


def redact_client_resource(client: Mapping[str, Any], secrets: Iterable[str] = ()) -> Any:
    """A loggable copy of a client resource: ``initial_identify``/``initial_identify_token``
    dropped at any depth, credentials dropped from every ``spec``, other secret-named values
    redacted, ``*Ref`` references kept, and the given secret strings scrubbed."""

    def walk(value: Any, in_spec: bool = False) -> Any:
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                folded = _fold(key)
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
    """The ``spec`` of a new client: the caller's spec without any credential or crypto-key
    spelling, ``version`` ``"1"`` unless given, ``connection_type`` when asked for, and the
    freshly minted ``apiKey``/``password`` with the cleaned ``siteId``."""
    out = {str(k): copy.deepcopy(v) for k, v in (spec or {}).items() if _fold(k) not in _SPEC_OWNED}
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
    text = _opt_str(value)
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
    """``default_master`` for an identity built without ``initial_identify``: the hub's https
    endpoint without its path, else ``https://<domain>``, else the preferred endpoint."""
    if plane.endpoints.https:
        parts = urlsplit(plane.endpoints.https)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    if plane.domain:
        return f"https://{plane.domain}"
    chosen = select_data_plane_endpoint(plane.endpoints, plane.protocols, preferred)
    return chosen[1] if chosen else None


def _cursor_from(value: object) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("href") or value.get("cursor")
    text = _opt_str(value)
    if not text:
        return None
    if "://" in text or text.startswith(("/", "?")):
        found = parse_qs(urlsplit(text).query).get("cursor")
        return found[0] if found and found[0] else None
    return text


def next_page_cursor(page: Mapping[str, Any]) -> str | None:
    """The cursor of the next page: top-level ``next_cursor``, ``meta.next_cursor``,
    ``meta.next``, ``links.next`` (a URL: its ``cursor`` query parameter) or ``next``."""
    meta = page.get("meta") if isinstance(page.get("meta"), Mapping) else {}
    links = page.get("links") if isinstance(page.get("links"), Mapping) else {}
    assert isinstance(meta, Mapping)
    assert isinstance(links, Mapping)
    for candidate in (
        page.get("next_cursor"),
        meta.get("next_cursor"),
        meta.get("next"),
        links.get("next"),
        page.get("next"),
    ):
        found = _cursor_from(candidate)
        if found:
            return found
    return None


def operation_of(target: object) -> OperationResource | None:
    """The operation to wait for: a result's ``.operation``, an :class:`OperationResource`, a
    client resource's ``operation`` or an operation mapping; ``None`` for a string or None."""
    if target is None or isinstance(target, str):
        return None
    if isinstance(target, BootstrapIdentityResult):
        return target.operation
    if isinstance(target, OperationResource):
        return target
    if isinstance(target, Mapping):
        if "operation" in target:  # a client resource
            inner = target["operation"]
            return OperationResource.from_mapping(inner) if isinstance(inner, Mapping) else None
        return OperationResource.from_mapping(target)
    raise TypeError(f"Cannot wait for a {type(target).__name__}")


def settle_operation(operation: OperationResource, admission: bool) -> OperationResource:
    """``operation`` itself, except that a failed admission raises
    :class:`~thalovant.errors.ThalovantAdmissionFailedError` with its ``error_code``."""
    if admission and operation.is_failed:
        detail = (operation.error_message or "")[:200] or None
        text = f"Client was not admitted: operation ended {operation.status}"
        if operation.error_code:
            text += f" ({operation.error_code})"
        raise ThalovantAdmissionFailedError(
            f"{text}: {detail}" if detail else text,
            error_code=operation.error_code,
            code=operation.error_code,
            detail=detail,
            problem=operation.raw,
        )
    return operation


def bootstrap_identity(
    resource: Mapping[str, Any],
    plane: HubDataPlane,
    preferred: Sequence[str],
    site: str,
    minted: tuple[str, str],
) -> ThalovantIdentity | None:
    """``initial_identify`` (gaps filled from the local values) with the hub's endpoints and
    flags overlaid; else an identity from the minted secrets; ``None`` when no address."""
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
