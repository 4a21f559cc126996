"""Client provisioning: create_client_identity, create_client, delete_client."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from aiohttp import web

from thalovant.control.client import AsyncThalovantControlPlane, BootstrapIdentityResult
from thalovant.control.provisioning import clean_site_id, redact_client_resource
from thalovant.errors import ThalovantAPIError, ThalovantUnsupportedConnectionTypeError
from thalovant.identity.model import ThalovantIdentity

from .conftest import Canned, FakeAPI

pytestmark = pytest.mark.anyio

HUB = {
    "id": "hub_1",
    "name": "Home",
    "slug": "home",
    "domain": "home.hubs.thalovant.com",
    "etag": "W/h1",
    "spec": {
        "protocols": {"wss": {"enabled": True}, "http": {"enabled": True}, "mqtt": True},
        "catalog": {"title": "Home"},
    },
    "data_plane_endpoints": {
        "wss": "wss://home.hubs.thalovant.com/hivemind",
        "mqtt": "mqtts://mqtt.thalovant.com:8883",
    },
}
MQTT_SECRET = "mqtt-broker-secret-123"
LEGACY_CRYPTO = "legacy-crypto-secret-value"
IDENTIFY_TOKEN = "iit_secret_token_value_123"
URLSAFE_43 = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _created(fake: FakeAPI, *, identify: bool = True, **extra: Any) -> Any:
    """A handler echoing the POSTed client like the hosted API does."""

    def handler(request: web.Request) -> Canned:
        sent = fake.last.json
        spec = sent["spec"]
        body: dict[str, Any] = {
            "id": "cl_1",
            "etag": "W/c1",
            "hub_id": sent["hub_id"],
            "name": sent["name"],
            "spec": {
                **spec,
                "cryptoKey": LEGACY_CRYPTO,
                "apiKeyRef": "vault:clients/cl_1#apiKey",
                "passwordRef": "vault:clients/cl_1#password",
            },
            "operation": {
                "id": "op_1",
                "kind": "client.create",
                "aggregate_type": "client",
                "aggregate_id": "cl_1",
                "status": "requested",
                "links": {"self": "/v1/operations/op_1"},
            },
            **extra,
        }
        if identify:
            body["initial_identify"] = {
                "access_key": spec["apiKey"],
                "password": spec["password"],
                "site_id": spec["siteId"],
                "default_master": "wss://home.hubs.thalovant.com",
                "default_port": 443,
                "crypto_key": LEGACY_CRYPTO,
                "mqtt": {
                    "endpoint": "mqtts://mqtt.thalovant.com:8883",
                    "username": spec["apiKey"],
                    "password": MQTT_SECRET,
                    "topic_prefix": f"hivemind/hub/{spec['apiKey']}",
                    "tls": True,
                },
            }
            body["initial_identify_token"] = IDENTIFY_TOKEN
        return Canned(201, body)

    return handler


def _secrets_of(fake: FakeAPI) -> tuple[str, str]:
    spec = fake.calls("POST", "/v1/clients")[0].json["spec"]
    return spec["apiKey"], spec["password"]


def _assert_no_secrets(result: BootstrapIdentityResult, secrets: tuple[str, ...]) -> None:
    dumped = json.dumps(result.as_dict())
    for text in (dumped, repr(result), str(result), repr(result.identity)):
        for secret in (*secrets, MQTT_SECRET, LEGACY_CRYPTO, IDENTIFY_TOKEN):
            assert secret not in text


async def test_create_client_identity_end_to_end(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.reply("GET", "/v1/hubs/hub_1", HUB)
    fake_api.on("POST", "/v1/clients", _created(fake_api))
    caller_spec = {"cryptoKey": "old", "crypto_key": "old2", "labels": {"room": "kitchen"}}
    result = await api.create_client_identity(
        "hub_1", name="Kitchen Pi", site_id="kitchen_pi 2", spec=caller_spec, owner_id="u1"
    )
    assert [(r.method, r.path) for r in fake_api.requests] == [
        ("GET", "/v1/hubs/hub_1"),
        ("POST", "/v1/clients"),
    ]
    post = fake_api.requests[1]
    api_key, password = _secrets_of(fake_api)
    assert URLSAFE_43.match(api_key)
    assert URLSAFE_43.match(password)
    assert api_key != password
    assert post.json == {
        "hub_id": "hub_1",
        "name": "Kitchen Pi",
        "spec": {
            "labels": {"room": "kitchen"},
            "version": "1",
            "apiKey": api_key,
            "password": password,
            "siteId": "kitchen-pi-2",
        },
        "active": True,
        "owner_id": "u1",
    }
    assert uuid.UUID(post.headers["idempotency-key"]).version == 4
    assert post.headers["content-type"] == "application/json"
    # the secrets went out exactly once
    assert sum(api_key in r.body.decode() for r in fake_api.requests) == 1

    identity = result.identity
    assert isinstance(identity, ThalovantIdentity)
    assert (identity.access_key, identity.password) == (api_key, password)
    assert identity.site_id == "kitchen-pi-2"
    assert identity.default_master == "wss://home.hubs.thalovant.com"
    assert identity.default_port == 443
    assert identity.data_plane_endpoints.wss == "wss://home.hubs.thalovant.com/hivemind"
    assert identity.data_plane_endpoints.https == "https://home.hubs.thalovant.com"
    assert identity.data_plane_endpoints.mqtt == "mqtts://mqtt.thalovant.com:8883"
    assert (identity.protocols.wss, identity.protocols.http, identity.protocols.mqtt) == (
        True,
        True,
        True,
    )
    assert identity.mqtt is not None
    assert identity.mqtt.password == MQTT_SECRET
    assert identity.select_protocol() == "wss"
    assert identity.endpoint_for("wss") == "wss://home.hubs.thalovant.com/hivemind"
    assert identity.endpoint_base() == "https://home.hubs.thalovant.com:443"

    assert result.client_id == "cl_1"
    assert result.connection_type is None
    assert result.operation is not None
    assert (result.operation.id, result.operation.status) == ("op_1", "requested")
    assert result.client["initial_identify_token"] == IDENTIFY_TOKEN  # raw stays raw

    _assert_no_secrets(result, (api_key, password))
    safe = result.as_dict()
    assert "initial_identify" not in safe["client"]
    assert "initial_identify_token" not in safe["client"]
    for key in ("apiKey", "password", "cryptoKey"):
        assert key not in safe["client"]["spec"]
    assert safe["client"]["spec"]["apiKeyRef"] == "vault:clients/cl_1#apiKey"
    assert safe["client"]["spec"]["passwordRef"] == "vault:clients/cl_1#password"
    assert safe["client"]["spec"]["siteId"] == "kitchen-pi-2"
    assert safe["identity"]["access_key"] == "<redacted>"
    assert safe["client_id"] == "cl_1"
    assert safe["operation"]["status"] == "requested"

    full = result.as_dict(include_secrets=True)
    assert full["identity"]["access_key"] == api_key
    assert full["client"]["initial_identify"]["password"] == password
    assert ThalovantIdentity.from_mapping(full["identity"]) == identity


async def test_hub_mapping_is_used_without_fetching(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("POST", "/v1/clients", _created(fake_api))
    key = "idem-123"
    await api.create_client_identity({"data": HUB}, "Den", idempotency_key=key, active=False)
    assert [r.method for r in fake_api.requests] == ["POST"]
    post = fake_api.last
    assert post.headers["idempotency-key"] == key
    assert post.json["active"] is False
    assert post.json["spec"]["siteId"] == "Den"  # site id defaults to the name
    assert "owner_id" not in post.json


async def test_hub_mapping_without_id_is_refused(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    with pytest.raises(ThalovantAPIError, match="no id"):
        await api.create_client_identity({"name": "x"})
    assert fake_api.requests == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("kitchen_pi", "kitchen-pi"),
        ("  living   room\tpi ", "living-room-pi"),
        ("a_b c", "a-b-c"),
        ("already-fine", "already-fine"),
    ],
)
def test_clean_site_id(given: str, expected: str) -> None:
    assert clean_site_id(given) == expected


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_clean_site_id_empty_is_random(empty: str | None) -> None:
    first, second = clean_site_id(empty), clean_site_id(empty)
    assert re.fullmatch(r"thalovant-client-[0-9a-f]{8}", first)
    assert first != second


async def test_site_id_from_spec_and_random_fallback(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("POST", "/v1/clients", _created(fake_api))
    await api.create_client_identity(HUB, spec={"siteId": "from_spec", "site_id": "dropped"})
    spec = fake_api.last.json["spec"]
    assert spec["siteId"] == "from-spec"
    assert "site_id" not in spec
    await api.create_client_identity(HUB, site_id="  ")
    sent = fake_api.last.json
    assert re.fullmatch(r"thalovant-client-[0-9a-f]{8}", sent["spec"]["siteId"])
    assert sent["name"] == sent["spec"]["siteId"]


async def test_caller_spec_credentials_are_replaced(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("POST", "/v1/clients", _created(fake_api))
    spec = {"apiKey": "mine", "password": "mine", "access_key": "mine", "version": "2"}
    await api.create_client_identity(HUB, "n", spec=spec)
    sent = fake_api.last.json["spec"]
    assert sent["version"] == "2"
    assert "access_key" not in sent
    assert sent["apiKey"] != "mine"
    assert sent["password"] != "mine"


@pytest.mark.parametrize(
    ("hub", "master"),
    [
        (HUB, "https://home.hubs.thalovant.com"),
        (
            {
                "id": "h",
                "spec": {"protocols": {"http": True}},
                "data_plane_endpoints": {"https": "https://edge.example.com:8443/hub/path"},
            },
            "https://edge.example.com:8443",
        ),
        ({"id": "h", "domain": "bare.example.com"}, "https://bare.example.com"),
        (
            {"id": "h", "data_plane_endpoints": {"wss": "wss://only-wss.example.com/ws"}},
            "wss://only-wss.example.com/ws",
        ),
    ],
)
async def test_identity_without_initial_identify(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, hub: dict[str, Any], master: str
) -> None:
    fake_api.on("POST", "/v1/clients", _created(fake_api, identify=False))
    result = await api.create_client_identity(hub, "plain")
    api_key, password = _secrets_of(fake_api)
    identity = result.identity
    assert (identity.access_key, identity.password) == (api_key, password)
    assert identity.default_master == master
    assert identity.default_port == 443
    assert identity.site_id == "plain"
    _assert_no_secrets(result, (api_key, password))


async def test_identity_fills_gaps_of_a_partial_initial_identify(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    partial = {"initial_identify": {"apiKey": "server-issued-key-0001", "site": "srv"}}
    fake_api.on("POST", "/v1/clients", _created(fake_api, identify=False, **partial))
    result = await api.create_client_identity(HUB, "partial")
    _, password = _secrets_of(fake_api)
    identity = result.identity
    assert identity.access_key == "server-issued-key-0001"
    assert identity.password == password
    assert identity.site_id == "srv"
    assert identity.default_master == "https://home.hubs.thalovant.com"
    assert identity.default_port == 443


async def test_hub_without_any_address_and_no_identify_deletes_client(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("POST", "/v1/clients", _created(fake_api, identify=False))
    fake_api.on("DELETE", "/v1/clients/cl_1", Canned(204))
    with pytest.raises(ThalovantAPIError, match="no data-plane address") as caught:
        await api.create_client_identity({"id": "h"}, "nowhere")
    assert "was deleted" in str(caught.value)
    for secret in _secrets_of(fake_api):
        assert secret not in str(caught.value)


async def test_connection_type_is_sent_and_checked(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("POST", "/v1/clients", _created(fake_api))
    result = await api.create_client_identity(HUB, "HA", connection_type="home_assistant")
    assert fake_api.last.json["spec"]["connection_type"] == "home_assistant"
    assert fake_api.last.json["spec"]["version"] == "1"
    assert result.connection_type == "home_assistant"
    assert result.as_dict()["connection_type"] == "home_assistant"


async def test_connection_type_mismatch_deletes_the_client(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    def ignores_kind(request: web.Request) -> Canned:
        spec = dict(fake_api.last.json["spec"])
        spec.pop("connection_type")
        return Canned(201, {"id": "cl_9", "etag": "W/9", "spec": spec})

    fake_api.on("POST", "/v1/clients", ignores_kind)
    fake_api.on("DELETE", "/v1/clients/cl_9", Canned(204))
    with pytest.raises(ThalovantUnsupportedConnectionTypeError) as caught:
        await api.create_client_identity(HUB, "HA", connection_type="home_assistant")
    delete = fake_api.calls("DELETE")[0]
    assert delete.path == "/v1/clients/cl_9"
    assert delete.headers["if-match"] == "W/9"
    assert "was deleted" in str(caught.value)
    assert "home_assistant" in str(caught.value)
    for secret in _secrets_of(fake_api):
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value.problem)


async def test_connection_type_mismatch_reports_failed_delete(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on(
        "POST", "/v1/clients", Canned(201, {"id": "cl_9", "spec": {"connection_type": "x"}})
    )
    fake_api.on("DELETE", "/v1/clients/cl_9", Canned(500, {"detail": "boom"}))
    with pytest.raises(ThalovantUnsupportedConnectionTypeError, match="delete it by hand"):
        await api.create_client_identity(HUB, "HA", connection_type="home_assistant")


async def test_422_about_connection_type(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    def rejects(request: web.Request) -> Canned:
        spec = fake_api.last.json["spec"]
        detail = [
            {
                "loc": ["body", "spec", "connection_type"],
                "msg": "unsupported connection_type",
                "input": spec,
            },
            {"loc": ["body", "spec", "apiKey"], "msg": "x", "input": spec["apiKey"]},
        ]
        return Canned(422, {"detail": detail})

    fake_api.on("POST", "/v1/clients", rejects)
    with pytest.raises(ThalovantUnsupportedConnectionTypeError) as caught:
        await api.create_client_identity(HUB, "HA", connection_type="home_assistant")
    assert caught.value.status_code == 422
    for secret in _secrets_of(fake_api):
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value.problem)
        assert secret not in repr(caught.value.args)
    assert fake_api.calls("DELETE") == []


async def test_create_client_error_never_shows_secrets(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    def echo_error(request: web.Request) -> Canned:
        spec = fake_api.last.json["spec"]
        return Canned(400, {"detail": f"bad key {spec['apiKey']} / {spec['password']}"})

    fake_api.on("POST", "/v1/clients", echo_error)
    with pytest.raises(ThalovantAPIError) as caught:
        await api.create_client_identity(HUB, "x")
    for secret in _secrets_of(fake_api):
        assert secret not in str(caught.value)
        assert secret not in (caught.value.detail or "")


async def test_create_client_accepts_camel_case(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.reply("POST", "/v1/clients", {"id": "cl_2"}, status=201)
    payload = {"hubId": "hub_1", "ownerId": "u1", "name": "n", "spec": {"siteId": "s"}}
    assert await api.create_client(payload, idempotency_key="k-1") == {"id": "cl_2"}
    assert fake_api.last.json == {
        "hub_id": "hub_1",
        "owner_id": "u1",
        "name": "n",
        "spec": {"siteId": "s"},
    }
    assert fake_api.last.headers["idempotency-key"] == "k-1"
    await api.create_client({"hub_id": "hub_1"})
    assert uuid.UUID(fake_api.last.headers["idempotency-key"]).version == 4


async def test_delete_client_with_etag(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    fake_api.on("DELETE", "/v1/clients/cl_1", Canned(204))
    assert await api.delete_client("cl_1", etag='"e1"') is True
    assert fake_api.last.headers["if-match"] == '"e1"'
    await api.delete_client("cl_1")
    assert "if-match" not in fake_api.last.headers


async def test_delete_client_retries_once_on_412(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on(
        "DELETE",
        "/v1/clients/cl_1",
        Canned(412, {"detail": "Precondition failed"}),
        Canned(204),
    )
    fake_api.reply("GET", "/v1/clients/cl_1", {"id": "cl_1", "etag": "W/fresh"})
    assert await api.delete_client("cl_1", etag="W/stale") is True
    assert [(r.method, r.headers.get("if-match")) for r in fake_api.requests] == [
        ("DELETE", "W/stale"),
        ("GET", None),
        ("DELETE", "W/fresh"),
    ]


async def test_delete_client_gives_up_after_second_412(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("DELETE", "/v1/clients/cl_1", Canned(412, {"detail": "Precondition failed"}))
    fake_api.reply("GET", "/v1/clients/cl_1", {"data": {"id": "cl_1", "etag": "W/2"}})
    with pytest.raises(ThalovantAPIError) as caught:
        await api.delete_client("cl_1", etag="W/1")
    assert caught.value.status_code == 412
    assert len(fake_api.calls("DELETE")) == 2
    assert fake_api.calls("DELETE")[1].headers["if-match"] == "W/2"


async def test_delete_client_404_is_done(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("DELETE", "/v1/clients/gone", Canned(404, {"detail": "Not Found"}))
    assert await api.delete_client("gone", etag="W/1") is False
    fake_api.on("DELETE", "/v1/clients/cl_3", Canned(412, {}))
    fake_api.on("GET", "/v1/clients/cl_3", Canned(404, {}))
    assert await api.delete_client("cl_3", etag="W/1") is False


def test_redact_client_resource_keeps_refs_and_drops_secrets() -> None:
    client = {
        "id": "c",
        "spec": {
            "apiKey": "k" * 20,
            "api_key": "k" * 20,
            "password": "p" * 20,
            "crypto_key": "c" * 20,
            "apiKeyRef": "vault:a",
            "passwordRef": "vault:p",
            "siteId": "s",
        },
        "initial_identify": {"access_key": "k" * 20},
        "initialIdentifyToken": "t" * 20,
        "data": {"initial_identify_token": "t" * 20, "spec": {"cryptoKey": "c" * 20}},
        "meta": {"webhook_secret": "w" * 20},
    }
    safe = redact_client_resource(client)
    assert safe == {
        "id": "c",
        "spec": {"apiKeyRef": "vault:a", "passwordRef": "vault:p", "siteId": "s"},
        "data": {"spec": {}},
        "meta": {"webhook_secret": "<redacted>"},
    }
