"""thalovant: an asyncio-native, wire-compatible SDK for Thalovant hubs.

Public names are imported lazily, so ``import thalovant`` stays fast for CLIs and the heavy
network libraries load only when a client is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from thalovant._version import DEFAULT_USER_AGENT, __version__
from thalovant.errors import *  # noqa: F403  (the exception tree is small and always needed)
from thalovant.errors import __all__ as _error_names
from thalovant.events import *  # noqa: F403
from thalovant.events import __all__ as _event_names
from thalovant.telemetry.logs import configure_from_env as _configure_logging

_configure_logging()  # THALOVANT_LOG=debug|info (thalovant/telemetry/logs.py)

if TYPE_CHECKING:
    from thalovant.agent import AsyncHubSession as AsyncHubSession
    from thalovant.agent import AsyncThalovantAgent as AsyncThalovantAgent
    from thalovant.agent import HubKeyChange as HubKeyChange
    from thalovant.agent import HubSession as HubSession
    from thalovant.agent import HubSessionPolicy as HubSessionPolicy
    from thalovant.agent import HubSessionState as HubSessionState
    from thalovant.agent import OriginPreference as OriginPreference
    from thalovant.agent import ThalovantAgent as ThalovantAgent
    from thalovant.agent import accept_hub_keys as accept_hub_keys
    from thalovant.agent import preferred_origin as preferred_origin
    from thalovant.bus.routing import ThalovantBinary as ThalovantBinary
    from thalovant.carriers.faces import AsyncHiveMindHTTPTransport as AsyncHiveMindHTTPTransport
    from thalovant.carriers.faces import AsyncHiveMindMQTTTransport as AsyncHiveMindMQTTTransport
    from thalovant.carriers.faces import AsyncHiveMindWSSTransport as AsyncHiveMindWSSTransport
    from thalovant.client.client import AsyncThalovantClient as AsyncThalovantClient
    from thalovant.client.context import build_client_context as build_client_context
    from thalovant.client.context import build_location as build_location
    from thalovant.client.context import request_context as request_context
    from thalovant.client.conversation import (
        AsyncThalovantConversation as AsyncThalovantConversation,
    )

    # names of the official SDK (tests/compat)
    from thalovant.client.home import HomeAnswer as HomeAnswer
    from thalovant.client.home import HomeRequest as HomeRequest
    from thalovant.client.streaming import (
        AsyncThalovantReplyStream as AsyncThalovantReplyStream,
    )
    from thalovant.client.subscribing import EventHandler as EventHandler
    from thalovant.client.subscribing import EventPredicate as EventPredicate
    from thalovant.client.subscribing import ThalovantSubscription as ThalovantSubscription
    from thalovant.control.client import DEFAULT_CONTROL_API_URL as DEFAULT_CONTROL_API_URL
    from thalovant.control.client import AsyncThalovantControlPlane as AsyncThalovantControlPlane
    from thalovant.control.client import BootstrapIdentityResult as BootstrapIdentityResult
    from thalovant.control.models import DeviceAuthorization as DeviceAuthorization
    from thalovant.control.models import OperationResource as OperationResource
    from thalovant.control.native import DEFAULT_NATIVE_SCOPES as DEFAULT_NATIVE_SCOPES
    from thalovant.control.native import NativeSignIn as NativeSignIn
    from thalovant.control.native import begin_native_sign_in as begin_native_sign_in
    from thalovant.control.native import challenge_for as challenge_for
    from thalovant.control.native import is_thalovant_url as is_thalovant_url
    from thalovant.control.native import new_verifier as new_verifier
    from thalovant.control.official import (
        CONNECTION_TYPE_HOME_ASSISTANT as CONNECTION_TYPE_HOME_ASSISTANT,
    )
    from thalovant.control.official import HOME_ASSISTANT_CLIENT_ID as HOME_ASSISTANT_CLIENT_ID
    from thalovant.control.official import HOME_ASSISTANT_SCOPES as HOME_ASSISTANT_SCOPES
    from thalovant.control.official import ApiToken as ApiToken
    from thalovant.control.official import OperationStatus as OperationStatus
    from thalovant.control.official import hub_display_name as hub_display_name
    from thalovant.control.skill_models import DeviceLoginRequest as DeviceLoginRequest
    from thalovant.control.skill_models import HubSkill as HubSkill
    from thalovant.control.skill_models import HubSkillList as HubSkillList
    from thalovant.control.skill_models import HubSkillOperation as HubSkillOperation
    from thalovant.control.skill_models import HubSkillOperationState as HubSkillOperationState
    from thalovant.control.skill_models import HubSkillState as HubSkillState
    from thalovant.identity.config import default_config_path as default_config_path
    from thalovant.identity.endpoints import (
        DEFAULT_PROTOCOL_PREFERENCE as DEFAULT_PROTOCOL_PREFERENCE,
    )
    from thalovant.identity.endpoints import HubDataPlaneEndpoints as HubDataPlaneEndpoints
    from thalovant.identity.endpoints import HubProtocol as HubProtocol
    from thalovant.identity.endpoints import HubProtocolSettings as HubProtocolSettings
    from thalovant.identity.endpoints import SelectedHubEndpoint as SelectedHubEndpoint
    from thalovant.identity.endpoints import hub_hostname as hub_hostname
    from thalovant.identity.endpoints import (
        select_data_plane_endpoint as select_data_plane_endpoint,
    )
    from thalovant.identity.model import ThalovantIdentity as ThalovantIdentity
    from thalovant.identity.model import mqtt_topics_for_identity as mqtt_topics_for_identity
    from thalovant.identity.mqtt import MqttBrokerCredentials as MqttBrokerCredentials
    from thalovant.identity.mqtt import MqttTopicSet as MqttTopicSet
    from thalovant.models.doctor import ThalovantDoctorCheck as ThalovantDoctorCheck
    from thalovant.models.doctor import ThalovantDoctorReport as ThalovantDoctorReport
    from thalovant.models.intents import HubFallback as HubFallback
    from thalovant.models.intents import HubIntent as HubIntent
    from thalovant.models.intents import HubIntentInventory as HubIntentInventory
    from thalovant.models.intents import HubSkillIntents as HubSkillIntents
    from thalovant.models.intents import IntentDefinition as IntentDefinition
    from thalovant.models.intents import IntentRegistration as IntentRegistration
    from thalovant.models.inventory import Intent as Intent
    from thalovant.models.inventory import Inventory as Inventory
    from thalovant.models.inventory import Skill as Skill
    from thalovant.models.inventory import languages_present as languages_present
    from thalovant.models.listing import as_sentence as as_sentence
    from thalovant.models.listing import common_affix as common_affix
    from thalovant.models.listing import friendly_title as friendly_title
    from thalovant.models.listing import humanize as humanize
    from thalovant.models.listing import sort_key as sort_key
    from thalovant.models.listing import speakable as speakable
    from thalovant.models.listing import strip_affix as strip_affix
    from thalovant.models.listing_cache import InventoryCache as InventoryCache
    from thalovant.models.types import ThalovantConnectionInfo as ThalovantConnectionInfo
    from thalovant.models.types import ThalovantDisplayItem as ThalovantDisplayItem
    from thalovant.models.types import ThalovantEvent as ThalovantEvent
    from thalovant.models.types import ThalovantHealth as ThalovantHealth
    from thalovant.models.types import ThalovantReply as ThalovantReply
    from thalovant.models.types import strip_ssml as strip_ssml
    from thalovant.sync.bridges import ThalovantReplyStream as ThalovantReplyStream
    from thalovant.sync.client import ThalovantClient as ThalovantClient
    from thalovant.sync.client import ThalovantConversation as ThalovantConversation
    from thalovant.sync.control import ThalovantControlPlane as ThalovantControlPlane
    from thalovant.sync.home import answer_home_requests as answer_home_requests
    from thalovant.sync.transports import HiveMindHTTPTransport as HiveMindHTTPTransport
    from thalovant.sync.transports import HiveMindMQTTTransport as HiveMindMQTTTransport
    from thalovant.sync.transports import HiveMindWSSTransport as HiveMindWSSTransport

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "AsyncThalovantClient": "thalovant.client.client",
    "AsyncThalovantConversation": "thalovant.client.conversation",
    "AsyncThalovantReplyStream": "thalovant.client.streaming",
    "ThalovantBinary": "thalovant.bus.routing",
    "build_client_context": "thalovant.client.context",
    "DEFAULT_CONTROL_API_URL": "thalovant.control.client",
    "AsyncThalovantControlPlane": "thalovant.control.client",
    "BootstrapIdentityResult": "thalovant.control.client",
    "DeviceLoginRequest": "thalovant.control.skill_models",
    "HubSkill": "thalovant.control.skill_models",
    "HubSkillList": "thalovant.control.skill_models",
    "HubSkillOperation": "thalovant.control.skill_models",
    "HubSkillOperationState": "thalovant.control.skill_models",
    "HubSkillState": "thalovant.control.skill_models",
    "ThalovantControlPlane": "thalovant.sync.control",
    "build_location": "thalovant.client.context",
    "request_context": "thalovant.client.context",
    "HubDataPlaneEndpoints": "thalovant.identity.endpoints",
    "HubProtocolSettings": "thalovant.identity.endpoints",
    "MqttBrokerCredentials": "thalovant.identity.mqtt",
    "MqttTopicSet": "thalovant.identity.mqtt",
    "ThalovantIdentity": "thalovant.identity.model",
    "mqtt_topics_for_identity": "thalovant.identity.model",
    "select_data_plane_endpoint": "thalovant.identity.endpoints",
    "ThalovantConnectionInfo": "thalovant.models.types",
    "ThalovantDisplayItem": "thalovant.models.types",
    "ThalovantEvent": "thalovant.models.types",
    "ThalovantHealth": "thalovant.models.types",
    "ThalovantReply": "thalovant.models.types",
    "strip_ssml": "thalovant.models.types",
    "ThalovantClient": "thalovant.sync.client",
    "ThalovantConversation": "thalovant.sync.client",
    "ThalovantReplyStream": "thalovant.sync.bridges",
    # names of the official SDK (tests/compat)
    "HomeAnswer": "thalovant.client.home",
    "HomeRequest": "thalovant.client.home",
    "EventHandler": "thalovant.client.subscribing",
    "EventPredicate": "thalovant.client.subscribing",
    "ThalovantSubscription": "thalovant.client.subscribing",
    "DeviceAuthorization": "thalovant.control.models",
    "OperationResource": "thalovant.control.models",
    "DEFAULT_NATIVE_SCOPES": "thalovant.control.native",
    "NativeSignIn": "thalovant.control.native",
    "begin_native_sign_in": "thalovant.control.native",
    "challenge_for": "thalovant.control.native",
    "is_thalovant_url": "thalovant.control.native",
    "new_verifier": "thalovant.control.native",
    "CONNECTION_TYPE_HOME_ASSISTANT": "thalovant.control.official",
    "HOME_ASSISTANT_CLIENT_ID": "thalovant.control.official",
    "HOME_ASSISTANT_SCOPES": "thalovant.control.official",
    "ApiToken": "thalovant.control.official",
    "OperationStatus": "thalovant.control.official",
    "hub_display_name": "thalovant.control.official",
    "default_config_path": "thalovant.identity.config",
    "DEFAULT_PROTOCOL_PREFERENCE": "thalovant.identity.endpoints",
    "HubProtocol": "thalovant.identity.endpoints",
    "SelectedHubEndpoint": "thalovant.identity.endpoints",
    "hub_hostname": "thalovant.identity.endpoints",
    "answer_home_requests": "thalovant.sync.home",
    "AsyncHiveMindHTTPTransport": "thalovant.carriers.faces",
    "AsyncHiveMindMQTTTransport": "thalovant.carriers.faces",
    "AsyncHiveMindWSSTransport": "thalovant.carriers.faces",
    "HiveMindHTTPTransport": "thalovant.sync.transports",
    "HiveMindMQTTTransport": "thalovant.sync.transports",
    "HiveMindWSSTransport": "thalovant.sync.transports",
    # doctor, intent inventory and listing helpers (issue 14)
    "ThalovantDoctorCheck": "thalovant.models.doctor",
    "ThalovantDoctorReport": "thalovant.models.doctor",
    "HubFallback": "thalovant.models.intents",
    "HubIntent": "thalovant.models.intents",
    "HubIntentInventory": "thalovant.models.intents",
    "HubSkillIntents": "thalovant.models.intents",
    "IntentDefinition": "thalovant.models.intents",
    "IntentRegistration": "thalovant.models.intents",
    "Intent": "thalovant.models.inventory",
    "Inventory": "thalovant.models.inventory",
    "Skill": "thalovant.models.inventory",
    "as_sentence": "thalovant.models.listing",
    "common_affix": "thalovant.models.listing",
    "friendly_title": "thalovant.models.listing",
    "humanize": "thalovant.models.listing",
    "languages_present": "thalovant.models.inventory",
    "sort_key": "thalovant.models.listing",
    "speakable": "thalovant.models.listing",
    "strip_affix": "thalovant.models.listing",
    "InventoryCache": "thalovant.models.listing_cache",
    # long-lived clients (issue #15)
    "AsyncHubSession": "thalovant.agent",
    "AsyncThalovantAgent": "thalovant.agent",
    "HubKeyChange": "thalovant.agent",
    "HubSession": "thalovant.agent",
    "HubSessionPolicy": "thalovant.agent",
    "HubSessionState": "thalovant.agent",
    "OriginPreference": "thalovant.agent",
    "ThalovantAgent": "thalovant.agent",
    "accept_hub_keys": "thalovant.agent",
    "preferred_origin": "thalovant.agent",
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
