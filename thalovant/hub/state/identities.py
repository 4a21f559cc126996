"""A registered client's identity: built from its record and the hub's endpoints, written
to a private file.

:func:`client_identity` is what :meth:`~thalovant.hub.LocalHub.identity_for` returns (the
identity JSON of docs/protocol.md §1.1, with the ``mqtt`` block of §1.2 when the client has
broker credentials); :func:`write_identity_file` stores one with its secrets (mode 0600).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from thalovant.hub.state.files import write_private_json
from thalovant.hub.state.registry import ClientRecord
from thalovant.identity.model import ThalovantIdentity

__all__ = ["client_identity", "write_identity_file"]


def write_identity_file(identity: ThalovantIdentity, path: str | os.PathLike[str]) -> Path:
    """Write ``identity`` with its secrets to ``path`` (mode 0600, atomic).

    Args:
        identity: The identity to write (``as_dict(include_secrets=True)``).
        path: Where to write it (``~`` is expanded).

    Returns:
        The absolute path written.

    Raises:
        ThalovantRuntimeError: The file could not be written.
    """
    target = Path(path).expanduser().absolute()
    write_private_json(target, identity.as_dict(include_secrets=True))
    return target


def client_identity(
    record: ClientRecord,
    *,
    wss_url: str,
    wss_port: int,
    plane: dict[str, Any],
    mqtt_prefix: str | None,
) -> ThalovantIdentity:
    """The identity of ``record`` for a hub at ``wss_url`` with the data plane ``plane``.

    Args:
        record: The client's registry record.
        wss_url: The hub's WebSocket URL (the default protocol).
        wss_port: Its port.
        plane: ``data_plane_endpoints`` and ``protocols`` of the hub (changed in place:
            ``protocols["mqtt"]`` is turned off when the client has no usable broker account).
        mqtt_prefix: The client's MQTT topic prefix (``None``: the hub runs no MQTT).

    Returns:
        The identity, with the client's own broker account when MQTT is usable.
    """
    mapping: dict[str, Any] = {
        "access_key": record.access_key,
        "password": record.password,
        "site_id": record.site_id,
        "default_master": wss_url,
        "default_port": wss_port,
        **plane,
    }
    mqtt_url = plane["data_plane_endpoints"].get("mqtt")
    if (
        mqtt_prefix is not None
        and mqtt_url is not None
        and record.mqtt_username
        and record.mqtt_password
        and not any(ch in record.access_key for ch in "/#+")
    ):
        mapping["mqtt"] = {
            "endpoint": mqtt_url,
            "username": record.mqtt_username,
            "password": record.mqtt_password,
            "topic_prefix": mqtt_prefix,
            "tls": mqtt_url.startswith("mqtts://"),
        }
    else:  # no broker credentials for this client: MQTT is not usable
        plane["protocols"]["mqtt"] = False
    return ThalovantIdentity.from_mapping(mapping)
