"""ThalovantIdentity.from_env: the variable table of docs/protocol.md §1.6, with a configurable
prefix."""

from __future__ import annotations

from typing import Any

import pytest

from thalovant.errors import ThalovantIdentityError
from thalovant.identity import (
    HubDataPlaneEndpoints,
    HubProtocolSettings,
    MqttBrokerCredentials,
    ThalovantIdentity,
)

REQUIRED = {
    "ACCESS_KEY": "ak",
    "PASSWORD": "pw",
    "SITE_ID": "site-1",
    "HUB_HTTP_HOST": "https://hub.example.com",
}


def env(prefix: str = "THALOVANT_", **values: str) -> dict[str, str]:
    merged = {**REQUIRED, **values}
    return {prefix + key: value for key, value in merged.items() if value is not None}


def load(prefix: str = "THALOVANT_", **values: Any) -> ThalovantIdentity:
    return ThalovantIdentity.from_env(prefix, environ=env(prefix, **values))


def test_minimal() -> None:
    identity = load()
    assert identity.access_key == "ak"
    assert identity.password == "pw"
    assert identity.site_id == "site-1"
    assert identity.default_master == "https://hub.example.com"
    assert identity.default_port == 5679
    assert identity.default_path == ""
    # HUB_HTTP_HOST doubles as the https endpoint
    assert identity.data_plane_endpoints == HubDataPlaneEndpoints(https="https://hub.example.com")
    assert identity.protocols == HubProtocolSettings()  # no env var for flags
    assert identity.mqtt is None
    assert identity.source_path is None


FULL = {
    "ACCESS_KEY": "ak-full",
    "PASSWORD": "pw-full",
    "SITE_ID": "kiosk",
    "HUB_HTTP_HOST": "https://master.example.com/",
    "HUB_HTTP_PORT": "443",
    "HUB_HTTP_PATH": "public/",
    "HUB_HTTPS_HOST": "https://api.example.com",
    "HUB_WSS_HOST": "wss://ws.example.com",
    "HUB_MQTT_HOST": "mqtts://hubmqtt.example.com:8883",
    "MQTT_ENDPOINT": "mqtts://broker.example.com:8883",
    "MQTT_USERNAME": "mu",
    "MQTT_PASSWORD": "mp",
    "MQTT_TOPIC_PREFIX": "/hubs/h/clients/c/",
    "MQTT_QOS": "0",
    "CRYPTO_KEY": "legacy-ignored",
}


@pytest.mark.parametrize("prefix", ["THALOVANT_", "MYAPP_", "X"])
def test_every_variable(prefix: str) -> None:
    environ = {prefix + k: f"  {v}  " for k, v in FULL.items()}
    identity = ThalovantIdentity.from_env(prefix, environ=environ)
    assert identity.access_key == "ak-full"
    assert identity.password == "pw-full"
    assert identity.site_id == "kiosk"
    assert identity.default_master == "https://master.example.com"
    assert identity.default_port == 443
    assert identity.default_path == "/public"
    assert identity.data_plane_endpoints == HubDataPlaneEndpoints(
        https="https://api.example.com",
        wss="wss://ws.example.com",
        mqtt="mqtts://hubmqtt.example.com:8883",
    )
    assert identity.mqtt == MqttBrokerCredentials(
        endpoint="mqtts://broker.example.com:8883",
        username="mu",
        password="mp",
        topic_prefix="hubs/h/clients/c",
        qos=0,
        tls=True,
    )


def test_custom_prefix_ignores_default_names() -> None:
    environ = {**env("THALOVANT_"), **env("APP_", SITE_ID="app-site")}
    assert ThalovantIdentity.from_env("APP_", environ=environ).site_id == "app-site"
    with pytest.raises(ThalovantIdentityError, match="APP_ACCESS_KEY"):
        ThalovantIdentity.from_env("APP_", environ=env("THALOVANT_"))


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in env().items():
        monkeypatch.setenv(key, value)
    assert ThalovantIdentity.from_env().site_id == "site-1"


@pytest.mark.parametrize(
    ("values", "master"),
    [
        (
            {"HUB_HTTP_HOST": "https://a.example.com", "DEFAULT_MASTER": "https://b.example.com"},
            "a",
        ),
        ({"HUB_HTTP_HOST": None, "DEFAULT_MASTER": "https://b.example.com"}, "b"),
        ({"HUB_HTTP_HOST": "   ", "DEFAULT_MASTER": "https://b.example.com"}, "b"),
    ],
)
def test_master_variables(values: dict[str, Any], master: str) -> None:
    assert load(**values).default_master == f"https://{master}.example.com"


def test_default_master_is_not_an_https_endpoint() -> None:
    identity = load(HUB_HTTP_HOST=None, DEFAULT_MASTER="wss://hub.example.com")
    assert identity.data_plane_endpoints.https is None
    assert identity.endpoint_for("wss") == "wss://hub.example.com"


@pytest.mark.parametrize(
    ("values", "port"),
    [
        ({"HUB_HTTP_PORT": "443", "DEFAULT_PORT": "8443"}, 443),
        ({"DEFAULT_PORT": "8443"}, 8443),
        ({"HUB_HTTP_PORT": "", "DEFAULT_PORT": "8443"}, 8443),
        ({}, 5679),
    ],
)
def test_port_variables(values: dict[str, str], port: int) -> None:
    assert load(**values).default_port == port


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"HUB_HTTP_PATH": "/a", "DEFAULT_PATH": "/b"}, "/a"),
        ({"DEFAULT_PATH": "b/"}, "/b"),
        ({"HUB_HTTP_PATH": "/"}, ""),
    ],
)
def test_path_variables(values: dict[str, str], path: str) -> None:
    assert load(**values).default_path == path


@pytest.mark.parametrize(
    ("values", "https"),
    [
        ({"HUB_HTTPS_HOST": "https://x.example.com"}, "https://x.example.com"),
        ({}, "https://hub.example.com"),
        ({"HUB_HTTPS_HOST": " "}, "https://hub.example.com"),
    ],
)
def test_https_endpoint_variables(values: dict[str, str], https: str) -> None:
    assert load(**values).data_plane_endpoints.https == https


@pytest.mark.parametrize(
    ("values", "wss"),
    [
        ({"HUB_WSS_HOST": "wss://a.example.com", "HUB_WEBSOCKET_HOST": "wss://b.example.com"}, "a"),
        ({"HUB_WEBSOCKET_HOST": "wss://b.example.com"}, "b"),
    ],
)
def test_wss_endpoint_variables(values: dict[str, str], wss: str) -> None:
    identity = load(**values)
    assert identity.data_plane_endpoints.wss == f"wss://{wss}.example.com"
    assert identity.select_protocol() == "wss"


MQTT_VARS = {"MQTT_USERNAME": "mu", "MQTT_PASSWORD": "mp", "MQTT_TOPIC_PREFIX": "t"}


@pytest.mark.parametrize(
    ("values", "endpoint"),
    [
        ({"MQTT_ENDPOINT": "mqtts://a:8883", "HUB_MQTT_HOST": "mqtts://b:8883"}, "mqtts://a:8883"),
        ({"HUB_MQTT_HOST": "mqtts://b:8883"}, "mqtts://b:8883"),
        ({"MQTT_ENDPOINT": "mqtt://a:1883"}, "mqtt://a:1883"),
    ],
)
def test_mqtt_endpoint_variables(values: dict[str, str], endpoint: str) -> None:
    identity = load(**values, **MQTT_VARS)
    assert identity.mqtt is not None
    assert identity.mqtt.endpoint == endpoint
    assert identity.mqtt.tls is endpoint.startswith("mqtts://")
    assert identity.data_plane_endpoints.mqtt == values.get("HUB_MQTT_HOST")


@pytest.mark.parametrize(("qos", "expected"), [("0", 0), ("1", 1), ("2", 1), ("x", 1)])
def test_mqtt_qos_variable(qos: str, expected: int) -> None:
    identity = load(MQTT_ENDPOINT="mqtts://a", MQTT_QOS=qos, **MQTT_VARS)
    assert identity.mqtt is not None
    assert identity.mqtt.qos == expected


@pytest.mark.parametrize("dropped", ["MQTT_USERNAME", "MQTT_PASSWORD"])
def test_incomplete_mqtt_variables(dropped: str) -> None:
    values: dict[str, Any] = {**MQTT_VARS, "MQTT_ENDPOINT": "mqtts://a", dropped: None}
    assert load(**values).mqtt is None


def test_missing_variables_are_listed_together() -> None:
    with pytest.raises(ThalovantIdentityError) as info:
        ThalovantIdentity.from_env(environ={"THALOVANT_PASSWORD": "pw"})
    message = str(info.value)
    assert "THALOVANT_ACCESS_KEY" in message
    assert "THALOVANT_SITE_ID" in message
    assert "THALOVANT_HUB_HTTP_HOST or THALOVANT_DEFAULT_MASTER" in message
    assert "THALOVANT_PASSWORD" not in message


@pytest.mark.parametrize("name", ["ACCESS_KEY", "PASSWORD", "SITE_ID"])
def test_each_required_variable(name: str) -> None:
    with pytest.raises(ThalovantIdentityError, match=f"Missing environment variable.*P_{name}"):
        load("P_", **{name: None})
    with pytest.raises(ThalovantIdentityError, match=f"P_{name}"):
        load("P_", **{name: "  "})


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"HUB_HTTP_PORT": "https"}, "THALOVANT_HUB_HTTP_PORT"),
        ({"DEFAULT_PORT": "44x"}, "THALOVANT_DEFAULT_PORT"),
    ],
)
def test_bad_port_names_the_variable(values: dict[str, str], variable: str) -> None:
    with pytest.raises(ThalovantIdentityError, match=f"{variable} must be an integer"):
        load(**values)


@pytest.mark.parametrize("prefix", ["a/#", "a/+/b", "a\x01b"])
def test_bad_topic_prefix_names_field_and_variable(prefix: str) -> None:
    with pytest.raises(ThalovantIdentityError) as info:
        load(
            MQTT_ENDPOINT="mqtts://a",
            MQTT_USERNAME="u",
            MQTT_PASSWORD="p",
            MQTT_TOPIC_PREFIX=prefix,
        )
    assert "mqtt.topic_prefix" in str(info.value)
    assert "THALOVANT_MQTT_TOPIC_PREFIX" in str(info.value)


def test_bad_endpoint_is_discarded() -> None:
    assert load(HUB_WSS_HOST="ftp://x").data_plane_endpoints.wss is None
