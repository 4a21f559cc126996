"""Result types of the control plane (docs/protocol.md §7): operations, device sign-in, new
client identities.

Secret-holding types (:class:`DeviceLoginToken`, :class:`BootstrapIdentityResult`) never show
their secrets in ``repr()``; their ``as_dict()`` redacts unless ``include_secrets=True``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from thalovant.control.problems import DEFAULT_DEVICE_INTERVAL, scrub_secrets
from thalovant.control.provisioning import redact_client_resource
from thalovant.control.values import iso_datetime, positive_number, text_or_none
from thalovant.errors import ThalovantAPIError
from thalovant.identity.endpoints import SelectedHubEndpoint
from thalovant.identity.model import ThalovantIdentity
from thalovant.redact import REDACTED, redact_deep

__all__ = [
    "BootstrapIdentityResult",
    "DeviceAuthorization",
    "DeviceLoginToken",
    "OPERATION_FAILED",
    "OPERATION_PENDING",
    "OPERATION_READY",
    "OperationResource",
    "unwrap_data",
]

#: Operation statuses (docs/protocol.md §7): still moving, admitted/done, failed.
OPERATION_PENDING = frozenset({"requested", "committed", "applied"})
OPERATION_READY = "ready"
OPERATION_FAILED = frozenset({"failed", "timed_out"})

_WHITESPACE = re.compile(r"\s+")


def unwrap_data(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body["data"]`` when the resource is wrapped in ``{"data": {...}}``, else ``body``."""
    inner = body.get("data")
    if isinstance(inner, Mapping) and "id" not in body:
        return dict(inner)
    return dict(body)


class OperationResource(msgspec.Struct, frozen=True):
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
        """Parse an operation object (also when wrapped in ``{"data": ...}``).

        Args:
            mapping: The operation object; unknown keys stay in :attr:`raw`.

        Returns:
            The operation.
        """
        body = unwrap_data(mapping)
        links = body.get("links")
        details = body.get("details")
        skip = ("details", "links", "raw")
        names = [f.name for f in msgspec.structs.fields(cls) if f.name not in skip]
        return cls(
            **{name: text_or_none(body.get(name)) for name in names},
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

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> OperationResource:
        """The official name of :meth:`from_mapping`."""
        return cls.from_mapping(payload)

    def __repr__(self) -> str:
        return (
            f"OperationResource(id={self.id!r}, kind={self.kind!r}, status={self.status!r}, "
            f"error_code={self.error_code!r})"
        )


class DeviceAuthorization(msgspec.Struct, frozen=True):
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
        device_code = text_or_none(body.get("device_code"))
        user_code = text_or_none(body.get("user_code"))
        uri = text_or_none(body.get("verification_uri")) or text_or_none(
            body.get("verification_url")
        )
        if not (device_code and user_code and uri):
            raise ThalovantAPIError(
                "Thalovant API device authorization lacks device_code, user_code or "
                "verification_uri"
            )
        return cls(
            device_code=device_code,
            user_code=user_code,
            verification_uri=uri,
            verification_uri_complete=text_or_none(body.get("verification_uri_complete")),
            interval=positive_number(body.get("interval"), DEFAULT_DEVICE_INTERVAL),
            expires_in=positive_number(body.get("expires_in"), 900.0),
            raw=body,
        )

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> DeviceAuthorization:
        """The official name of :meth:`from_mapping`."""
        return cls.from_mapping(payload)

    def as_dict(self) -> dict[str, Any]:
        """The grant's fields (``device_code`` included: it is the polling secret)."""
        return {
            "device_code": self.device_code,
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": self.verification_uri_complete,
            "interval": self.interval,
            "expires_in": self.expires_in,
        }

    def __repr__(self) -> str:
        return (
            f"DeviceAuthorization(user_code={self.user_code!r}, "
            f"verification_uri={self.verification_uri!r}, interval={self.interval!r}, "
            f"expires_in={self.expires_in!r}, device_code={REDACTED!r})"
        )


class DeviceLoginPrompt(dict[str, Any]):
    """What ``login_with_browser`` shows the user: the official prompt dict (``user_code``,
    ``verification_uri``, ``verification_uri_complete``, ``expires_in``, ``interval``,
    ``message``; never the polling ``device_code``), whose ``str()`` is the message."""

    @classmethod
    def of(cls, grant: DeviceAuthorization) -> DeviceLoginPrompt:
        """The prompt for ``grant``."""
        message = (
            f"To sign in to Thalovant, open {grant.verification_uri} "
            f"and enter the code {grant.user_code}"
        )
        return cls(
            user_code=grant.user_code,
            verification_uri=grant.verification_uri,
            verification_uri_complete=grant.verification_uri_complete,
            expires_in=grant.expires_in,
            interval=grant.interval,
            message=message,
        )

    def __str__(self) -> str:
        return str(self.get("message", ""))


class DeviceLoginToken(msgspec.Struct, frozen=True):
    """An API token issued by a completed device login; ``repr()`` hides ``access_token``.

    It also reads as the official token dict: ``token["access_token"]``, ``token.get(...)``,
    ``dict(token)`` (the API's answer, unredacted).
    """

    access_token: str
    token_type: str | None = None
    scopes: tuple[str, ...] = ()
    expires_at: datetime | None = None
    token_id: str | None = None
    raw: dict[str, Any] = msgspec.field(default_factory=dict)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> DeviceLoginToken:
        """Parse ``{access_token, token_type?, scopes?, expires_at?, token_id?}``."""
        body = unwrap_data(mapping)
        token = text_or_none(body.get("access_token"))
        if not token:
            raise ThalovantAPIError("Thalovant API token answer has no access_token")
        scopes = body.get("scopes", body.get("scope"))
        if isinstance(scopes, str):
            scopes = scopes.split()
        return cls(
            access_token=token,
            token_type=text_or_none(body.get("token_type")),
            scopes=tuple(str(s) for s in scopes) if isinstance(scopes, (list, tuple)) else (),
            expires_at=iso_datetime(body.get("expires_at")),
            token_id=text_or_none(body.get("token_id")),
            raw=body,
        )

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> DeviceLoginToken:
        """The official name of :meth:`from_mapping`."""
        return cls.from_mapping(payload)

    def as_dict(self, include_secrets: bool = False) -> dict[str, Any]:
        """The token answer; ``access_token`` redacted unless ``include_secrets``."""
        return copy.deepcopy(self.raw) if include_secrets else redact_deep(self.raw)

    def _answer(self) -> dict[str, Any]:
        fields = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "scopes": list(self.scopes),
            "expires_at": self.raw.get("expires_at"),
            "token_id": self.token_id,
        }
        return {**self.raw, **fields}

    def __getitem__(self, key: str) -> Any:
        return self._answer()[key]

    def get(self, key: str, default: Any = None) -> Any:
        """A field of the token dict, or ``default``."""
        return self._answer().get(key, default)

    def keys(self) -> list[str]:
        """The fields of the token dict."""
        return list(self._answer())

    def __contains__(self, key: object) -> bool:
        return key in self._answer()

    def __len__(self) -> int:
        return len(self._answer())

    def __repr__(self) -> str:
        return (
            f"DeviceLoginToken(token_id={self.token_id!r}, token_type={self.token_type!r}, "
            f"scopes={self.scopes!r}, expires_at={self.expires_at!r}, "
            f"access_token={REDACTED!r})"
        )


class BootstrapIdentityResult:
    """A new client and its ready-to-save identity.

    What :meth:`~thalovant.control.client.AsyncThalovantControlPlane.create_client_identity`
    returns: the new client's :attr:`identity`, the :attr:`hub` resource it belongs to, the
    raw :attr:`client` resource, the data-plane :attr:`endpoint` chosen for it (with
    :attr:`selected_protocol`), its admission :attr:`operation` (if the API started one),
    :attr:`client_id` and :attr:`connection_type`.

    ``as_dict()`` is safe to log: the identity's secrets are redacted and the client resource
    loses its echoed ``apiKey``/``password``/``cryptoKey`` and ``initial_identify`` /
    ``initial_identify_token`` (``*Ref`` references stay). ``as_dict(include_secrets=True)``
    is for writing an identity file and must never be logged.
    """

    __slots__ = (
        "_secrets",
        "client",
        "client_id",
        "connection_type",
        "endpoint",
        "hub",
        "identity",
        "operation",
    )

    def __init__(
        self,
        identity: ThalovantIdentity,
        hub: Mapping[str, Any] | None = None,
        client: Mapping[str, Any] | None = None,
        endpoint: SelectedHubEndpoint | None = None,
        operation: OperationResource | None = None,
        *,
        client_id: str | None = None,
        connection_type: str | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.identity = identity
        self.hub: dict[str, Any] = dict(hub or {})
        self.client: dict[str, Any] = dict(client or {})
        self.endpoint = endpoint
        self.operation = operation
        self.client_id = client_id
        self.connection_type = connection_type
        extra = [identity.access_key, identity.password]
        if identity.mqtt is not None:
            extra += [identity.mqtt.password, identity.mqtt.username]
        self._secrets = tuple({*secrets, *extra})

    @property
    def selected_protocol(self) -> str | None:
        """The protocol of :attr:`endpoint` (None when no endpoint was chosen)."""
        return self.endpoint.protocol if self.endpoint is not None else None

    def as_dict(self, include_secrets: bool = False) -> dict[str, Any]:
        """``{"client_id", "connection_type", "selected_protocol", "endpoint", "identity",
        "hub", "client", "operation"}``."""
        raw_op = self.operation.raw if self.operation is not None else None
        endpoint = dict(self.endpoint._asdict()) if self.endpoint is not None else None
        if include_secrets:
            return {
                "client_id": self.client_id,
                "connection_type": self.connection_type,
                "selected_protocol": self.selected_protocol,
                "endpoint": endpoint,
                "identity": self.identity.as_dict(include_secrets=True),
                "hub": copy.deepcopy(self.hub),
                "client": copy.deepcopy(self.client),
                "operation": copy.deepcopy(raw_op),
            }
        out = {
            "client_id": self.client_id,
            "connection_type": self.connection_type,
            "selected_protocol": self.selected_protocol,
            "endpoint": endpoint,
            "identity": self.identity.as_dict(),
            "hub": redact_deep(self.hub),
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
