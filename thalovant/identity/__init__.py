"""The client identity: model, endpoints, MQTT credentials, parsing, config files and the Noise
key store (docs/protocol.md §1)."""

from __future__ import annotations

from thalovant.identity.config import (
    DEFAULT_CONFIG_FILENAME,
    MAX_FILE_BYTES,
    check_private_file,
    default_config_path,
    env_identity_mapping,
    load_config_identity,
    load_json_mapping,
    load_yaml_mapping,
    read_private_text,
    resolve_profile,
)
from thalovant.identity.endpoints import (
    DEFAULT_PROTOCOL_PREFERENCE,
    HubDataPlaneEndpoints,
    HubProtocolSettings,
    select_data_plane_endpoint,
)
from thalovant.identity.keystore import (
    DEFAULT_NODE_NAME,
    MAX_CACHED_PSKS,
    NoiseKeyStore,
    legacy_noise_folder,
    pin_id_for_base,
    pin_id_for_wss,
    resolve_noise_folder,
)
from thalovant.identity.model import ThalovantIdentity, mqtt_topics_for_identity
from thalovant.identity.mqtt import MqttBrokerCredentials, MqttTopicSet
from thalovant.identity.parse import DEFAULT_HUB_PORT, canonical_protocol

__all__ = [
    "DEFAULT_HUB_PORT",
    "DEFAULT_PROTOCOL_PREFERENCE",
    "HubDataPlaneEndpoints",
    "HubProtocolSettings",
    "MqttBrokerCredentials",
    "MqttTopicSet",
    "ThalovantIdentity",
    "canonical_protocol",
    "mqtt_topics_for_identity",
    "select_data_plane_endpoint",
    "DEFAULT_CONFIG_FILENAME",
    "MAX_FILE_BYTES",
    "check_private_file",
    "default_config_path",
    "env_identity_mapping",
    "load_config_identity",
    "load_json_mapping",
    "load_yaml_mapping",
    "read_private_text",
    "resolve_profile",
    "DEFAULT_NODE_NAME",
    "MAX_CACHED_PSKS",
    "NoiseKeyStore",
    "legacy_noise_folder",
    "pin_id_for_base",
    "pin_id_for_wss",
    "resolve_noise_folder",
]
