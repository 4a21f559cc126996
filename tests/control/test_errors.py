"""HTTP status → typed exception mapping (docs/protocol.md §7 table, contract items 92-95)."""

from __future__ import annotations

import email.utils
from typing import Any

import pytest

from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.control.problems import api_error, retry_after
from thalovant.errors import (
    ThalovantAlreadyLinkedError,
    ThalovantAPIError,
    ThalovantAuthError,
    ThalovantPlanError,
    ThalovantUnsupportedConnectionTypeError,
)

from .conftest import TOKEN, Canned, FakeAPI

pytestmark = pytest.mark.anyio


async def _fail(
    api: AsyncThalovantControlPlane,
    fake: FakeAPI,
    status: int,
    body: Any,
    headers: dict[str, str] | None = None,
) -> ThalovantAPIError:
    fake.on("GET", "/v1/hubs", Canned(status, body, headers or {}))
    with pytest.raises(ThalovantAPIError) as caught:
        await api.list_hubs()
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value.problem)
    return caught.value


async def test_401_is_auth_error(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    err = await _fail(api, fake_api, 401, {"detail": "Invalid token", "code": "invalid_token"})
    assert type(err) is ThalovantAuthError
    assert str(err) == "Thalovant API request failed with HTTP 401: Invalid token (invalid_token)"
    assert (err.status_code, err.code, err.detail) == (401, "invalid_token", "Invalid token")
    assert err.problem == {"detail": "Invalid token", "code": "invalid_token"}


async def test_423_is_auth_error(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    err = await _fail(api, fake_api, 423, {"detail": "Account locked"})
    assert type(err) is ThalovantAuthError


async def test_403_insufficient_scopes_is_auth_error(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    err = await _fail(api, fake_api, 403, {"detail": "Insufficient scopes"})
    assert type(err) is ThalovantAuthError
    assert "Insufficient scopes" in str(err)


async def test_402_is_plan_error_with_documented_text(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    err = await _fail(api, fake_api, 402, {"detail": "Upgrade needed", "code": "payment_required"})
    assert type(err) is ThalovantPlanError
    assert "API access requires a paid plan" in str(err)
    assert str(err).startswith("Thalovant API request failed with HTTP 402: Upgrade needed")


async def test_402_text_not_repeated(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    err = await _fail(api, fake_api, 402, {"detail": "API access requires a paid plan"})
    assert str(err) == "Thalovant API request failed with HTTP 402: API access requires a paid plan"


async def test_403_plan_limit_is_plan_error(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    body = {"detail": {"code": "plan_limit", "detail": "Hub limit reached"}}
    err = await _fail(api, fake_api, 403, body)
    assert type(err) is ThalovantPlanError
    assert err.code == "plan_limit"
    assert err.detail == "Hub limit reached"
    assert "API access requires a paid plan" in str(err)


async def test_other_403_is_plain_api_error(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    err = await _fail(api, fake_api, 403, {"detail": "Forbidden"})
    assert type(err) is ThalovantAPIError


@pytest.mark.parametrize("key", ["client_id", "existing_client_id", "connection_id"])
async def test_409_already_linked(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, key: str
) -> None:
    body = {"code": "home_assistant_already_linked", "detail": "Already linked", key: "cl-7"}
    err = await _fail(api, fake_api, 409, body)
    assert isinstance(err, ThalovantAlreadyLinkedError)
    assert err.client_id == "cl-7"


async def test_409_already_linked_nested(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    body = {"detail": {"code": "home_assistant_already_linked", "existing_client_id": "cl-9"}}
    err = await _fail(api, fake_api, 409, body)
    assert isinstance(err, ThalovantAlreadyLinkedError)
    assert err.client_id == "cl-9"


async def test_other_409_keeps_code_in_message(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    body = {"detail": "Version already installed", "code": "skill_version_already_installed"}
    err = await _fail(api, fake_api, 409, body)
    assert type(err) is ThalovantAPIError
    assert str(err).endswith("(skill_version_already_installed)")


async def test_422_without_connection_type_request_is_plain(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    err = await _fail(api, fake_api, 422, {"detail": "connection_type is not supported"})
    assert type(err) is ThalovantAPIError


@pytest.mark.parametrize(
    ("problem", "headers", "expected"),
    [
        ({"code": "token_rate_limited", "retry_after_seconds": 17}, {}, 17.0),
        ({"detail": {"code": "token_quota_exceeded", "retry_after_seconds": 3600}}, {}, 3600.0),
        ({"code": "token_rate_limited"}, {"Retry-After": "42"}, 42.0),
        ({"code": "token_rate_limited"}, {"RateLimit-Reset": "9"}, 9.0),
        ({"retry_after_seconds": 5}, {"Retry-After": "42"}, 5.0),
        (None, {"Retry-After": "12"}, 12.0),
    ],
)
async def test_429_retry_after_sources(
    api: AsyncThalovantControlPlane,
    fake_api: FakeAPI,
    problem: dict[str, Any] | None,
    headers: dict[str, str],
    expected: float,
) -> None:
    err = await _fail(api, fake_api, 429, problem, headers)
    assert type(err) is ThalovantAPIError
    assert err.status_code == 429
    assert err.retry_after_seconds == expected


def test_retry_after_http_date_and_epoch() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after(None, {"Retry-After": date}, now=now) == pytest.approx(30, abs=1)
    assert retry_after(None, {"RateLimit-Reset": str(int(now + 60))}, now=now) == 60
    assert retry_after(None, {"Retry-After": "soon"}, now=now) is None
    assert retry_after({"retry_after_seconds": True}, {}, now=now) is None
    assert retry_after(None, {}, now=now) is None


async def test_5xx_is_api_error(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    err = await _fail(api, fake_api, 503, {"message": "Maintenance"})
    assert type(err) is ThalovantAPIError
    assert str(err) == "Thalovant API request failed with HTTP 503: Maintenance"


async def test_message_is_bounded_and_collapsed(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    body = {"detail": "word \n\t " * 200, "extra": "x" * 5000}
    err = await _fail(api, fake_api, 400, body)
    text = str(err).split(": ", 1)[1]
    assert len(text) <= 200
    assert "\n" not in str(err)
    assert "xxxx" not in str(err)


async def test_message_falls_back_to_message_then_error(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    err = await _fail(api, fake_api, 400, {"error": "invalid_request"})
    assert str(err) == "Thalovant API request failed with HTTP 400: invalid_request"
    err = await _fail(api, fake_api, 400, {"detail": [{"loc": ["body"], "msg": "bad"}]})
    assert str(err) == "Thalovant API request failed with HTTP 400"


async def test_echoed_token_is_scrubbed(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    body = {"detail": f"token {TOKEN} is revoked", "token_echo": TOKEN, "note": TOKEN}
    err = await _fail(api, fake_api, 401, body)
    assert TOKEN not in (err.detail or "")
    assert TOKEN not in repr(err.problem)


async def test_message_scrubs_url_queries(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    body = {"detail": "see wss://hub.example/hivemind?authorization=c2VjcmV0"}
    err = await _fail(api, fake_api, 400, body)
    assert "c2VjcmV0" not in str(err)


def test_422_mentioning_connection_type_when_requested() -> None:
    problem = {"detail": [{"loc": ["body", "spec", "connection_type"], "msg": "bad value"}]}
    err = api_error(422, problem, {}, connection_type="home_assistant")
    assert isinstance(err, ThalovantUnsupportedConnectionTypeError)
    assert "home_assistant" in str(err)
    err = api_error(422, {"detail": "name too long"}, {}, connection_type="home_assistant")
    assert type(err) is ThalovantAPIError


def test_redirect_error_names_no_location() -> None:
    err = api_error(307, None, {"Location": "https://evil.example/?token=abc"})
    assert err.status_code == 307
    assert "evil" not in str(err)
