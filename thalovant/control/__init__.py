"""The asynchronous control-plane client (REST ``/v1``)."""

from __future__ import annotations

from thalovant.control.client import (
    DEFAULT_CONTROL_API_URL,
    AsyncThalovantControlPlane,
    BootstrapIdentityResult,
    DeviceAuthorization,
    DeviceLoginToken,
    OperationResource,
)

__all__ = [
    "DEFAULT_CONTROL_API_URL",
    "AsyncThalovantControlPlane",
    "BootstrapIdentityResult",
    "DeviceAuthorization",
    "DeviceLoginToken",
    "OperationResource",
]
