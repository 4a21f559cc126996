"""The official SDK's helpers and value types that need no hub: PKCE sign-in, positional
constructors, the error constructors, the context builders and the constants."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

import thalovant
from thalovant import (
    DEFAULT_NATIVE_SCOPES,
    DeviceAuthorization,
    DeviceLoginRequest,
    MqttBrokerCredentials,
    NativeSignIn,
    OperationResource,
    ThalovantAPIError,
    ThalovantAuthError,
    ThalovantConnectionInfo,
    ThalovantHealth,
    ThalovantIdentity,
    ThalovantReply,
    ThalovantRuntimeError,
    ThalovantSubscription,
    ThalovantUnansweredError,
    begin_native_sign_in,
    build_client_context,
    challenge_for,
    is_thalovant_url,
    new_verifier,
)


def test_pkce_verifier_and_challenge() -> None:
    verifier = new_verifier()
    assert 43 <= len(verifier) <= 128
    assert verifier != new_verifier()
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge_for(verifier) == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    # RFC 7636 appendix B
    assert (
        challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    for bad in ("short", "x" * 129, "white space" * 5):
        with pytest.raises(ThalovantRuntimeError):
            challenge_for(bad)


def test_begin_native_sign_in_and_code_from() -> None:
    sign_in = begin_native_sign_in(client_id="my-app", redirect_uri="myapp://signed-in")
    assert isinstance(sign_in, NativeSignIn)
    parts = urlsplit(sign_in.authorization_url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "dash.thalovant.com", "/authorize")
    assert query == {
        "client_id": "my-app",
        "redirect_uri": "myapp://signed-in",
        "response_type": "code",
        "code_challenge": challenge_for(sign_in.verifier),
        "code_challenge_method": "S256",
        "scope": " ".join(DEFAULT_NATIVE_SCOPES),
        "state": sign_in.state,
    }
    assert sign_in.verifier not in repr(sign_in)
    assert sign_in.code_from(f"myapp://signed-in?code=abc&state={sign_in.state}") == "abc"
    assert sign_in.code_from("https://elsewhere.example/?code=abc") is None
    assert sign_in.code_from(f"myapp://signed-in?state={sign_in.state}") is None
    with pytest.raises(ThalovantAuthError):
        sign_in.code_from("myapp://signed-in?code=abc&state=forged")
    with pytest.raises(ThalovantAuthError):
        sign_in.code_from(f"myapp://signed-in?error=access_denied&state={sign_in.state}")
    custom = begin_native_sign_in(
        client_id="a", redirect_uri="http://127.0.0.1:5000/cb", scopes=["hubs:read"]
    )
    assert "scope=hubs%3Aread" in custom.authorization_url
    with pytest.raises(ThalovantRuntimeError):
        begin_native_sign_in(client_id="a", redirect_uri="x", dashboard_url="http://dash.example")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://dash.thalovant.com/authorize", True),
        ("https://thalovant.com", True),
        ("http://dash.thalovant.com", False),
        ("https://thalovant.com.evil.example", False),
        ("https://evilthalovant.com", False),
        ("https://user@dash.thalovant.com", False),
        ("not a url", False),
    ],
)
def test_is_thalovant_url(url: str, ok: bool) -> None:
    assert is_thalovant_url(url) is ok


def test_positional_constructors() -> None:
    identity = ThalovantIdentity("ak-1", "pw-1", "wss://hub.example", "site-1", 443)
    assert (identity.site_id, identity.default_port) == ("site-1", 443)
    creds = MqttBrokerCredentials("mqtts://broker.example", "user", "pass", "hubs/h/c")
    assert creds.tls is True
    assert creds.topics().inbound == "hubs/h/c/in"
    info = ThalovantConnectionInfo("ready", "2026-01-01T00:00:00+00:00", None, 1.0, 1.0)
    assert info.socket_open_ms == 1.0
    assert ThalovantHealth(True, True, True).ok
    reply = ThalovantReply("hi", ("hi",), True, "s", "r")
    assert reply.ok
    assert reply.request_id == "r"
    assert not ThalovantReply("x").handled
    grant = DeviceAuthorization(
        "dev", "USER-CODE", "https://dash.thalovant.com/device", None, 5, 600
    )
    assert DeviceAuthorization.from_dict(grant.as_dict()).user_code == "USER-CODE"
    op = OperationResource.from_dict({"id": "op_1", "status": "ready"})
    assert (op.id, op.status) == ("op_1", "ready")


def test_device_login_request() -> None:
    request = DeviceLoginRequest.from_dict(
        {
            "data": {
                "scopes": ["hubs:read"],
                "client_name": "Home Assistant",
                "expires_at": "2030-01-01T00:00:00Z",
                "client_id": thalovant.HOME_ASSISTANT_CLIENT_ID,
                "client_verified": True,
            }
        }
    )
    assert request.scopes == ("hubs:read",)
    assert request.client_verified
    assert request.expires_at == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert DeviceLoginRequest.from_dict({"expires_at": "soon"}).expires_at is None


def test_api_token() -> None:
    token = thalovant.ApiToken.from_dict(
        {"access_token": "tvpat_x_0123456789", "expires_at": "2030-01-01T00:00:00Z"}
    )
    assert token.expires_at == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert token["expires_at"] == "2030-01-01T00:00:00Z"  # the dict view is the API's answer
    positional = thalovant.ApiToken("tvpat_y_0123456789", "bearer", ("hubs:read",), None, "t1")
    assert positional.token_id == "t1"
    assert "tvpat_y" not in repr(positional)


def test_error_constructors_take_positional_arguments() -> None:
    error = ThalovantAPIError("failed", "more", status_code=500)
    assert error.args[:2] == ("failed", "more")
    assert error.status_code == 500
    unanswered = ThalovantUnansweredError("recalibrate the flux capacitor")
    assert unanswered.said == "recalibrate the flux capacitor"
    assert "recalibrate" in str(unanswered)


def test_build_client_context_positional_base_and_no_token() -> None:
    out = build_client_context({"channel": "kiosk"}, user_id="u-1")
    assert out == {"channel": "kiosk", "user_id": "u-1"}
    with pytest.raises(ThalovantRuntimeError, match="auth_token"):
        build_client_context(auth_token="tvpat_secret_value_1234567890")


def test_subscription_protocol_and_hive_constants() -> None:
    assert thalovant.HIVE_KINDS == ("broadcast", "propagate", "escalate", "intercom", "rendezvous")
    assert thalovant.THALOVANT_CLAIMED_META_KEY == "thalovant_claimed"

    class Closable:
        def close(self) -> None: ...
        def unsubscribe(self) -> None: ...
        def __call__(self) -> None: ...
        def __enter__(self) -> Closable:
            return self

        def __exit__(self, *exc: object) -> None: ...

    assert isinstance(Closable(), ThalovantSubscription)
    assert not isinstance(object(), ThalovantSubscription)
