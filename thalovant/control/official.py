"""Control-plane names the official SDK exports at the top level: the API token type, the
operation statuses, the Home Assistant constants and ``hub_display_name``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from thalovant.control.models import DeviceLoginToken, unwrap_data
from thalovant.control.values import text_or_none

__all__ = [
    "CONNECTION_TYPE_HOME_ASSISTANT",
    "HOME_ASSISTANT_CLIENT_ID",
    "HOME_ASSISTANT_SCOPES",
    "ApiToken",
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
