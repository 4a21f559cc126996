"""thalovant: an asyncio-native, wire-compatible SDK for Thalovant hubs.

Public names are imported lazily, so ``import thalovant`` stays fast for CLIs and the heavy
network libraries load only when a client is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import DEFAULT_USER_AGENT, __version__
from .errors import *  # noqa: F403  (the exception tree is small and always needed)
from .errors import __all__ as _error_names
from .events import *  # noqa: F403
from .events import __all__ as _event_names

if TYPE_CHECKING:
    from ._dispatch import ThalovantBinary as ThalovantBinary
    from .client import AsyncThalovantClient as AsyncThalovantClient
    from .context import build_client_context as build_client_context
    from .context import build_location as build_location
    from .context import request_context as request_context
    from .control import DEFAULT_CONTROL_API_URL as DEFAULT_CONTROL_API_URL
    from .control import AsyncThalovantControlPlane as AsyncThalovantControlPlane
    from .control import BootstrapIdentityResult as BootstrapIdentityResult
    from .control_sync import ThalovantControlPlane as ThalovantControlPlane
    from .conversation import AsyncThalovantConversation as AsyncThalovantConversation
    from .identity import HubDataPlaneEndpoints as HubDataPlaneEndpoints
    from .identity import HubProtocolSettings as HubProtocolSettings
    from .identity import MqttBrokerCredentials as MqttBrokerCredentials
    from .identity import MqttTopicSet as MqttTopicSet
    from .identity import ThalovantIdentity as ThalovantIdentity
    from .identity import mqtt_topics_for_identity as mqtt_topics_for_identity
    from .identity import select_data_plane_endpoint as select_data_plane_endpoint
    from .models import ThalovantConnectionInfo as ThalovantConnectionInfo
    from .models import ThalovantDisplayItem as ThalovantDisplayItem
    from .models import ThalovantEvent as ThalovantEvent
    from .models import ThalovantHealth as ThalovantHealth
    from .models import ThalovantReply as ThalovantReply
    from .models import strip_ssml as strip_ssml
    from .sync import ThalovantClient as ThalovantClient
    from .sync import ThalovantConversation as ThalovantConversation

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "AsyncThalovantClient": "thalovant.client",
    "AsyncThalovantConversation": "thalovant.conversation",
    "ThalovantBinary": "thalovant._dispatch",
    "build_client_context": "thalovant.context",
    "DEFAULT_CONTROL_API_URL": "thalovant.control",
    "AsyncThalovantControlPlane": "thalovant.control",
    "BootstrapIdentityResult": "thalovant.control",
    "ThalovantControlPlane": "thalovant.control_sync",
    "build_location": "thalovant.context",
    "request_context": "thalovant.context",
    "HubDataPlaneEndpoints": "thalovant.identity",
    "HubProtocolSettings": "thalovant.identity",
    "MqttBrokerCredentials": "thalovant.identity",
    "MqttTopicSet": "thalovant.identity",
    "ThalovantIdentity": "thalovant.identity",
    "mqtt_topics_for_identity": "thalovant.identity",
    "select_data_plane_endpoint": "thalovant.identity",
    "ThalovantConnectionInfo": "thalovant.models",
    "ThalovantDisplayItem": "thalovant.models",
    "ThalovantEvent": "thalovant.models",
    "ThalovantHealth": "thalovant.models",
    "ThalovantReply": "thalovant.models",
    "strip_ssml": "thalovant.models",
    "ThalovantClient": "thalovant.sync",
    "ThalovantConversation": "thalovant.sync",
}

__all__ = [
    "DEFAULT_USER_AGENT",
    "__version__",
    *_error_names,
    *_event_names,
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'thalovant' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
