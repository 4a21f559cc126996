"""The hub's state on disk: client registry, allow-lists, node keys, identities, private files.

The lowest layer of the hub above :mod:`thalovant.hub.limits`: it imports nothing of the
responder, the servers or the control plane (docs/architecture.md, "The hub").
"""

from __future__ import annotations

from thalovant.hub.state.allowed_types import DEFAULT_ALLOWED_TYPES, normalize_allowed_types
from thalovant.hub.state.identities import client_identity, write_identity_file
from thalovant.hub.state.keys import ClientPsks, HubKeys
from thalovant.hub.state.registry import (
    ClientExistsError,
    ClientRecord,
    ClientRegistry,
    InvalidClientError,
)

__all__ = [
    "DEFAULT_ALLOWED_TYPES",
    "ClientExistsError",
    "ClientPsks",
    "ClientRecord",
    "ClientRegistry",
    "HubKeys",
    "InvalidClientError",
    "client_identity",
    "normalize_allowed_types",
    "write_identity_file",
]
