"""Regression tests of the control-plane breaks of issue #16, through the public API against
the local control plane over real HTTPS (the browser sign-in, which the local control plane
does not offer, against a canned API on a real loopback socket)."""

from __future__ import annotations

import webbrowser
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.control.conftest import Canned, FakeAPI, FakeTime, start_server
from thalovant import (
    ApiToken,
    AsyncThalovantClient,
    AsyncThalovantControlPlane,
    BootstrapIdentityResult,
    HubDataPlaneEndpoints,
    HubProtocolSettings,
    SelectedHubEndpoint,
    ThalovantAPIError,
    ThalovantAuthError,
    ThalovantControlPlane,
    ThalovantRuntimeError,
    hub_display_name,
    hub_hostname,
    select_data_plane_endpoint,
)
from thalovant.hub import LocalHub
from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.hub.responder.demo import DEMO_JOKES
from thalovant.link import link
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio
EMAIL, PASSWORD = "grace@example.test", "a long and proper passphrase"


@pytest.fixture(autouse=True)
def short_refusal_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(link, "REFUSAL_SETTLE_SECONDS", 0.15)


@pytest.fixture
async def api(local_hub: LocalHub, hub_tls: HubTLS) -> AsyncIterator[AsyncThalovantControlPlane]:
    account = LocalAccount.create(EMAIL, PASSWORD)
    async with (
        LocalControlPlane(local_hub, account, ssl_context=hub_tls.server_context) as control,
        AsyncThalovantControlPlane(control.api_url, ssl_context=hub_tls.client_context) as client,
    ):
        yield client


async def test_revoke_api_token_without_argument(api: AsyncThalovantControlPlane) -> None:
    with pytest.raises(ThalovantAPIError):
        await api.revoke_api_token()  # nothing signed in: a typed error, not a TypeError
    await api.login(EMAIL, PASSWORD)
    assert api.token_id is not None
    await api.revoke_api_token()  # the official call: revoke the current token
    assert api.access_token is None
    assert api.token_id is None
    with pytest.raises(ThalovantAuthError):
        await api.get_profile()


async def test_endpoint_shapes_from_a_hub_resource(
    api: AsyncThalovantControlPlane, local_hub: LocalHub
) -> None:
    hub = (await api.list_public_hubs())["data"][0]
    endpoints = HubDataPlaneEndpoints.from_hub(hub)
    protocols = HubProtocolSettings.from_mapping(hub["spec"]["protocols"])
    assert endpoints.endpoint_for("wss") == local_hub.wss_url
    assert endpoints.endpoint_for("http") == endpoints.https
    assert protocols.https is protocols.http is True
    chosen = select_data_plane_endpoint(endpoints, protocols, preferred_protocols=("https",))
    assert isinstance(chosen, SelectedHubEndpoint)
    assert (chosen.protocol, chosen.endpoint) == ("https", endpoints.https)
    protocol, _url = chosen  # still unpacks like the tuple it used to be
    assert protocol == "https"
    assert endpoints.http_base("wss://ignored", 443, "/x") == endpoints.https
    assert HubDataPlaneEndpoints().http_base("wss://hub.example", 8443, "/hm") == (
        "https://hub.example:8443/hm"
    )
    assert HubDataPlaneEndpoints("https://u:p@h.example").as_dict(redact_credentials=False) == {
        "https": "https://u:p@h.example"
    }
    assert hub_display_name(hub) == "Thalovant local hub"
    assert hub_hostname(local_hub.wss_url) == "127.0.0.1"
    assert hub_hostname("Hub.Example:5679") == "hub.example"


async def test_bootstrap_identity_result_official_fields(
    api: AsyncThalovantControlPlane, hub_tls: HubTLS, tmp_path: Path
) -> None:
    await api.login(EMAIL, PASSWORD)
    hub = (await api.list_hubs())["data"][0]
    result = await api.create_client_identity(hub["id"], name="compat kiosk")
    assert isinstance(result, BootstrapIdentityResult)
    assert result.hub["id"] == hub["id"]
    assert isinstance(result.endpoint, SelectedHubEndpoint)
    assert result.selected_protocol == result.endpoint.protocol == "wss"
    assert result.endpoint.endpoint == result.identity.endpoint_for("wss")
    assert result.as_dict()["selected_protocol"] == "wss"
    assert result.identity.password not in repr(result.as_dict())
    rebuilt = BootstrapIdentityResult(result.identity, result.hub, result.client, result.endpoint)
    assert rebuilt.selected_protocol == "wss"
    await api.wait_for_admission(result, timeout=10)
    async with AsyncThalovantClient(
        result.identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "n"
    ) as client:
        assert (await client.ask("tell me a joke")).text in DEMO_JOKES


async def test_login_with_browser_prompt_and_return(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webbrowser, "open", lambda *a, **k: True)
    fake, clock = FakeAPI(), FakeTime()
    authorize = {
        "device_code": "dev_secret_code_0123456789",
        "user_code": "WXYZ-1234",
        "verification_uri": "https://dash.thalovant.com/device",
        "verification_uri_complete": "https://dash.thalovant.com/device?user_code=WXYZ-1234",
        "interval": 1,
        "expires_in": 600,
    }
    granted = {
        "access_token": "tvpat_browser_token_abcdefghijkl",
        "token_type": "bearer",
        "scopes": ["hubs:read"],
        "token_id": "tok_9",
    }
    fake.reply("POST", "/v1/auth/device/authorize", authorize)
    fake.on("POST", "/v1/auth/device/token", Canned(200, granted))
    server = await start_server(fake)
    shown: list[dict[str, Any]] = []
    try:
        async with AsyncThalovantControlPlane(
            fake.url, sleep=clock.sleep, clock=clock.clock
        ) as anon:
            with anyio.fail_after(10):
                token = await anon.login_with_browser(
                    scopes=["hubs:read"], prompt=shown.append, client_id="my-app"
                )
    finally:
        await server.close()
    assert shown[0]["user_code"] == "WXYZ-1234"
    assert shown[0]["verification_uri"] == "https://dash.thalovant.com/device"
    assert "device_code" not in shown[0]
    assert "WXYZ-1234" in str(shown[0])
    assert token["access_token"] == granted["access_token"]  # the official dict access
    assert token.get("token_id") == "tok_9"
    assert dict(token)["scopes"] == ["hubs:read"]
    assert isinstance(token, ApiToken)
    assert token.token_id == "tok_9"
    assert fake.calls("POST", "/v1/auth/device/authorize")[0].json["client_id"] == "my-app"


def test_sync_control_plane_session_and_properties() -> None:
    with ThalovantControlPlane("https://api.example.test", timeout=7.5, user_agent="ua/1") as cp:
        assert (cp.timeout, cp.user_agent, cp.session) == (7.5, "ua/1", None)
    with pytest.raises(ThalovantRuntimeError):
        ThalovantControlPlane(session=object())
