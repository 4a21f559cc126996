"""Typed answers of the hub-skill and device-login endpoints (docs/control-plane.md).

:class:`HubSkill`, :class:`HubSkillList` and :class:`HubSkillOperation` keep the official
field names; ``from_dict`` reads API objects loosely (a wrong type becomes ``None`` or the
default, never an exception), ``as_dict`` gives them back. :class:`DeviceLoginRequest` is what
:meth:`~thalovant.control.client.AsyncThalovantControlPlane.describe_device_login` returns.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Literal

import msgspec

from thalovant.control.models import OperationResource, unwrap_data
from thalovant.control.values import text_or_none

__all__ = [
    "DeviceLoginRequest",
    "HubSkill",
    "HubSkillList",
    "HubSkillOperation",
    "HubSkillOperationState",
    "HubSkillState",
]

HubSkillState = Literal["installed", "installing", "updating", "removing", "failed", "disabled"]
"""Where a skill stands on a hub (names inferred; other values are kept as sent)."""
HubSkillOperationState = Literal[
    "requested", "committed", "applied", "ready", "failed", "timed_out"
]
"""The state of an install, update or removal: the operation statuses of docs/protocol.md §7."""

_TEXT_FIELDS = (
    "title",
    "marketplace_skill_id",
    "package_name",
    "source_type",
    "install_source",
    "version",
    "version_pin",
    "installed_version",
    "observed_version",
    "previous_version",
    "latest_version",
    "available_version",
    "changelog",
    "operator_phase",
    "operator_message",
    "operator_last_error",
    "last_transition_at",
)


def _as_dict(struct: msgspec.Struct) -> dict[str, Any]:
    return {f: getattr(struct, f) for f in struct.__struct_fields__}


class HubSkill(msgspec.Struct, frozen=True, kw_only=True):
    """One skill on a hub: what is installed, what is available, what the operator says."""

    skill: str
    state: str
    title: str | None = None
    marketplace_skill_id: str | None = None
    package_name: str | None = None
    source_type: str | None = None
    install_source: str | None = None
    version: str | None = None
    version_pin: str | None = None
    installed_version: str | None = None
    observed_version: str | None = None
    previous_version: str | None = None
    latest_version: str | None = None
    available_version: str | None = None
    update_available: bool = False
    changelog: str | None = None
    active: bool = True
    operator_phase: str | None = None
    operator_message: str | None = None
    operator_last_error: str | None = None
    last_transition_at: str | None = None

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> HubSkill:
        """Parse one skill object (``skill`` falls back to ``skill_id``, ``id``, ``name``)."""
        name = (
            text_or_none(payload.get("skill"))
            or text_or_none(payload.get("skill_id"))
            or text_or_none(payload.get("name"))
            or text_or_none(payload.get("id"))
            or ""
        )
        return cls(
            skill=name,
            state=text_or_none(payload.get("state")) or "installed",
            update_available=payload.get("update_available") is True,
            active=payload.get("active") is not False,
            **{f: text_or_none(payload.get(f)) for f in _TEXT_FIELDS},
        )

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict."""
        return _as_dict(self)


class HubSkillList(msgspec.Struct, frozen=True, kw_only=True):
    """The skills of one hub (``GET /v1/hubs/{id}/skills``); iterating yields them."""

    hub_id: str
    data: list[HubSkill]
    runtime_group_id: str | None = None
    observed_at: str | None = None
    source: str | None = None
    operator_phase: str | None = None
    operator_message: str | None = None

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> HubSkillList:
        """Parse ``{"hub_id", "data": [skill, ...], ...}`` (non-object items are skipped)."""
        items = payload.get("data")
        return cls(
            hub_id=text_or_none(payload.get("hub_id")) or "",
            data=[
                HubSkill.from_dict(item)
                for item in (items if isinstance(items, list) else ())
                if isinstance(item, Mapping)
            ],
            **{
                f: text_or_none(payload.get(f))
                for f in (
                    "runtime_group_id",
                    "observed_at",
                    "source",
                    "operator_phase",
                    "operator_message",
                )
            },
        )

    def __iter__(self) -> Iterator[HubSkill]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def get(self, skill: str) -> HubSkill | None:
        """The skill called ``skill``, or ``None``."""
        return next((s for s in self.data if s.skill == skill), None)

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (skills as dicts too)."""
        out = _as_dict(self)
        out["data"] = [s.as_dict() for s in self.data]
        return out


class HubSkillOperation(msgspec.Struct, frozen=True, kw_only=True):
    """An accepted install, update or removal (HTTP 202), and its operation once waited for."""

    operation_id: str
    skill: str
    version: str | None
    state: str
    hub_id: str | None = None
    runtime_group_id: str | None = None
    previous_version: str | None = None
    operation: OperationResource | None = None

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> HubSkillOperation:
        """Parse ``{operation_id, skill, version, state, hub_id, runtime_group_id,
        previous_version}`` (an embedded ``operation`` object is parsed too)."""
        op = payload.get("operation")
        operation = OperationResource.from_mapping(op) if isinstance(op, Mapping) else None
        return cls(
            operation_id=text_or_none(payload.get("operation_id"))
            or (operation.id if operation and operation.id else ""),
            skill=text_or_none(payload.get("skill")) or "",
            version=text_or_none(payload.get("version")),
            state=text_or_none(payload.get("state")) or "requested",
            hub_id=text_or_none(payload.get("hub_id")),
            runtime_group_id=text_or_none(payload.get("runtime_group_id")),
            previous_version=text_or_none(payload.get("previous_version")),
            operation=operation,
        )

    @property
    def is_ready(self) -> bool:
        """True once the change is live on the hub."""
        return self.state == "ready"

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (the operation as the API sent it)."""
        out = _as_dict(self)
        out["operation"] = None if self.operation is None else dict(self.operation.raw)
        return out


def _when(value: object) -> datetime | None:
    text = text_or_none(value)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class DeviceLoginRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A pending device sign-in as the approving user sees it
    (``GET /v1/auth/device/codes/{user_code}``)."""

    scopes: tuple[str, ...]
    client_name: str | None
    expires_at: datetime | None
    client_id: str | None = None
    client_verified: bool = False
    device_name: str | None = None

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> DeviceLoginRequest:
        """Parse the answer (also when wrapped in ``{"data": ...}``)."""
        body = unwrap_data(payload)
        scopes = body.get("scopes", body.get("scope"))
        if isinstance(scopes, str):
            scopes = scopes.split()
        return cls(
            scopes=tuple(str(s) for s in scopes) if isinstance(scopes, (list, tuple)) else (),
            client_name=text_or_none(body.get("client_name")),
            expires_at=_when(body.get("expires_at")),
            client_id=text_or_none(body.get("client_id")),
            client_verified=body.get("client_verified") is True,
            device_name=text_or_none(body.get("device_name")),
        )
