"""endpoint_base / endpoint_for (docs/protocol.md §1.3), select_protocol (§1.5) and
select_data_plane_endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from thalovant.errors import ThalovantUnsupportedProtocolError
from thalovant.identity import (
    HubDataPlaneEndpoints,
    HubProtocolSettings,
    ThalovantIdentity,
    select_data_plane_endpoint,
)

BASE: dict[str, Any] = {"access_key": "ak", "password": "pw", "site_id": "s"}
MQTT = {
    "endpoint": "mqtts://broker.example.com:8883",
    "username": "u",
    "password": "p",
    "topic_prefix": "hubs/h/clients/c",
}


def ident(master: str = "https://hub.example.com", **extra: Any) -> ThalovantIdentity:
    return ThalovantIdentity.from_mapping({**BASE, "default_master": master, **extra})


# ------------------------------------------------------------------------------ endpoint_base


@pytest.mark.parametrize(
    ("master", "extra", "base"),
    [
        # master-derived: scheme mapping, port inserted when missing, default_path appended
        ("https://hub.example.com", {}, "https://hub.example.com:5679"),
        ("https://hub.example.com", {"default_port": 443}, "https://hub.example.com:443"),
        ("https://hub.example.com:8443", {"default_port": 443}, "https://hub.example.com:8443"),
        ("wss://hub.example.com", {}, "https://hub.example.com:5679"),
        ("WSS://hub.example.com", {}, "https://hub.example.com:5679"),
        ("ws://hub.example.com:8080", {}, "http://hub.example.com:8080"),
        ("http://localhost", {"port": 5679}, "http://localhost:5679"),
        ("https://hub.example.com", {"path": "public/"}, "https://hub.example.com:5679/public"),
        (
            "wss://hub.example.com/",
            {"port": 443, "path": "/a/b"},
            "https://hub.example.com:443/a/b",
        ),
        ("https://hub.example.com/x", {"path": "/y"}, "https://hub.example.com:5679/x/y"),
        ("https://[::1]", {}, "https://[::1]:5679"),
        ("https://[::1]:8443", {}, "https://[::1]:8443"),
        ("https://u:p@hub.example.com", {}, "https://u:p@hub.example.com:5679"),
        ("https://hub.example.com:", {}, "https://hub.example.com:5679"),
        # a master without a scheme yields a scheme-less string (no usable HTTPS base)
        ("hub.example.com", {}, "hub.example.com:5679"),
        ("hub.example.com:443", {"path": "p"}, "hub.example.com:443/p"),
    ],
)
def test_endpoint_base_from_master(master: str, extra: dict[str, Any], base: str) -> None:
    assert ident(master, **extra).endpoint_base() == base


@pytest.mark.parametrize(
    ("https", "extra", "base"),
    [
        # explicit https endpoint: port inserted when missing (even 5679), own path kept,
        # default_path NOT appended
        ("https://api.example.com", {}, "https://api.example.com:5679"),
        ("https://api.example.com", {"default_port": 443}, "https://api.example.com:443"),
        ("https://api.example.com:9000", {}, "https://api.example.com:9000"),
        ("https://api.example.com/hub/", {"path": "/x"}, "https://api.example.com:5679/hub"),
        ("https://api.example.com?q=1", {}, "https://api.example.com:5679?q=1"),
    ],
)
def test_endpoint_base_from_https_endpoint(https: str, extra: dict[str, Any], base: str) -> None:
    identity = ident("wss://other.example.com", data_plane_endpoints={"https": https}, **extra)
    assert identity.endpoint_base() == base
    assert identity.endpoint_for("https") == base


def test_endpoint_for_https_requires_a_scheme() -> None:
    assert ident("hub.example.com").endpoint_for("https") is None
    assert ident("https://hub.example.com").endpoint_for("http") == "https://hub.example.com:5679"
    assert ident("ws://hub.example.com").endpoint_for("https") == "http://hub.example.com:5679"


@pytest.mark.parametrize(
    ("master", "endpoints", "wss"),
    [
        ("wss://hub.example.com/ws", {}, "wss://hub.example.com/ws"),
        ("ws://hub.example.com", {}, "ws://hub.example.com"),
        ("https://hub.example.com", {}, None),
        ("hub.example.com", {}, None),
        ("https://hub.example.com", {"wss": "wss://w.example.com/"}, "wss://w.example.com"),
        ("wss://hub.example.com", {"ws": "ws://w.example.com"}, "ws://w.example.com"),
    ],
)
def test_endpoint_for_wss_is_verbatim(master: str, endpoints: dict[str, str], wss: str) -> None:
    identity = ident(master, data_plane_endpoints=endpoints)
    assert identity.endpoint_for("wss") == wss
    assert identity.endpoint_for("websocket") == wss


def test_endpoint_for_mqtt() -> None:
    assert ident().endpoint_for("mqtt") is None
    assert ident(endpoints={"mqtt": "mqtts://m.example.com"}).endpoint_for("mqtt") == (
        "mqtts://m.example.com"
    )
    both = ident(endpoints={"mqtt": "mqtts://m.example.com"}, mqtt=MQTT)
    assert both.endpoint_for("mqtt") == MQTT["endpoint"]


def test_endpoint_for_unknown_protocol() -> None:
    with pytest.raises(ThalovantUnsupportedProtocolError, match="Unknown protocol 'smtp'"):
        ident().endpoint_for("smtp")


# ----------------------------------------------------------------------------- select_protocol


@pytest.mark.parametrize(
    ("master", "extra", "chosen"),
    [
        # wss flag on by default, and a wss master gives a WSS URL
        ("wss://hub.example.com", {}, "wss"),
        ("https://hub.example.com", {"endpoints": {"wss": "wss://w.example.com"}}, "wss"),
        # explicit https endpoint counts as enabling https
        ("https://hub.example.com", {"endpoints": {"https": "https://h.example.com"}}, "https"),
        # http flag on and an https:// (or http://) base
        ("https://hub.example.com", {"protocols": {"http": True}}, "https"),
        ("wss://hub.example.com", {"protocols": {"wss": False, "http": True}}, "https"),
        # wss preferred over https when both usable
        ("wss://hub.example.com", {"protocols": {"http": True}}, "wss"),
        # mqtt only with the flag AND credentials
        ("https://hub.example.com", {"protocols": {"mqtt": True}, "mqtt": MQTT}, "mqtt"),
        (
            "wss://hub.example.com",
            {"protocols": {"wss": False, "mqtt": True}, "mqtt": MQTT},
            "mqtt",
        ),
        ("wss://hub.example.com", {"protocols": {"mqtt": True}, "mqtt": MQTT}, "wss"),
    ],
)
def test_select_protocol_default(master: str, extra: dict[str, Any], chosen: str) -> None:
    assert ident(master, **extra).select_protocol() == chosen
    assert ident(master, **extra).select_protocol(None) == chosen


@pytest.mark.parametrize(
    ("master", "extra"),
    [
        # https master but neither the http flag nor an explicit https endpoint
        # http flag on, but the master has no scheme: no usable base
        ("hub.example.com", {"protocols": {"http": True}}),
    ],
)
def test_select_protocol_default_nothing_usable(master: str, extra: dict[str, Any]) -> None:
    with pytest.raises(ThalovantUnsupportedProtocolError, match="No usable protocol"):
        ident(master, **extra).select_protocol()


@pytest.mark.parametrize(
    ("master", "extra"),
    [
        ("https://hub.example.com", {}),
        # mqtt flag on but no credentials
        ("https://hub.example.com", {"protocols": {"mqtt": True}}),
        # mqtt credentials but flag off
        ("https://hub.example.com", {"mqtt": MQTT}),
        # mqtt credentials without a topic prefix
        (
            "https://hub.example.com",
            {"protocols": {"mqtt": True}, "mqtt": {**MQTT, "topic_prefix": None}},
        ),
        # wss flag off: the derived https:// base still works
        ("wss://hub.example.com", {"protocols": {"wss": False}}),
    ],
)
def test_select_protocol_default_falls_back_to_https_base(
    master: str, extra: dict[str, Any]
) -> None:
    # Legacy identities (a bare https:// master, default flags) must keep working.
    assert ident(master, **extra).select_protocol() == "https"


@pytest.mark.parametrize(
    ("asked", "chosen"),
    [("wss", "wss"), ("WSS", "wss"), ("websocket", "wss"), ("https", "https"), ("http", "https")],
)
def test_select_protocol_explicit_aliases(asked: str, chosen: str) -> None:
    identity = ident("wss://hub.example.com", protocols={"http": True})
    assert identity.select_protocol(asked) == chosen


def test_select_protocol_explicit_with_flag_off_but_endpoint_present() -> None:
    identity = ident("wss://hub.example.com", protocols={"wss": False, "http": False})
    assert identity.select_protocol("wss") == "wss"
    assert identity.select_protocol("https") == "https"
    assert ident(mqtt=MQTT).select_protocol("mqtt") == "mqtt"


def test_select_protocol_explicit_mqtt_without_credentials() -> None:
    identity = ident(protocols={"mqtt": True})
    with pytest.raises(ThalovantUnsupportedProtocolError) as info:
        identity.select_protocol("mqtt")
    message = str(info.value)
    assert "no MQTT credentials" in message
    assert "fresh identity" in message
    assert "enable MQTT" in message


def test_select_protocol_explicit_mqtt_without_prefix() -> None:
    identity = ident(mqtt={**MQTT, "topic_prefix": None})
    with pytest.raises(ThalovantUnsupportedProtocolError, match="no topic_prefix"):
        identity.select_protocol("mqtt")


def test_select_protocol_explicit_wss_without_url() -> None:
    with pytest.raises(ThalovantUnsupportedProtocolError, match="no WSS endpoint"):
        ident("https://hub.example.com").select_protocol("wss")


def test_select_protocol_explicit_https_without_scheme() -> None:
    with pytest.raises(ThalovantUnsupportedProtocolError, match="no HTTPS endpoint"):
        ident("hub.example.com").select_protocol("https")


@pytest.mark.parametrize("bad", ["ftp", "", "  ", "grpc"])
def test_select_protocol_unknown(bad: str) -> None:
    with pytest.raises(ThalovantUnsupportedProtocolError, match="Unknown protocol"):
        ident("wss://hub.example.com").select_protocol(bad)


# ------------------------------------------------------------------ select_data_plane_endpoint

EPS = HubDataPlaneEndpoints(
    wss="wss://w.example.com", https="https://h.example.com", mqtt="mqtts://m.example.com"
)


@pytest.mark.parametrize(
    ("endpoints", "flags", "preferred", "result"),
    [
        (EPS, HubProtocolSettings(), ("wss", "https", "mqtt"), ("wss", "wss://w.example.com")),
        (EPS, HubProtocolSettings(wss=False, http=True), None, ("https", "https://h.example.com")),
        (
            EPS,
            HubProtocolSettings(http=True, mqtt=True),
            ("mqtt", "https"),
            ("mqtt", "mqtts://m.example.com"),
        ),
        (EPS, HubProtocolSettings(http=True), ["http"], ("https", "https://h.example.com")),
        (EPS, HubProtocolSettings(http=True), "https", ("https", "https://h.example.com")),
        (EPS, HubProtocolSettings(http=True), "mqtt", None),
        (HubDataPlaneEndpoints(https="https://h"), HubProtocolSettings(), None, None),
        (
            HubDataPlaneEndpoints(https="https://h"),
            HubProtocolSettings(http=True),
            None,
            ("https", "https://h"),
        ),
        (HubDataPlaneEndpoints(), HubProtocolSettings(http=True, mqtt=True), None, None),
    ],
)
def test_select_data_plane_endpoint(
    endpoints: HubDataPlaneEndpoints,
    flags: HubProtocolSettings,
    preferred: Any,
    result: tuple[str, str] | None,
) -> None:
    if preferred is None:
        assert select_data_plane_endpoint(endpoints, flags) == result
    else:
        assert select_data_plane_endpoint(endpoints, flags, preferred) == result


def test_select_data_plane_endpoint_unknown_name() -> None:
    with pytest.raises(ThalovantUnsupportedProtocolError):
        select_data_plane_endpoint(EPS, HubProtocolSettings(), ("quic",))
