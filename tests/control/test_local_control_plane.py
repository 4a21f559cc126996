"""The SDK's control-plane client against the local control plane over real HTTPS.

The local hub (demo skills, trustme TLS) and its ``/v1`` API run on the test's event loop;
the async client talks to them over loopback sockets. Blocking clients run in worker threads
(calling them on the hub's own loop would stall the hub).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import anyio
import anyio.to_thread
import pytest

from thalovant.client.client import AsyncThalovantClient
from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.errors import (
    ThalovantAPIError,
    ThalovantAuthError,
    ThalovantUnsupportedConnectionTypeError,
)
from thalovant.hub import LocalHub
from thalovant.hub.control import api as control_api
from thalovant.hub.control import signin as control_signin
from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control.resources import hub_id_for
from thalovant.hub.control.tokens import TokenStore
from thalovant.hub.control.totp import new_totp_secret, totp_code
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.hub.responder.demo import DEMO_JOKES
from thalovant.identity.model import ThalovantIdentity
from thalovant.link import link
from thalovant.sync.client import ThalovantClient
from thalovant.sync.control import ThalovantControlPlane
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio

EMAIL, PASSWORD = "ada@example.test", "correct horse battery staple"
JOKE = "Tell me a short clean joke."
T = TypeVar("T")


@pytest.fixture(autouse=True)
def short_refusal_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(link, "REFUSAL_SETTLE_SECONDS", 0.15)


@pytest.fixture(scope="module")
def account() -> LocalAccount:
    return LocalAccount.create(EMAIL, PASSWORD)


class WallClock:
    """A settable wall clock for token expiry."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
async def control(
    local_hub: LocalHub, account: LocalAccount, hub_tls: HubTLS, wall: WallClock
) -> AsyncIterator[LocalControlPlane]:
    tokens = TokenStore(ttl=3600, clock=wall)
    async with LocalControlPlane(
        local_hub, account, ssl_context=hub_tls.server_context, tokens=tokens
    ) as running:
        yield running


@pytest.fixture
async def api(
    control: LocalControlPlane, hub_tls: HubTLS
) -> AsyncIterator[AsyncThalovantControlPlane]:
    async with AsyncThalovantControlPlane(
        control.api_url, ssl_context=hub_tls.client_context
    ) as client:
        yield client


async def signed_in(api: AsyncThalovantControlPlane, **kw: Any) -> AsyncThalovantControlPlane:
    await api.login(EMAIL, PASSWORD, **kw)
    return api


async def in_thread(fn: Callable[[], T], timeout: float = 60) -> T:  # noqa: ASYNC109
    with anyio.fail_after(timeout):
        return await anyio.to_thread.run_sync(fn)


# ------------------------------------------------------------------------ the quickstart


async def test_quickstart_async(
    api: AsyncThalovantControlPlane, local_hub: LocalHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    page = await api.list_public_hubs(limit=12)
    assert [h["title"] for h in page["data"]] == ["Thalovant local hub"]
    hub = page["data"][0]
    assert hub["data_plane_endpoints"]["wss"] == local_hub.wss_url
    assert hub["spec"]["protocols"]["wss"] == {"enabled": True}
    assert (await api.get_public_hub(hub["slug"]))["id"] == hub["id"]

    token = await api.login(EMAIL, PASSWORD)
    assert token["access_token"].startswith("tvpat_")
    assert api.token_id == token["token_id"]
    profile = await api.get_profile()
    assert profile["email"] == EMAIL
    assert [h["id"] for h in (await api.list_hubs())["data"]] == [hub["id"]]

    result = await api.create_client_identity(hub["id"], name="kitchen kiosk")
    identity = result.identity
    # The hub registered exactly the secrets the SDK minted and sent once.
    record = local_hub.client(identity.access_key)
    assert record is not None
    assert record.password == identity.password
    assert {identity.access_key, identity.password} <= set(result._secrets)
    assert identity.site_id == "kitchen-kiosk"
    # Every carrier the hub runs, with per-client broker credentials for MQTT.
    assert set(identity.enabled_protocols()) == {"wss", "https", "mqtt"}
    assert identity.mqtt is not None
    assert identity.mqtt.username == record.mqtt_username
    assert identity.endpoint_for("wss") == local_hub.wss_url
    admitted = await api.wait_for_admission(connection=result, timeout=5, poll_interval=0.1)
    assert admitted is not None
    assert admitted.is_ready
    safe = repr(result.as_dict())
    assert identity.password not in safe
    assert identity.access_key not in safe

    async with AsyncThalovantClient(
        identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "noise"
    ) as client:
        reply = await client.ask(JOKE)
    assert reply.text in DEMO_JOKES


async def test_quickstart_sync(
    control: LocalControlPlane, local_hub: LocalHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    def flow() -> tuple[str, str]:
        with ThalovantControlPlane(control.api_url, ssl_context=hub_tls.client_context) as cp:
            hub = cp.list_public_hubs()["data"][0]
            cp.login(EMAIL, PASSWORD)
            result = cp.create_client_identity(hub["id"], name="sync kiosk")
            cp.wait_for_admission(result, timeout=5)
            listed = [c["id"] for c in cp.iter_clients(limit=1)]
            assert result.client_id in listed
        with ThalovantClient(
            result.identity,
            ssl_context=hub_tls.client_context,
            noise_state_dir=tmp_path / "noise",
        ) as client:
            return client.ask(JOKE).text, result.identity.access_key

    text, access_key = await in_thread(flow)
    assert text in DEMO_JOKES
    assert local_hub.client(access_key) is not None


async def test_hub_resource_matches_issued_identities(local_hub: LocalHub) -> None:
    identity = local_hub.register_client("probe")
    plane = local_hub.data_plane()
    expected = ThalovantIdentity.from_mapping({**identity.as_dict(include_secrets=True), **plane})
    assert expected.data_plane_endpoints == identity.data_plane_endpoints
    assert expected.protocols == identity.protocols


# ------------------------------------------------------------------------------ sign-in


async def test_wrong_password(api: AsyncThalovantControlPlane) -> None:
    with pytest.raises(ThalovantAuthError) as caught:
        await api.login(EMAIL, "not the password")
    err = caught.value
    assert (err.status_code, err.code) == (401, "invalid_credentials")
    assert "not the password" not in str(err)
    assert api.access_token is None
    with pytest.raises(ThalovantAuthError):
        await api.login("someone@else.test", PASSWORD)


async def test_missing_token_is_refused(control: LocalControlPlane, hub_tls: HubTLS) -> None:
    async with AsyncThalovantControlPlane(
        control.api_url, ssl_context=hub_tls.client_context
    ) as anon:
        with pytest.raises(ThalovantAuthError, match="Missing Thalovant API access token"):
            await anon.list_hubs()
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{control.api_url}/v1/hubs", ssl=hub_tls.client_context) as response,
    ):
        assert response.status == 401
        assert response.content_type == "application/problem+json"
        body = await response.json(content_type=None)
    assert body["code"] == "not_authenticated"
    assert set(body) == {"type", "title", "status", "detail", "code"}


async def test_totp_and_recovery_codes(
    local_hub: LocalHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    secret = new_totp_secret()
    account = LocalAccount.create(EMAIL, PASSWORD, totp_secret=secret, recovery_codes=["rc-1"])
    async with (
        LocalControlPlane(local_hub, account, ssl_context=hub_tls.server_context) as control,
        AsyncThalovantControlPlane(control.api_url, ssl_context=hub_tls.client_context) as api,
    ):
        with pytest.raises(ThalovantAuthError) as caught:
            await api.login(EMAIL, PASSWORD)
        assert caught.value.code == "mfa_required"
        wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"
        with pytest.raises(ThalovantAuthError) as caught:
            await api.login(EMAIL, PASSWORD, otp_code=wrong)
        assert caught.value.code == "invalid_otp"
        await api.login(EMAIL, PASSWORD, otp_code=totp_code(secret))
        assert (await api.get_profile())["email"] == EMAIL
        await api.login(EMAIL, PASSWORD, recovery_code="rc-1")
        with pytest.raises(ThalovantAuthError):
            await api.login(EMAIL, PASSWORD, recovery_code="rc-1")  # single use


async def test_token_revoke_and_expiry(
    api: AsyncThalovantControlPlane, control: LocalControlPlane, hub_tls: HubTLS, wall: WallClock
) -> None:
    await signed_in(api)
    old_token, old_id = api.access_token, api.token_id
    assert old_token is not None
    assert old_id is not None
    async with AsyncThalovantControlPlane(
        control.api_url, access_token=old_token, ssl_context=hub_tls.client_context
    ) as other:
        await other.get_profile()
        await api.revoke_api_token(old_id)
        assert api.access_token is None
        with pytest.raises(ThalovantAuthError) as caught:
            await other.get_profile()
        assert caught.value.code == "invalid_token"
    await signed_in(api)
    wall.now += 3601
    with pytest.raises(ThalovantAuthError) as caught:
        await api.list_hubs()
    assert caught.value.code == "token_expired"
    assert len(control.tokens) == 0  # the expired token is gone from the store


async def test_scopes_are_enforced(api: AsyncThalovantControlPlane) -> None:
    await signed_in(api, scope="hubs:read")
    hub = (await api.list_hubs())["data"][0]
    with pytest.raises(ThalovantAuthError) as caught:
        await api.create_client_identity(hub, name="nope")
    assert caught.value.status_code == 403
    assert caught.value.detail == "Insufficient scopes"
    with pytest.raises(ThalovantAPIError) as bad:
        await api.login(EMAIL, PASSWORD, scope="hubs:admin")
    assert bad.value.code == "invalid_scope"


async def test_failed_sign_ins_lock_with_retry_after(
    api: AsyncThalovantControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(control_signin, "LOCKOUT_AFTER", 2)
    for _ in range(2):
        with pytest.raises(ThalovantAuthError):
            await api.login(EMAIL, "wrong")
    with pytest.raises(ThalovantAPIError) as caught:
        await api.login(EMAIL, PASSWORD)  # even the right password waits
    err = caught.value
    assert (err.status_code, err.code) == (429, "too_many_attempts")
    assert err.retry_after_seconds is not None
    assert 0 < err.retry_after_seconds <= control_api.LOCKOUT_SECONDS


# ------------------------------------------------------------------------------ clients


async def test_delete_with_if_match(api: AsyncThalovantControlPlane, local_hub: LocalHub) -> None:
    await signed_in(api)
    result = await api.create_client_identity(hub_id_for(local_hub), name="doomed")
    assert result.client_id is not None
    etag = (await api.get_client(result.client_id))["etag"]
    # The record changes (e.g. its key is pinned): the etag the caller holds is stale.
    local_hub.registry.update(result.identity.access_key, name="renamed")
    fresh = (await api.get_client(result.client_id))["etag"]
    assert fresh != etag
    assert await api.delete_client(result.client_id, etag=etag) is True  # 412, re-read, retry
    assert local_hub.client(result.identity.access_key) is None
    assert await api.delete_client(result.client_id, etag=fresh) is False  # already gone
    with pytest.raises(ThalovantAPIError) as caught:
        await api.get_client(result.client_id)
    assert (caught.value.status_code, caught.value.code) == (404, "client_not_found")


async def test_pagination(api: AsyncThalovantControlPlane, local_hub: LocalHub) -> None:
    await signed_in(api)
    for n in range(5):
        local_hub.register_client(f"kiosk-{n}")
    first = await api.list_clients(limit=2)
    assert len(first["data"]) == 2
    assert first["meta"]["next"]
    assert "spec" in first["data"][0]  # include_spec defaults to True, as officially
    lean = await api.list_clients(limit=2, include_spec=False)
    assert "spec" not in lean["data"][0]
    names = [c["name"] async for c in api.iter_clients(limit=2, include_spec=False)]
    assert names == [f"kiosk-{n}" for n in range(5)]
    assert [h["slug"] async for h in api.iter_public_hubs(limit=1)] == ["local-hub"]
    elsewhere = await api.list_clients(hub_id="hub_somewhere_else")
    assert elsewhere["data"] == []
    for bad in ({"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}):
        with pytest.raises(ThalovantAPIError) as caught:
            await api.list_clients(**bad)
        assert caught.value.status_code == 422


async def test_idempotent_create(api: AsyncThalovantControlPlane, local_hub: LocalHub) -> None:
    await signed_in(api)
    payload = {
        "hub_id": hub_id_for(local_hub),
        "name": "once",
        "spec": {"apiKey": "k" * 32, "password": "p" * 32, "siteId": "once"},
    }
    first = await api.create_client(payload, idempotency_key="key-1")
    again = await api.create_client(payload, idempotency_key="key-1")
    assert again["id"] == first["id"]
    assert len(local_hub.registry) == 1
    with pytest.raises(ThalovantAPIError) as caught:
        await api.create_client({**payload, "name": "twice"}, idempotency_key="key-1")
    assert caught.value.code == "idempotency_key_reused"
    with pytest.raises(ThalovantAPIError) as clash:
        await api.create_client(payload, idempotency_key="key-2")
    assert (clash.value.status_code, clash.value.code) == (409, "client_exists")
    assert "k" * 32 not in str(clash.value)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"hub_id": "hub_unknown", "name": "x"}, "hub_not_found"),
        ({"name": "x", "spec": []}, "invalid_spec"),
        ({"name": "x", "spec": {"apiKey": "short"}}, "invalid_spec"),
        ({"name": "x", "spec": {"apiKey": "has space in it, sixteen+"}}, "invalid_spec"),
        ({"name": "x", "active": False}, "invalid_body"),
        ({"spec": {}}, "invalid_body"),
    ],
)
async def test_bad_create_requests(
    api: AsyncThalovantControlPlane, local_hub: LocalHub, payload: dict[str, Any], code: str
) -> None:
    await signed_in(api)
    payload.setdefault("hub_id", hub_id_for(local_hub))
    with pytest.raises(ThalovantAPIError) as caught:
        await api.create_client(payload)
    assert caught.value.code == code
    assert len(local_hub.registry) == 0


async def test_unsupported_connection_type(
    api: AsyncThalovantControlPlane, local_hub: LocalHub
) -> None:
    await signed_in(api)
    with pytest.raises(ThalovantUnsupportedConnectionTypeError):
        await api.create_client_identity(
            hub_id_for(local_hub), name="ha", connection_type="home_assistant"
        )
    assert len(local_hub.registry) == 0


async def test_operations(api: AsyncThalovantControlPlane, local_hub: LocalHub) -> None:
    await signed_in(api)
    result = await api.create_client_identity(hub_id_for(local_hub), name="ops")
    assert result.operation is not None
    assert result.operation.id is not None
    op = await api.get_operation(result.operation.id)
    assert (op.status, op.aggregate_id) == ("ready", result.client_id)
    done = await api.wait_for_operation(op.id or "", timeout=5)
    assert done.is_ready
    with pytest.raises(ThalovantAPIError) as caught:
        await api.get_operation("op_missing")
    assert caught.value.status_code == 404


async def test_problem_bodies_for_unknown_paths_and_bad_json(
    control: LocalControlPlane, hub_tls: HubTLS
) -> None:
    async with aiohttp.ClientSession() as session:
        for path in ("/v1/nowhere", "/elsewhere"):
            async with session.get(control.api_url + path, ssl=hub_tls.client_context) as response:
                assert response.status == 404
                assert (await response.json(content_type=None))["code"] == "not_found"
        async with session.post(
            control.api_url + "/v1/auth/token", data=b"{nope", ssl=hub_tls.client_context
        ) as response:
            assert response.status == 400
            assert (await response.json(content_type=None))["code"] == "invalid_json"
        async with session.post(
            control.api_url + "/v1/auth/token",
            data=b"x" * (control_api.MAX_BODY + 1),
            ssl=hub_tls.client_context,
        ) as response:
            assert response.status == 413


async def test_sync_facade_closes_its_thread(control: LocalControlPlane, hub_tls: HubTLS) -> None:
    def flow() -> bool:
        cp = ThalovantControlPlane(control.api_url, ssl_context=hub_tls.client_context)
        cp.list_public_hubs()
        thread = cp._loop.thread
        assert thread is not None
        assert thread.name == "thalovant-control-plane"
        cp.close()
        return thread.is_alive()

    assert await in_thread(functools.partial(flow)) is False
