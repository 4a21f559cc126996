"""ThalovantIdentity.from_mapping: fields, aliases, defaults, endpoints, flags, mqtt, metadata."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from thalovant.errors import ThalovantIdentityError, ThalovantUnsupportedProtocolError
from thalovant.identity import (
    DEFAULT_HUB_PORT,
    DEFAULT_PROTOCOL_PREFERENCE,
    HubDataPlaneEndpoints,
    HubProtocolSettings,
    MqttBrokerCredentials,
    MqttTopicSet,
    ThalovantIdentity,
    canonical_protocol,
    mqtt_topics_for_identity,
)

BASE: dict[str, Any] = {
    "access_key": "ak-1",
    "password": "pw-1",
    "default_master": "https://hub.example.com",
    "site_id": "site-1",
}

MQTT: dict[str, Any] = {
    "endpoint": "mqtts://broker.example.com:8883",
    "username": "mqtt-user",
    "password": "mqtt-pass",
    "topic_prefix": "hubs/h1/clients/c1",
}


def ident(**changes: Any) -> ThalovantIdentity:
    data = {**BASE, **changes}
    return ThalovantIdentity.from_mapping({k: v for k, v in data.items() if v is not ...})


# ------------------------------------------------------------------------------ scalar fields

ALIASES = {
    "access_key": ["access_key", "key", "api_key", "apiKey"],
    "password": ["password"],
    "default_master": [
        "default_master",
        "defaultMaster",
        "host",
        "hub_http_host",
        "hubHttpHost",
        "master",
    ],
    "site_id": ["site_id", "siteId", "site", "client_id", "clientId"],
}


@pytest.mark.parametrize(
    ("field", "alias"), [(f, a) for f, names in ALIASES.items() for a in names]
)
def test_every_alias_of_required_fields(field: str, alias: str) -> None:
    data = {k: v for k, v in BASE.items() if k != field}
    data[alias] = "  https://value.example.com  "
    identity = ThalovantIdentity.from_mapping(data)
    assert getattr(identity, field) == "https://value.example.com"


@pytest.mark.parametrize("field", list(ALIASES))
def test_canonical_key_wins_then_aliases_in_order(field: str) -> None:
    names = ALIASES[field]
    data = {k: v for k, v in BASE.items() if k != field}
    for index, name in enumerate(names):
        data[name] = f"value-{index}"
    assert getattr(ThalovantIdentity.from_mapping(data), field) == "value-0"
    # empty (after stripping) counts as missing, so the next alias wins
    data[names[0]] = "   "
    expected = "value-1" if len(names) > 1 else None
    if expected is None:
        with pytest.raises(ThalovantIdentityError, match=field):
            ThalovantIdentity.from_mapping(data)
    else:
        assert getattr(ThalovantIdentity.from_mapping(data), field) == expected


@pytest.mark.parametrize("field", list(ALIASES))
@pytest.mark.parametrize("missing", [..., None, "", "  "])
def test_missing_required_field(field: str, missing: object) -> None:
    with pytest.raises(ThalovantIdentityError, match=f"Missing identity field: {field}"):
        ident(**{field: missing})


@pytest.mark.parametrize("field", list(ALIASES))
@pytest.mark.parametrize("bad", [["x"], {"a": "b"}, True, b"bytes"])
def test_wrong_type_names_the_field(field: str, bad: object) -> None:
    with pytest.raises(ThalovantIdentityError, match=field):
        ident(**{field: bad})


def test_numbers_are_stringified() -> None:
    identity = ident(site_id=42, access_key=1.5)
    assert identity.site_id == "42"
    assert identity.access_key == "1.5"


@pytest.mark.parametrize("bad", [["x"], "text", 7])
def test_top_level_must_be_a_mapping(bad: Any) -> None:
    with pytest.raises(ThalovantIdentityError, match="identity must be a mapping"):
        ThalovantIdentity.from_mapping(bad)


def test_master_trailing_slash_removed() -> None:
    assert ident(default_master="https://hub.example.com///").default_master == (
        "https://hub.example.com"
    )


@pytest.mark.parametrize("alias", ["default_port", "port", "hub_http_port"])
@pytest.mark.parametrize(("raw", "port"), [(443, 443), ("443", 443), (" 8443 ", 8443), (80.0, 80)])
def test_port_aliases_and_forms(alias: str, raw: object, port: int) -> None:
    assert ThalovantIdentity.from_mapping({**BASE, alias: raw}).default_port == port


@pytest.mark.parametrize("raw", [..., None, "", "   "])
def test_port_default(raw: object) -> None:
    assert ident(default_port=raw).default_port == DEFAULT_HUB_PORT == 5679


def test_port_canonical_then_aliases() -> None:
    identity = ThalovantIdentity.from_mapping(
        {**BASE, "default_port": "", "port": 1000, "hub_http_port": 2000}
    )
    assert identity.default_port == 1000


@pytest.mark.parametrize("bad", ["abc", "4_43", "44.3", 44.5, True, [443], {"p": 1}, "-1"])
def test_non_integer_port(bad: object) -> None:
    with pytest.raises(ThalovantIdentityError, match="default_port must be an integer"):
        ident(default_port=bad)


@pytest.mark.parametrize("bad", [0, 65536, "70000"])
def test_port_out_of_range(bad: object) -> None:
    with pytest.raises(ThalovantIdentityError, match="default_port must be between 1 and 65535"):
        ident(default_port=bad)


@pytest.mark.parametrize(
    "alias", ["default_path", "defaultPath", "hub_http_path", "path", "uri_path"]
)
def test_path_aliases(alias: str) -> None:
    assert ThalovantIdentity.from_mapping({**BASE, alias: "public"}).default_path == "/public"


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ("a/b", "/a/b"),
        ("/a/b/", "/a/b"),
        ("//a/b//", "/a/b"),
        (" /public ", "/public"),
        ("/", ""),
        ("", ""),
        (None, ""),
        (..., ""),
    ],
)
def test_path_normalisation(raw: object, path: str) -> None:
    assert ident(default_path=raw).default_path == path


def test_crypto_key_and_unknown_keys_ignored() -> None:
    plain = ident()
    assert ident(crypto_key="ck", cryptoKey="ck2", whatever={"x": 1}, version=3) == plain
    assert "crypto" not in repr(plain.as_dict(include_secrets=True))


def test_defaults() -> None:
    identity = ident()
    assert identity.default_port == 5679
    assert identity.default_path == ""
    assert identity.data_plane_endpoints == HubDataPlaneEndpoints()
    assert identity.protocols == HubProtocolSettings(wss=True, http=False, mqtt=False)
    assert identity.mqtt is None
    assert identity.metadata == {}
    assert identity.source_path is None


def test_source_path_from_mapping() -> None:
    assert ThalovantIdentity.from_mapping(BASE, source_path="/x/id.json").source_path == (
        "/x/id.json"
    )


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ThalovantIdentityError, match="access_key"):
        ThalovantIdentity(access_key=" ", password="p", default_master="h", site_id="s")
    with pytest.raises(ThalovantIdentityError, match="default_port"):
        ThalovantIdentity(
            access_key="a", password="p", default_master="h", site_id="s", default_port=0
        )


def test_identity_is_hashable_and_frozen() -> None:
    identity = ident(metadata={"a": [1]})
    assert hash(identity) == hash(ident(metadata={"a": [1]}))
    with pytest.raises(AttributeError):
        identity.site_id = "other"  # type: ignore[misc]


# ---------------------------------------------------------------------------------- endpoints


@pytest.mark.parametrize("map_key", ["data_plane_endpoints", "dataPlaneEndpoints", "endpoints"])
def test_endpoint_map_aliases(map_key: str) -> None:
    identity = ident(
        **{
            map_key: {
                "https": "https://h.example.com/",
                "wss": "wss://w.example.com/ws/",
                "mqtt": "mqtts://m.example.com:8883",
            }
        }
    )
    assert identity.data_plane_endpoints == HubDataPlaneEndpoints(
        https="https://h.example.com",
        wss="wss://w.example.com/ws",
        mqtt="mqtts://m.example.com:8883",
    )


ENDPOINT_KEYS = [
    ("https", "https"),
    ("http", "https"),
    ("wss", "wss"),
    ("ws", "wss"),
    ("mqtt", "mqtt"),
    ("mqtts", "mqtt"),
]


@pytest.mark.parametrize(("key", "field"), ENDPOINT_KEYS)
def test_endpoint_keys(key: str, field: str) -> None:
    scheme = {"https": "https", "wss": "wss", "mqtt": "mqtts"}[field]
    identity = ident(data_plane_endpoints={key: f"{scheme}://x.example.com"})
    assert getattr(identity.data_plane_endpoints, field) == f"{scheme}://x.example.com"


def test_endpoint_primary_key_wins() -> None:
    eps = ident(
        endpoints={"https": "https://a.example.com", "http": "http://b.example.com"}
    ).data_plane_endpoints
    assert eps.https == "https://a.example.com"


@pytest.mark.parametrize("reducer", ["endpoint", "broker_url", "brokerUrl"])
def test_mqtt_endpoint_mapping_is_reduced(reducer: str) -> None:
    eps = ident(endpoints={"mqtt": {reducer: "mqtts://m.example.com:8883/"}}).data_plane_endpoints
    assert eps.mqtt == "mqtts://m.example.com:8883"


@pytest.mark.parametrize(
    "bad",
    ["ftp://x.example.com", "file:///etc/passwd", "https://", "wss://:443", "https://h:port"],
)
def test_bad_endpoints_are_discarded(bad: str) -> None:
    assert ident(endpoints={"https": bad, "wss": bad}).data_plane_endpoints.is_empty


def test_every_allowed_scheme_kept_under_any_key() -> None:
    for scheme in ("http", "https", "ws", "wss", "mqtt", "mqtts"):
        url = f"{scheme}://x.example.com"
        assert ident(endpoints={"wss": url}).data_plane_endpoints.wss == url


def test_schemeless_endpoint_gets_the_secure_scheme_of_its_key() -> None:
    eps = ident(
        endpoints={"https": "h.example.com", "wss": "w.example.com:443", "mqtt": "m.example.com"}
    ).data_plane_endpoints
    assert eps == HubDataPlaneEndpoints(
        https="https://h.example.com", wss="wss://w.example.com:443", mqtt="mqtts://m.example.com"
    )


def test_top_level_is_searched_without_an_endpoint_map() -> None:
    identity = ident(
        https="https://h.example.com/",
        ws="ws://w.example.com",
        mqtt={**MQTT},
    )
    assert identity.data_plane_endpoints == HubDataPlaneEndpoints(
        https="https://h.example.com",
        wss="ws://w.example.com",
        mqtt="mqtts://broker.example.com:8883",
    )


def test_top_level_string_mqtt_is_an_endpoint() -> None:
    identity = ident(mqtt="mqtts://m.example.com")
    assert identity.data_plane_endpoints.mqtt == "mqtts://m.example.com"
    assert identity.mqtt is None


def test_top_level_search_skips_wrong_types() -> None:
    assert ident(https={"nested": 1}, wss=5).data_plane_endpoints.is_empty


def test_empty_endpoint_map_stops_the_top_level_search() -> None:
    assert ident(data_plane_endpoints={}, https="https://h.example.com").data_plane_endpoints == (
        HubDataPlaneEndpoints()
    )


@pytest.mark.parametrize("map_key", ["data_plane_endpoints", "endpoints"])
def test_endpoint_map_wrong_type(map_key: str) -> None:
    with pytest.raises(ThalovantIdentityError, match=f"{map_key} must be a mapping"):
        ident(**{map_key: ["https://h.example.com"]})


def test_endpoint_value_wrong_type() -> None:
    with pytest.raises(ThalovantIdentityError, match=r"data_plane_endpoints\.wss must be a URL"):
        ident(data_plane_endpoints={"wss": ["wss://x"]})


def test_endpoints_get_and_from_mapping() -> None:
    eps = HubDataPlaneEndpoints.from_mapping({"http": "https://h.example.com"})
    assert eps.get("http") == eps.get("https") == "https://h.example.com"
    assert eps.get("websocket") is None
    with pytest.raises(ThalovantUnsupportedProtocolError):
        eps.get("gopher")
    with pytest.raises(ThalovantIdentityError, match="data_plane_endpoints must be a mapping"):
        HubDataPlaneEndpoints.from_mapping("x")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ flags


@pytest.mark.parametrize("container", ["protocols", "network"])
def test_protocol_flags_containers(container: str) -> None:
    identity = ident(**{container: {"wss": False, "http": True, "mqtt": True}})
    assert identity.protocols == HubProtocolSettings(wss=False, http=True, mqtt=True)


def test_spec_protocols_win_over_protocols() -> None:
    identity = ident(spec={"protocols": {"mqtt": True}}, protocols={"http": True})
    assert identity.protocols == HubProtocolSettings(wss=True, http=False, mqtt=True)


def test_spec_without_protocols_gives_defaults() -> None:
    assert ident(spec={}, protocols={"http": True}).protocols == HubProtocolSettings()


def test_protocols_win_over_network() -> None:
    assert ident(protocols={"http": True}, network={"mqtt": True}).protocols == (
        HubProtocolSettings(http=True)
    )


@pytest.mark.parametrize(
    ("key", "field"), [("wss", "wss"), ("websocket", "wss"), ("http", "http"), ("https", "http")]
)
def test_protocol_flag_keys(key: str, field: str) -> None:
    flags = HubProtocolSettings.from_mapping({key: {"enabled": field != "wss"}})
    assert getattr(flags, field) is (field != "wss")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("Yes", True),
        ("on", True),
        ("1", True),
        ("enabled", True),
        ("false", False),
        ("no", False),
        ("OFF", False),
        ("0", False),
        (1, True),
        (0, False),
        ({"enabled": True}, True),
        ({"enabled": "no"}, False),
    ],
)
def test_protocol_flag_values(value: object, expected: bool) -> None:
    assert HubProtocolSettings.from_mapping({"mqtt": value}).mqtt is expected


@pytest.mark.parametrize("value", [None, "", {}, {"enabled": None}])
def test_protocol_flag_missing_keeps_default(value: object) -> None:
    assert HubProtocolSettings.from_mapping({"wss": value, "http": value}) == (
        HubProtocolSettings()
    )


@pytest.mark.parametrize("value", ["maybe", 2, [True]])
def test_protocol_flag_garbage(value: object) -> None:
    with pytest.raises(ThalovantIdentityError, match=r"protocols\.http"):
        ident(protocols={"http": value})


@pytest.mark.parametrize("container", ["protocols", "network", "spec"])
def test_protocol_container_wrong_type(container: str) -> None:
    with pytest.raises(ThalovantIdentityError, match=f"{container} must be a mapping"):
        ident(**{container: ["wss"]})


def test_protocol_serialised_form() -> None:
    assert HubProtocolSettings(http=True).as_dict() == {
        "wss": {"enabled": True},
        "http": {"enabled": True},
        "mqtt": {"enabled": False},
    }


def test_enabled_and_supported_protocols() -> None:
    identity = ident(protocols={"wss": False, "http": True, "mqtt": True})
    assert identity.enabled_protocols() == ("https", "mqtt")
    assert identity.supports_protocol("https")
    assert identity.supports_protocol("HTTP")
    assert not identity.supports_protocol("wss")
    assert not identity.supports_protocol("websocket")
    assert identity.supports_protocol("mqtt")
    assert ident().enabled_protocols() == ("wss",)
    with pytest.raises(ThalovantUnsupportedProtocolError, match="Unknown protocol"):
        identity.supports_protocol("carrier-pigeon")


def test_canonical_protocol() -> None:
    assert [canonical_protocol(p) for p in ("WSS", " ws ", "websocket", "http", "mqtts")] == [
        "wss",
        "wss",
        "wss",
        "https",
        "mqtt",
    ]
    assert DEFAULT_PROTOCOL_PREFERENCE == ("wss", "https", "mqtt")
    with pytest.raises(ThalovantUnsupportedProtocolError):
        canonical_protocol(None)


# ------------------------------------------------------------------------------------- mqtt


@pytest.mark.parametrize(
    ("field", "alias"),
    [
        ("endpoint", "endpoint"),
        ("endpoint", "broker_url"),
        ("endpoint", "brokerUrl"),
        ("username", "username"),
        ("username", "broker_username"),
        ("username", "brokerUsername"),
        ("password", "password"),
        ("password", "broker_password"),
        ("password", "brokerPassword"),
        ("topic_prefix", "topic_prefix"),
        ("topic_prefix", "topicPrefix"),
    ],
)
def test_mqtt_aliases(field: str, alias: str) -> None:
    block = {k: v for k, v in MQTT.items() if k != field}
    block[alias] = f" {MQTT[field]} "
    mqtt = ident(mqtt=block).mqtt
    assert mqtt is not None
    assert getattr(mqtt, field) == MQTT[field]


@pytest.mark.parametrize("field", ["endpoint", "username", "password"])
@pytest.mark.parametrize("missing", [..., None, "", " "])
def test_mqtt_block_dropped_unless_complete(field: str, missing: object) -> None:
    block = {**MQTT, field: missing}
    assert ident(mqtt={k: v for k, v in block.items() if v is not ...}).mqtt is None


def test_mqtt_block_without_prefix_is_kept_but_has_no_topics() -> None:
    identity = ident(mqtt={k: v for k, v in MQTT.items() if k != "topic_prefix"})
    assert identity.mqtt is not None
    assert identity.mqtt.topic_prefix is None
    with pytest.raises(ThalovantIdentityError, match=r"mqtt\.topic_prefix is missing"):
        identity.mqtt_topics()


@pytest.mark.parametrize(
    ("qos", "expected"),
    [(0, 0), ("0", 0), (1, 1), ("1", 1), (2, 1), ("2", 1), ("x", 1), (None, 1), (False, 1)],
)
def test_mqtt_qos(qos: object, expected: int) -> None:
    mqtt = ident(mqtt={**MQTT, "qos": qos}).mqtt
    assert mqtt is not None
    assert mqtt.qos == expected


@pytest.mark.parametrize(
    ("endpoint", "tls", "expected"),
    [
        ("mqtts://b.example.com", None, True),
        ("MQTTS://b.example.com", None, True),
        ("ssl://b.example.com", None, True),
        ("mqtt://b.example.com", None, False),
        ("tcp://b.example.com", None, False),
        ("mqtt://b.example.com", True, True),
        ("mqtt://b.example.com", "true", True),
        ("mqtt://b.example.com", "1", True),
        ("mqtt://b.example.com", "yes", True),
        ("mqtt://b.example.com", "on", True),
        ("mqtts://b.example.com", False, False),
        ("mqtts://b.example.com", "off", False),
    ],
)
def test_mqtt_tls(endpoint: str, tls: object, expected: bool) -> None:
    mqtt = ident(mqtt={**MQTT, "endpoint": endpoint, "tls": tls}).mqtt
    assert mqtt is not None
    assert mqtt.tls is expected


def test_mqtt_uses_tls_honours_scheme_and_flag() -> None:
    def creds(endpoint: str, tls: bool) -> MqttBrokerCredentials:
        return MqttBrokerCredentials(endpoint=endpoint, username="u", password="p", tls=tls)

    assert creds("mqtts://b", tls=False).uses_tls
    assert creds("SSL://b", tls=False).uses_tls
    assert creds("mqtt://b", tls=True).uses_tls
    assert not creds("mqtt://b", tls=False).uses_tls


def test_mqtt_tls_garbage() -> None:
    with pytest.raises(ThalovantIdentityError, match=r"mqtt\.tls"):
        ident(mqtt={**MQTT, "tls": "perhaps"})


def test_mqtt_explicit_topics_accepted_and_ignored() -> None:
    identity = ident(mqtt={**MQTT, "c2s_topic": "x/in", "s2c_topic": "x/out", "status_topic": "s"})
    assert identity == ident(mqtt=MQTT)


@pytest.mark.parametrize("bad", [["x"], 5, True])
def test_mqtt_wrong_type(bad: object) -> None:
    with pytest.raises(ThalovantIdentityError, match="mqtt must be a mapping"):
        ident(mqtt=bad)


def test_mqtt_field_wrong_type() -> None:
    with pytest.raises(ThalovantIdentityError, match=r"mqtt\.username"):
        ident(mqtt={**MQTT, "username": ["u"]})


@pytest.mark.parametrize(
    ("prefix", "normalised"),
    [
        ("hubs/h/clients/c", "hubs/h/clients/c"),
        ("/hubs/h/", "hubs/h"),
        ("  //hubs/h//  ", "hubs/h"),
        ("a", "a"),
    ],
)
def test_topic_prefix_normalised(prefix: str, normalised: str) -> None:
    identity = ident(mqtt={**MQTT, "topic_prefix": prefix})
    assert identity.mqtt is not None
    assert identity.mqtt.topic_prefix == normalised
    assert identity.mqtt_topics() == MqttTopicSet(
        f"{normalised}/in", f"{normalised}/out", f"{normalised}/status"
    )
    assert mqtt_topics_for_identity(identity) == identity.mqtt.topics()


@pytest.mark.parametrize("bad", ["hubs/#", "hubs/+/c", "#", "a\x00b", "a\x1fb", "a\nb", "///"])
def test_invalid_topic_prefix_names_the_field(bad: str) -> None:
    with pytest.raises(ThalovantIdentityError, match=r"mqtt\.topic_prefix"):
        ident(mqtt={**MQTT, "topic_prefix": bad})
    with pytest.raises(ThalovantIdentityError, match=r"mqtt\.topic_prefix"):
        MqttTopicSet.from_prefix(bad)
    with pytest.raises(ThalovantIdentityError, match=r"mqtt\.topic_prefix"):
        MqttBrokerCredentials(endpoint="mqtts://b", username="u", password="p", topic_prefix=bad)


def test_topics_without_mqtt_block() -> None:
    with pytest.raises(ThalovantUnsupportedProtocolError, match="no MQTT credentials"):
        ident().mqtt_topics()


def test_mqtt_credentials_direct_construction_validated() -> None:
    with pytest.raises(ThalovantIdentityError, match=r"mqtt\.password"):
        MqttBrokerCredentials(endpoint="mqtts://b", username="u", password="")
    with pytest.raises(ThalovantIdentityError, match=r"mqtt\.qos"):
        MqttBrokerCredentials(endpoint="mqtts://b", username="u", password="p", qos=2)


# --------------------------------------------------------------------------------- metadata


def test_metadata_kept_and_copied() -> None:
    source = {"tenant": "acme", "nested": {"list": [1, 2.5, None, True]}}
    identity = ident(metadata=source)
    assert identity.metadata == source
    source["nested"]["list"].append("changed")  # type: ignore[index]
    assert identity.metadata["nested"]["list"] == [1, 2.5, None, True]


def test_metadata_dates_become_iso_strings() -> None:
    identity = ident(metadata={"on": dt.date(2024, 1, 2), "at": [dt.datetime(2024, 1, 2, 3, 4)]})
    assert identity.metadata == {"on": "2024-01-02", "at": ["2024-01-02T03:04:00"]}


@pytest.mark.parametrize(
    ("metadata", "where"),
    [
        (["x"], "metadata must be a mapping"),
        ({"a": float("nan")}, r"metadata\.a must be a finite number"),
        ({"a": {1, 2}}, r"metadata\.a must be JSON-compatible"),
        ({"a": b"raw"}, r"metadata\.a must be JSON-compatible"),
    ],
)
def test_metadata_bad(metadata: object, where: str) -> None:
    with pytest.raises(ThalovantIdentityError, match=where):
        ident(metadata=metadata)


def test_metadata_too_deep() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(40):
        node["d"] = {}
        node = node["d"]
    with pytest.raises(ThalovantIdentityError, match="nested too deeply"):
        ident(metadata=deep)


def test_metadata_none_is_empty() -> None:
    assert ident(metadata=None).metadata == {}
