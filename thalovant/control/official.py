"""Control-plane names the official SDK exports at the top level: the device-login request
type, the operation statuses, the Home Assistant constants and ``hub_display_name``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from thalovant.control.models import DeviceLoginToken, unwrap_data
from thalovant.control.values import iso_datetime, text_or_none

__all__ = [
    "CONNECTION_TYPE_HOME_ASSISTANT",
    "HOME_ASSISTANT_CLIENT_ID",
    "HOME_ASSISTANT_SCOPES",
    "ApiToken",
    "DeviceLoginRequest",
    "OperationStatus",
    "hub_display_name",
]

#: ``spec.connection_type`` of a Home Assistant client (one per hub).
CONNECTION_TYPE_HOME_ASSISTANT = "home_assistant"
#: The device-login ``client_id`` of the Home Assistant integration.
HOME_ASSISTANT_CLIENT_ID = "thalovant-home-assistant"
#: The scopes the Home Assistant integration signs in with.
HOME_ASSISTANT_SCOPES: tuple[str, ...] = ("hubs:read", "clients:read", "clients:write")

OperationStatus = Literal["requested", "committed", "applied", "ready", "failed", "timed_out"]
"""The statuses of a control-plane operation."""

ApiToken = DeviceLoginToken
"""An API token (the official name of :class:`~thalovant.control.models.DeviceLoginToken`)."""


@dataclass(frozen=True)
class DeviceLoginRequest:
    """What a pending device login asks for (``describe_device_login(user_code)``), shown
    to the user before approving it."""

    scopes: tuple[str, ...]
    client_name: str | None
    expires_at: datetime | None
    client_id: str | None = None
    client_verified: bool = False
    device_name: str | None = None

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> DeviceLoginRequest:
        """Parse ``{scopes, client_name, expires_at, client_id, client_verified,
        device_name}`` (or the same under ``data``); malformed fields become empty.

        Args:
            payload: The API's answer.

        Returns:
            The request.
        """
        body = unwrap_data(payload)
        scopes = body.get("scopes", body.get("scope"))
        if isinstance(scopes, str):
            scopes = scopes.split()
        return cls(
            scopes=tuple(str(s) for s in scopes) if isinstance(scopes, (list, tuple)) else (),
            client_name=text_or_none(body.get("client_name")),
            expires_at=iso_datetime(body.get("expires_at")),
            client_id=text_or_none(body.get("client_id")),
            client_verified=body.get("client_verified") is True,
            device_name=text_or_none(body.get("device_name")),
        )


def hub_display_name(hub: Mapping[str, Any]) -> str:
    """The name to show for a hub resource: its catalog title, else its name, slug or id.

    Args:
        hub: A hub resource (or one wrapped in ``data``).

    Returns:
        The name; ``"Thalovant hub"`` when the resource names none.
    """
    body = unwrap_data(hub) if isinstance(hub, Mapping) else {}
    spec = body.get("spec") if isinstance(body.get("spec"), Mapping) else {}
    catalog = spec.get("catalog") if isinstance(spec, Mapping) else None
    title = catalog.get("title") if isinstance(catalog, Mapping) else None
    for value in (title, body.get("name"), body.get("slug"), body.get("id")):
        text = text_or_none(value)
        if text:
            return text
    return "Thalovant hub"
